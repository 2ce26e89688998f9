"""Object events reach a handler as the same typed CloudEvent on every path S3 can take."""

from __future__ import annotations

import json

import pytest

from eventform.local.runner import LambdaContext
from eventform.runtime.handler import EventHandler, EventValidationError, is_test_event, unwrap
from eventform.runtime.objects import from_bus_event

RECORD = {
    "eventVersion": "2.1",
    "eventSource": "aws:s3",
    "awsRegion": "eu-west-1",
    "eventTime": "2026-11-23T10:00:00.000Z",
    "eventName": "ObjectCreated:Put",
    "s3": {
        "bucket": {"name": "prod-payments-invoices", "arn": "arn:aws:s3:::prod-payments-invoices"},
        "object": {"key": "invoices/INV+1%2B2.pdf", "size": 42, "eTag": "abc", "sequencer": "0A1B"},
    },
}
BUS_EVENT = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Deleted",
    "source": "aws.s3",
    "time": "2026-11-23T10:00:00Z",
    "detail": {
        "bucket": {"name": "prod-payments-invoices"},
        "object": {"key": "invoices/INV 1+2.pdf", "sequencer": "0A1C"},
        "reason": "DeleteObject",
    },
}


def test_a_notification_a_relayed_notification_and_a_bus_event_become_object_events() -> None:
    direct = unwrap(json.dumps({"Records": [RECORD]}))
    relayed = unwrap(json.dumps({"Type": "Notification", "Message": json.dumps({"Records": [RECORD]})}))
    assert direct == relayed
    assert (direct.type, direct.source, direct.data["key"], direct.data["size"]) == (
        "object.created",
        "aws.s3",
        "invoices/INV 1+2.pdf",  # decoded: '+' is a space, %2B a plus
        42,
    )
    assert direct.id == "s3:prod-payments-invoices:invoices/INV 1+2.pdf:0A1B:ObjectCreated:Put"
    deleted = unwrap(BUS_EVENT)
    assert (deleted.type, deleted.data["key"], deleted.data["reason"]) == (
        "object.removed",
        "invoices/INV 1+2.pdf",  # EventBridge does not encode keys
        "DeleteObject",
    )
    expired = from_bus_event({**BUS_EVENT, "detail": {**BUS_EVENT["detail"], "reason": "Lifecycle Expiration"}})
    assert expired["type"] == "object.expired"


def test_test_events_are_recognised_and_batches_of_records_refused() -> None:
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}
    assert is_test_event(json.dumps(test_event))
    assert is_test_event(json.dumps({"Type": "Notification", "Message": json.dumps(test_event)}))
    assert not is_test_event(json.dumps({"Records": [RECORD]}))
    with pytest.raises(EventValidationError, match="2 records"):
        unwrap({"Records": [RECORD, RECORD]})


def test_s3_invoking_a_function_directly_and_eventbridge_pushing_run_the_same_business_code(tmp_path) -> None:
    app = EventHandler("payments/thumbnail", tmp_path, idempotency_table="")
    seen: list[tuple[str, str]] = []
    app.on("object.created")(lambda event: seen.append((event.type, event.data["key"])))
    app.on("object.removed")(lambda event: seen.append((event.type, event.data["key"])))
    context = LambdaContext(function_name="thumbnail", timeout_seconds=30)
    assert app.lambda_handler({"Records": [RECORD]}, context) == {"handled": 1}
    assert app.lambda_handler(BUS_EVENT, context) == {"handled": 1}
    assert seen == [("object.created", "invoices/INV 1+2.pdf"), ("object.removed", "invoices/INV 1+2.pdf")]


def test_an_object_event_without_its_key_fails_validation(tmp_path) -> None:
    app = EventHandler("payments/thumbnail", tmp_path, idempotency_table="")
    app.on("object.created")(lambda event: None)
    broken = json.loads(json.dumps(RECORD))
    broken["s3"]["object"]["key"] = ""
    with pytest.raises(EventValidationError, match="key"):
        app.lambda_handler({"Records": [broken]}, LambdaContext(function_name="thumbnail", timeout_seconds=30))
