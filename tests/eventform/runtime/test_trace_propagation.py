"""One business transaction, one correlation id: the publisher's correlation id and W3C ``traceparent`` travel in
the envelope through SNS -> SQS (raw delivery) and EventBridge -> a pushed function, and every line the handlers log
while handling the events carries both. Real SNS, SQS and EventBridge deliveries in moto, the sample's own handlers
and subscriptions (filter policy, rule pattern) as the stacks generate them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventform.catalog import filters, patterns
from eventform.catalog.loader import load
from eventform.local.runner import LambdaContext
from eventform.runtime.handler import clients
from eventform.runtime.publisher import Publisher
from eventform.runtime.records import sqs_event
from handlers.release_stock import handler as release_stock
from handlers.send_email import handler as send_email
from tests.conftest import mocked_aws

REGION = "eu-west-1"
CORRELATION = "checkout-7f3a"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def aws(monkeypatch) -> Iterator[Any]:
    with mocked_aws(monkeypatch, REGION):
        clients.reset()

        def client(service: str) -> Any:
            made = boto3.client(service, region_name=REGION)
            clients.override(service, made)
            return made

        yield client
        clients.reset()


@pytest.fixture
def logged() -> Iterator[dict[str, io.StringIO]]:
    """What each handler's Powertools logger writes, by consumer."""
    streams = {}
    restore = []
    for app in (send_email.app, release_stock.app):
        handler = app.logger.registered_handler
        assert isinstance(handler, logging.StreamHandler)
        streams[app.consumer] = io.StringIO()
        restore.append((handler, handler.setStream(streams[app.consumer])))
    yield streams
    for handler, previous in restore:
        handler.setStream(previous)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_the_correlation_id_and_traceparent_reach_every_handler_log(aws, logged, monkeypatch, project_root: Path):
    catalog, _ = load(project_root)
    sns, sqs, events = aws("sns"), aws("sqs"), aws("events")
    aws("ses").verify_email_identity(EmailAddress="shop@example.com")
    monkeypatch.setenv("EMAIL_SENDER", "shop@example.com")
    monkeypatch.setenv("RELEASES_TABLE", "releases")
    aws("dynamodb").create_table(
        TableName="releases",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # SNS -> SQS, raw delivery with notifications/send-email's generated filter policy
    mail = next(c for c in catalog.consumers if c.qualified_name == "notifications/send-email")
    topic = sns.create_topic(Name="prod-orders-events")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="prod-notifications-send-email")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps(filters.subscription_policy(list(mail.events_from("orders")), mail.filter)),
        },
    )
    # EventBridge -> (what the rule pushes to) inventory/release-stock, with its generated pattern
    release = next(c for c in catalog.consumers if c.qualified_name == "inventory/release-stock")
    events.create_event_bus(Name="prod-orders")
    pattern = patterns.rule_pattern("com.example.orders", ["order.cancelled"], release.route.pattern)
    events.put_rule(Name="release", EventBusName="prod-orders", EventPattern=json.dumps(pattern))
    capture = sqs.create_queue(QueueName="pushed")["QueueUrl"]
    capture_arn = sqs.get_queue_attributes(QueueUrl=capture, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule="release", EventBusName="prod-orders", Targets=[{"Id": "push", "Arn": capture_arn}])

    publisher = Publisher(
        catalog, "prod", sns=sns, events=events, topic_arns={"orders": topic}, bus_names={"orders": "prod-orders"}
    )
    created = catalog.event("orders/order.created").latest.examples[0]  # a German order: passes the EU filter
    cancelled = catalog.event("orders/order.cancelled").latest.examples[0]
    publisher.publish("orders/order.created", created, correlation_id=CORRELATION, traceparent=TRACEPARENT)
    publisher.put_events([("orders/order.cancelled", cancelled)], correlation_id=CORRELATION, traceparent=TRACEPARENT)

    context = LambdaContext(function_name="test", timeout_seconds=30)
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert send_email.lambda_handler(sqs_event(messages, queue_arn, REGION), context) == {"batchItemFailures": []}
    pushed = sqs.receive_message(QueueUrl=capture, MaxNumberOfMessages=10)["Messages"]
    assert len(pushed) == 1
    assert release_stock.lambda_handler(json.loads(pushed[0]["Body"]), context) == {"handled": 1}

    for consumer in ("notifications/send-email", "inventory/release-stock"):
        found = lines(logged[consumer])
        assert found, f"{consumer} logged nothing"
        for line in found:
            assert line["correlation_id"] == CORRELATION, line
            assert line["traceparent"] == TRACEPARENT, line
        assert any(line["message"] == "event handled" for line in found)


def test_an_event_without_a_given_correlation_id_starts_its_own_flow(project_root: Path) -> None:
    """The first event of a flow: its correlation id is its own id, and no trace parent is invented."""
    catalog, _ = load(project_root)
    example = catalog.event("orders/order.cancelled").latest.examples[0]
    _, envelope = Publisher(catalog, "prod").envelope("orders/order.cancelled", example)
    assert envelope["correlationid"] == envelope["id"] and "traceparent" not in envelope
