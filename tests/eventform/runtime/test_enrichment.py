"""The enrichment runtime: one typed event per pipe record whatever the source, the fact forwarded unchanged beside
what the enrichment adds, records dropped on request, and a failing record failing the batch."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from eventform.local.runner import LambdaContext
from eventform.runtime.enrichment import Enricher, record_envelope
from eventform.runtime.handler import CloudEvent, EventValidationError, UnknownEventError
from eventform.runtime.records import sqs_event

ROOT = Path(__file__).resolve().parents[3]
ENVELOPE = {
    "specversion": "1.0",
    "id": "evt-7",
    "source": "com.example.users",
    "type": "user.registered",
    "dataversion": 1,
    "correlationid": "corr-7",
    "data": {"user_id": "cus_7", "email": "a@example.com", "country": "DE", "marketing_opt_in": True},
}


def sqs_record(body: str) -> dict:
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": body}
    return sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")["Records"][0]


def kinesis_record(envelope: dict) -> dict:
    """A Kinesis record as Pipes hands it to an enrichment: flat, data base64-encoded."""
    return {
        "kinesisSchemaVersion": "1.0",
        "partitionKey": "DE",
        "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
        "data": base64.b64encode(json.dumps(envelope).encode()).decode(),
        "approximateArrivalTimestamp": 1545084650.987,
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
        "eventName": "aws:kinesis:record",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/customer-events",
    }


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(sqs_record(json.dumps(ENVELOPE)), id="sqs-raw"),
        pytest.param(sqs_record(json.dumps({"Type": "Notification", "Message": json.dumps(ENVELOPE)})), id="sqs-sns"),
        pytest.param(sqs_record(json.dumps({"detail-type": "user.registered", "detail": ENVELOPE})), id="sqs-bus"),
        pytest.param(kinesis_record(ENVELOPE), id="kinesis"),
    ],
)
def test_every_pipe_source_yields_the_same_event(record: dict) -> None:
    assert record_envelope(record) == CloudEvent.from_dict(ENVELOPE)


@pytest.fixture
def enricher() -> Enricher:
    app = Enricher("users/test-pipe", ROOT / "catalog")

    @app.on("users/user.registered")
    def segment(event: CloudEvent) -> dict | None:
        if not event.data["marketing_opt_in"]:
            return None  # dropped: the target never sees it
        return {"segment": f"newsletter-{event.data['country'].lower()}"}

    return app


def test_the_batch_is_forwarded_with_the_unchanged_fact_beside_the_enrichment(enricher: Enricher) -> None:
    declined = {**ENVELOPE, "id": "evt-8", "data": {**ENVELOPE["data"], "marketing_opt_in": False}}
    batch = [sqs_record(json.dumps(ENVELOPE)), kinesis_record(declined), kinesis_record(ENVELOPE)]
    output = enricher.lambda_handler(batch, LambdaContext(function_name="enrichment"))
    assert output == [
        {"event": CloudEvent.from_dict(ENVELOPE).to_dict(), "enrichment": {"segment": "newsletter-de"}},
        {"event": CloudEvent.from_dict(ENVELOPE).to_dict(), "enrichment": {"segment": "newsletter-de"}},
    ]
    assert json.loads(json.dumps(output)) == output  # exactly what Pipes receives and forwards
    assert enricher.lambda_handler([sqs_record(json.dumps(declined))], None) == []  # the target is not invoked


def test_an_invalid_or_unknown_record_fails_the_whole_batch(enricher: Enricher) -> None:
    invalid = {**ENVELOPE, "data": {**ENVELOPE["data"], "country": "Germany"}}
    with pytest.raises(EventValidationError, match=r"user\.registered"):
        enricher.lambda_handler([sqs_record(json.dumps(ENVELOPE)), sqs_record(json.dumps(invalid))], None)
    other = {**ENVELOPE, "type": "order.created"}
    with pytest.raises(UnknownEventError, match=r"does not enrich order\.created"):
        enricher.lambda_handler([kinesis_record(other)], None)
    with pytest.raises(EventValidationError, match="without body or data"):
        enricher.enrich({"eventSource": "aws:dynamodb", "dynamodb": {}})
