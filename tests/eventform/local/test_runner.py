"""The local runner against moto: Lambda's event shape, partial failures, redrive to the DLQ and back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from eventform.local import runner
from tests.conftest import mocked_aws


@pytest.fixture
def sqs(monkeypatch) -> Iterator[Any]:
    with mocked_aws(monkeypatch):
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queues(sqs) -> dict[str, str]:
    dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="work",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"queue": queue, "queue_arn": queue_arn, "dlq": dlq, "dlq_arn": dlq_arn}


def count(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_the_handler_receives_lambdas_sqs_event_shape(sqs, queues) -> None:
    seen: list[dict] = []

    def handler(event, context):
        seen.append(event)
        assert context.get_remaining_time_in_millis() > 0
        return {"batchItemFailures": []}

    sqs.send_message(
        QueueUrl=queues["queue"],
        MessageBody='{"id": "1"}',
        MessageAttributes={"type": {"DataType": "String", "StringValue": "order.created"}},
    )
    binding = runner.QueueBinding("c", queues["queue"], queues["queue_arn"], handler)
    tallies = runner.drain(sqs, [binding])
    record = seen[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == queues["queue_arn"]
    assert record["body"] == '{"id": "1"}'
    assert record["messageAttributes"]["type"]["stringValue"] == "order.created"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert tallies["c"].succeeded == 1 and count(sqs, queues["queue"]) == 0


def test_partial_failures_stay_and_poison_moves_to_the_dlq_then_redrives(sqs, queues) -> None:
    poison = {"fail": True}

    def handler(event, context):
        failures = [
            {"itemIdentifier": r["messageId"]}
            for r in event["Records"]
            if json.loads(r["body"]).get("poison") and poison["fail"]
        ]
        return {"batchItemFailures": failures}

    for body in ({"n": 1}, {"n": 2, "poison": True}, {"n": 3}):
        sqs.send_message(QueueUrl=queues["queue"], MessageBody=json.dumps(body))
    binding = runner.QueueBinding("c", queues["queue"], queues["queue_arn"], handler)
    tallies = runner.drain(sqs, [binding])
    assert tallies["c"].succeeded == 2
    assert tallies["c"].failed == 3  # received 3 times (maxReceiveCount), then redriven by SQS
    assert count(sqs, queues["queue"]) == 0 and count(sqs, queues["dlq"]) == 1

    poison["fail"] = False  # the bug is fixed: move the message back and it is handled
    moved = runner.redrive(sqs, queues["dlq"], queues["dlq_arn"], queues["queue_arn"], queues["queue"])
    assert moved == 1 and count(sqs, queues["dlq"]) == 0
    again = runner.drain(sqs, [binding])
    assert again["c"].succeeded == 1 and count(sqs, queues["queue"]) == 0


def test_a_raising_handler_fails_the_whole_batch(sqs, queues) -> None:
    def handler(event, context):
        raise RuntimeError("boom")

    sqs.send_message(QueueUrl=queues["queue"], MessageBody="{}")
    tallies = runner.drain(sqs, [runner.QueueBinding("c", queues["queue"], queues["queue_arn"], handler)])
    assert tallies["c"].succeeded == 0 and tallies["c"].failed == 3
    first = tallies["c"].errors[0]  # each failure names the consumer, the message and the exception's type
    assert (first.consumer, first.error_type, first.message) == ("c", "RuntimeError", "boom") and first.event_id
    assert len(tallies["c"].errors) == 3 and tallies.drained
    assert count(sqs, queues["dlq"]) == 1


def test_a_drain_that_runs_out_of_time_reports_what_is_left(sqs) -> None:
    """`local run --timeout`: a queue that cannot be drained in time is reported, never passed over in silence."""
    url = sqs.create_queue(QueueName="stuck")["QueueUrl"]  # no redrive: a failing message comes back forever
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    def failing(event, context):
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    drained = runner.drain(sqs, [runner.QueueBinding("stuck", url, arn, failing)], timeout=1.0)
    assert not drained.drained and drained.left == {"stuck": 2}
    assert drained["stuck"].failed >= 2


def test_unimplemented_operations_are_told_apart_by_type_not_text() -> None:
    from botocore.exceptions import ClientError

    page = {"Error": {"Code": "500", "Message": "<!doctype html>..."}, "ResponseMetadata": {"HTTPStatusCode": 500}}
    throttled = {"Error": {"Code": "Throttling", "Message": "(500)"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    assert runner.unimplemented(ClientError(page, "StartMessageMoveTask"))
    assert runner.unimplemented(NotImplementedError("moto"))
    assert not runner.unimplemented(ClientError(throttled, "StartMessageMoveTask"))  # "(500)" in the text alone
    assert not runner.unimplemented(RuntimeError("has not been implemented"))
