"""The shared runtime: one typed event whatever the carrier; validation, idempotency, timeout guard."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws

from eventform.local.runner import LambdaContext
from eventform.runtime.handler import CloudEvent, EventHandler, EventValidationError, TimeoutGuardError, unwrap
from eventform.runtime.records import sqs_event

ROOT = Path(__file__).resolve().parents[3]
ENVELOPE = {
    "specversion": "1.0",
    "id": "evt-1",
    "source": "com.example.users",
    "type": "user.registered",
    "dataversion": 1,
    "correlationid": "corr-9",
    "data": {"user_id": "cus_1", "email": "a@example.com", "country": "DE", "marketing_opt_in": True},
}


@pytest.mark.parametrize(
    "carrier",
    [
        pytest.param(json.dumps(ENVELOPE), id="sns-to-sqs-raw"),
        pytest.param(json.dumps({"Type": "Notification", "Message": json.dumps(ENVELOPE)}), id="sns-wrapped"),
        pytest.param(
            json.dumps({"detail-type": "user.registered", "source": "x", "detail": ENVELOPE}), id="eventbridge"
        ),
    ],
)
def test_every_carrier_yields_the_same_event(carrier: str) -> None:
    event = unwrap(carrier)
    assert event == CloudEvent.from_dict(ENVELOPE)
    assert event.correlationid == "corr-9" and event.data["country"] == "DE"


def make_app(**options) -> tuple[EventHandler, list[CloudEvent]]:
    seen: list[CloudEvent] = []
    app = EventHandler("test/consumer", ROOT / "catalog", idempotency_table="", **options)
    app.on("users/user.registered")(seen.append)
    return app, seen


def record(body: str, message_id: str = "m-1") -> dict:
    return {"MessageId": message_id, "ReceiptHandle": "r", "Body": body, "Attributes": {}}


def test_push_invocations_sns_and_eventbridge() -> None:
    app, seen = make_app()
    context = LambdaContext("f")
    app.lambda_handler({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(ENVELOPE)}}]}, context)
    app.lambda_handler({"detail-type": "user.registered", "source": "s", "detail": ENVELOPE}, context)
    assert [e.id for e in seen] == ["evt-1", "evt-1"]


def test_invalid_payload_fails_only_its_record() -> None:
    app, seen = make_app()
    bad = {**ENVELOPE, "id": "evt-2", "data": {**ENVELOPE["data"], "country": "Germany"}}
    event = sqs_event([record(json.dumps(ENVELOPE), "ok"), record(json.dumps(bad), "bad")], "arn:q", "us-east-1")
    response = app.lambda_handler(event, LambdaContext("f"))
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert [e.id for e in seen] == ["evt-1"]
    with pytest.raises(EventValidationError, match="country"):
        app.validate(unwrap(json.dumps(bad)))


def test_timeout_guard_leaves_records_for_a_retry() -> None:
    app, seen = make_app(timeout_guard_ms=60_000)
    event = sqs_event([record(json.dumps(ENVELOPE))], "arn:q", "us-east-1")
    with pytest.raises(BatchProcessingError):  # every record failed: Powertools fails the invocation (Lambda retries)
        app.lambda_handler(event, LambdaContext("f", timeout_seconds=1))
    assert seen == []
    with pytest.raises(TimeoutGuardError):
        app.handle(unwrap(json.dumps(ENVELOPE)), LambdaContext("f", timeout_seconds=1))


def test_a_duplicate_delivery_runs_the_business_code_once(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        calls: list[str] = []
        app = EventHandler("test/consumer", ROOT / "catalog", idempotency_table="idempotency", dynamodb_client=dynamodb)
        app.on("users/user.registered")(lambda event: calls.append(event.id) or len(calls))
        event = sqs_event([record(json.dumps(ENVELOPE))], "arn:q", "us-east-1")
        for _ in range(3):
            assert app.lambda_handler(event, LambdaContext("f")) == {"batchItemFailures": []}
        assert calls == ["evt-1"]
        stored = dynamodb.scan(TableName="idempotency")["Items"]
        assert len(stored) == 1 and stored[0]["status"]["S"] == "COMPLETED" and "expiration" in stored[0]
