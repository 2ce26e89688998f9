"""Kinesis records of a catalog stream: the publisher puts envelopes partitioned by the stream's field, the runtime
reads them back as the same CloudEvents, reports failed sequence numbers, and runs the business code once per event
when Lambda re-reads a batch from the failed record on."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from eventform.catalog.loader import load
from eventform.local.runner import LambdaContext
from eventform.runtime.handler import CloudEvent, EventHandler
from eventform.runtime.publisher import Publisher, PublishError
from eventform.runtime.records import kinesis_event
from tests.conftest import mocked_aws

ROOT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"
STREAM = "dev-orders-order-activity"


@pytest.fixture(scope="module")
def catalog():
    return load(ROOT)[0]


@pytest.fixture
def aws(monkeypatch):
    with mocked_aws(monkeypatch, REGION):
        kinesis = boto3.client("kinesis", region_name=REGION)
        kinesis.create_stream(StreamName=STREAM, ShardCount=2)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield kinesis, dynamodb


def read_all(kinesis) -> list[dict]:
    """Every record of every shard, as GetRecords returns them (with the shard, as the mapping knows it)."""
    records = []
    arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]
    for shard in kinesis.list_shards(StreamARN=arn)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in kinesis.get_records(ShardIterator=iterator)["Records"]:
            records.append({**record, "ShardId": shard["ShardId"]})
    return records


def publisher(catalog, kinesis) -> Publisher:
    return Publisher(catalog, "dev", kinesis=kinesis, stream_names={"orders/order-activity": STREAM})


def test_records_are_envelopes_partitioned_by_the_streams_field(catalog, aws) -> None:
    kinesis, _ = aws
    created = catalog.event("orders/order.created").latest.examples
    cancelled = catalog.event("orders/order.cancelled").latest.examples
    items = [("orders/order.created", e) for e in created] + [("orders/order.cancelled", e) for e in cancelled]
    sent = publisher(catalog, kinesis).put_records("orders/order-activity", items)
    assert len(sent) == len(items) and all(p.destination == STREAM for p in sent)
    records = read_all(kinesis)
    keys = sorted(r["PartitionKey"] for r in records)
    assert keys == sorted(e["order_id"] for _, e in items)
    envelope = json.loads(records[0]["Data"])
    assert envelope["specversion"] == "1.0" and envelope["source"] == "com.example.orders"
    assert envelope["data"]["order_id"] == records[0]["PartitionKey"]


def test_the_publisher_refuses_an_event_the_stream_does_not_carry(catalog, aws) -> None:
    kinesis, _ = aws
    registered = catalog.event("users/user.registered").latest.examples[0]
    with pytest.raises(PublishError, match="does not travel on orders/order-activity"):
        publisher(catalog, kinesis).put_records("orders/order-activity", [("users/user.registered", registered)])
    with pytest.raises(PublishError, match="unknown stream"):
        publisher(catalog, kinesis).put_records("orders/clicks", [])
    assert read_all(kinesis) == []  # nothing was sent


def test_a_failed_record_is_reported_and_a_reread_batch_runs_each_event_once(catalog, aws) -> None:
    kinesis, dynamodb = aws
    examples = catalog.event("orders/order.created").latest.examples
    publisher(catalog, kinesis).put_records("orders/order-activity", [("orders/order.created", e) for e in examples])
    records = read_all(kinesis)
    event = kinesis_event(records, f"arn:aws:kinesis:{REGION}:123456789012:stream/{STREAM}", REGION)
    calls: list[str] = []
    poison = {examples[1]["order_id"]}

    def count(event: CloudEvent) -> None:
        if event.data["order_id"] in poison:
            raise RuntimeError("the counter table is throttling")
        calls.append(event.data["order_id"])

    app = EventHandler(
        "orders/order-metrics", ROOT / "catalog", idempotency_table="idempotency", dynamodb_client=dynamodb
    )
    app.on("orders/order.created")(count)
    failed = app.lambda_handler(event, LambdaContext("f"))
    poisoned = next(r for r in records if r["PartitionKey"] in poison)
    assert failed == {"batchItemFailures": [{"itemIdentifier": poisoned["SequenceNumber"]}]}
    poison.clear()
    # Lambda resumes the shard from the failed sequence number: records after it come again
    assert app.lambda_handler(event, LambdaContext("f")) == {"batchItemFailures": []}
    assert sorted(calls) == sorted(e["order_id"] for e in examples)  # each order counted once


def test_a_record_that_is_no_envelope_fails_alone(catalog) -> None:
    app = EventHandler("orders/order-metrics", ROOT / "catalog", idempotency_table="")
    app.on("orders/order.created")(lambda event: None)
    good = catalog.event("orders/order.created").latest.examples[0]
    envelope = Publisher(catalog, "dev").envelope("orders/order.created", good)[1]
    records = [
        {"PartitionKey": "a", "SequenceNumber": "1", "Data": json.dumps(envelope).encode()},
        {"PartitionKey": "b", "SequenceNumber": "2", "Data": b"not json"},
        {"PartitionKey": "c", "SequenceNumber": "3", "Data": b"\xff\xfe"},
    ]
    response = app.lambda_handler(kinesis_event(records, "arn:aws:kinesis:r:123456789012:stream/s", "r"), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]}
