"""The publisher: validation before sending, SNS attributes and FIFO ids, PutEvents batching with retries."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from eventform.catalog.loader import load
from eventform.runtime.publisher import PartialPublishError, Publisher, PublishError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def catalog():
    return load(ROOT)[0]


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


def test_publishes_with_the_attributes_filters_use_and_finds_the_topic_in_ssm(aws, catalog) -> None:
    sns, sqs, ssm = (boto3.client(s, region_name="us-east-1") for s in ("sns", "sqs", "ssm"))
    topic = sns.create_topic(Name="dev-orders-events")["TopicArn"]
    ssm.put_parameter(Name="/eventform/dev/orders/topic_arn", Value=topic, Type="String")
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    publisher = Publisher(catalog, "dev", sns=sns, ssm=ssm)
    example = catalog.event("orders/order.created").latest.examples[0]
    sent = publisher.publish("orders/order.created", example, correlation_id="c-1")
    message = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    envelope = json.loads(message["Body"])
    assert envelope["id"] == sent.event_id and envelope["correlationid"] == "c-1"
    assert envelope["type"] == "order.created" and envelope["source"] == "com.example.orders"
    assert envelope["dataversion"] == 1 and envelope["data"] == example and envelope["specversion"] == "1.0"
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "type": "order.created",
        "version": "1",
        "source": "com.example.orders",
        "country": "DE",
        "channel": "web",
    }


def test_fifo_events_carry_the_group_and_deduplication_ids(catalog) -> None:
    publisher = Publisher(catalog, "dev")
    event, envelope = publisher.envelope(
        "payments/payment.captured", catalog.event("payments/payment.captured").latest.examples[0], event_id="e-7"
    )
    message = publisher.sns_message(event, envelope)
    assert message["MessageGroupId"] == "ord_1001" and message["MessageDeduplicationId"] == "e-7"


@pytest.mark.parametrize(
    ("event", "payload", "version", "error"),
    [
        ("orders/order.shipped", {}, None, "unknown event 'orders/order.shipped'"),
        ("orders/order.created", {}, 2, "has no version 2"),
        ("users/user.registered", {"user_id": "cus_1"}, None, "payload is invalid at (root): must contain"),
        (
            "users/user.registered",
            {"user_id": "cus_1", "email": "a@b.co", "country": "de", "marketing_opt_in": True},
            None,
            "at country",
        ),
    ],
)
def test_bad_events_raise_before_anything_is_sent(catalog, event, payload, version, error) -> None:
    class Refuses:
        def publish(self, **kwargs):
            raise AssertionError("nothing may be sent")

    with pytest.raises(PublishError) as raised:
        Publisher(catalog, "dev", sns=Refuses(), topic_arns={"orders": "t", "users": "t"}).publish(
            event, payload, version=version
        )
    assert error in str(raised.value)


def test_oversize_messages_are_refused(catalog) -> None:
    publisher = Publisher(catalog, "dev", topic_arns={"users": "t"})
    huge = {"user_id": "cus_1", "email": "a@b.co", "country": "DE", "marketing_opt_in": True, "name": "x" * 300_000}
    event, envelope = publisher.envelope("users/user.registered", huge)
    with pytest.raises(PublishError, match="SNS accepts at most 262144"):
        publisher.sns_message(event, envelope)


class FlakyEvents:
    """PutEvents that throttles chosen entries a number of times, recording every request."""

    def __init__(self, failures: dict[int, int]) -> None:
        self.failures, self.requests, self.seen = failures, [], 0

    def put_events(self, Entries):
        self.requests.append(len(Entries))
        results = []
        for entry in Entries:
            key = int(json.loads(entry["Detail"])["id"].split("-")[1])
            if self.failures.get(key, 0) > 0:
                self.failures[key] -= 1
                results.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
            else:
                results.append({"EventId": f"eb-{key}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def user(index: int) -> tuple[str, dict]:
    return (
        "users/user.registered",
        {"user_id": f"cus_{index}", "email": "a@b.co", "country": "DE", "marketing_opt_in": True},
    )


def test_put_events_batches_by_ten_and_retries_only_failed_entries(catalog, monkeypatch) -> None:
    ids = iter(range(1000))
    monkeypatch.setattr("eventform.runtime.publisher.uuid.uuid4", lambda: f"e-{next(ids)}")
    events = FlakyEvents({3: 2, 12: 1})
    sleeps: list[float] = []
    publisher = Publisher(catalog, "dev", events=events, bus_names={"users": "bus"}, sleep=sleeps.append)
    published = publisher.put_events([user(i) for i in range(15)])
    assert len(published) == 15 and {p.event_id for p in published} == {f"e-{i}" for i in range(15)}
    assert events.requests == [10, 1, 1, 5, 1]  # batch 1: 10, retry e-3 twice; batch 2: 5, retry e-12 once
    assert len(sleeps) == 3 and all(0 <= s <= 5 for s in sleeps)


def test_put_events_requests_stay_within_256_kb_altogether(catalog, monkeypatch) -> None:
    """EventBridge limits a PutEvents request to 256 KB, not only each entry: five ~100 KB events need three
    requests although ten entries would fit by count."""
    ids = iter(range(1000))
    monkeypatch.setattr("eventform.runtime.publisher.uuid.uuid4", lambda: f"e-{next(ids)}")
    events = FlakyEvents({})
    publisher = Publisher(catalog, "dev", events=events, bus_names={"users": "bus"}, sleep=lambda _: None)
    large = [(name, {**data, "name": "x" * 100_000}) for name, data in (user(i) for i in range(5))]
    assert len(publisher.put_events(large)) == 5
    assert events.requests == [2, 2, 1]


def test_a_partially_failed_batch_is_never_reported_as_success(catalog, monkeypatch) -> None:
    ids = iter(range(1000))
    monkeypatch.setattr("eventform.runtime.publisher.uuid.uuid4", lambda: f"e-{next(ids)}")
    publisher = Publisher(
        catalog, "dev", events=FlakyEvents({1: 99}), bus_names={"users": "bus"}, sleep=lambda _: None, max_attempts=3
    )
    with pytest.raises(PartialPublishError) as raised:
        publisher.put_events([user(i) for i in range(4)])
    assert raised.value.sent == 3 and [f[0] for f in raised.value.failed] == ["e-1"]


def test_a_validation_error_names_the_path_and_rule_never_the_value(catalog) -> None:
    """Payloads carry personal data and errors end up in logs: the message says where and which rule, not what."""
    payload = {"user_id": "cus_1", "email": "jane.doe@example.com", "country": "Jane-Doe-Street-5", "name": "Jane"}
    with pytest.raises(PublishError) as raised:
        Publisher(catalog, "dev").envelope("users/user.registered", {**payload, "marketing_opt_in": True})
    message = str(raised.value)
    assert "at country: must match pattern" in message
    assert not any(value in message for value in ("Jane-Doe-Street-5", "jane.doe@example.com", "Jane"))
