"""The archive path rehearsed on moto: a delivery stream's tap forwarded to moto's Firehose as AWS would send it
(the envelope), and the bucket read back; and moto's Firehose pinned where it differs from AWS (README, local)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from eventform.catalog.loader import load
from eventform.catalog.naming import Names
from eventform.catalog.routing import Receiver, bus_event
from eventform.local import archive_runner, taps
from eventform.local.sending import Sent

NAMES = Names(env="local", region="us-east-1", account_id="123456789012")


@pytest.fixture(scope="module")
def catalog(project_root: Path):
    return load(project_root)[0]


def _event(catalog, name: str, index: int, event_id: str) -> dict:
    event = catalog.event(f"orders/{name}")
    payload = event.latest.examples[index]
    envelope = {"specversion": "1.0", "id": event_id, "source": "com.example.orders", "type": name, "data": payload}
    return bus_event(
        "com.example.orders",
        name,
        envelope,
        event_id=event_id,
        time="2026-11-30T00:10:00Z",
        account="123456789012",
        region="us-east-1",
    )


def _tap(catalog) -> taps.Tap:
    consumer = next(c for c in catalog.consumers if c.name == "order-archiver")
    assert consumer.route is not None
    return taps.Tap(consumer, consumer.route.targets[0], "url", "arn")


def test_concatenated_and_line_delimited_objects_both_read_back() -> None:
    one, two = {"id": "a", "type": "order.created"}, {"id": "b", "type": "order.cancelled"}
    moto = (json.dumps(one) + json.dumps(two)).encode()  # moto: records as sent, back to back
    aws = (json.dumps(one) + "\n" + json.dumps(two) + "\n").encode()  # AWS: AppendDelimiterToRecord
    assert archive_runner.envelopes(moto) == archive_runner.envelopes(aws) == [one, two]


def test_what_the_tap_got_is_forwarded_as_the_envelope_aws_sends(catalog) -> None:
    tap = _tap(catalog)
    event = _event(catalog, "order.created", 0, "e-1")
    assert archive_runner.is_archive(tap)
    whole = json.dumps(event)  # moto ignores InputPath: the tap holds the whole event
    assert json.loads(archive_runner.record_of(NAMES, tap, whole)) == event["detail"]
    envelope = json.dumps(event["detail"])  # an EventBridge that honours InputPath: forwarded as it is
    assert archive_runner.record_of(NAMES, tap, envelope) == envelope


def test_moto_writes_each_batch_under_the_prefix_taken_literally(catalog, monkeypatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    (stream,) = catalog.domain("orders").delivery_streams
    tap = _tap(catalog)
    bucket = NAMES.bucket("orders", stream.bucket)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        firehose = boto3.client("firehose", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        firehose.create_delivery_stream(
            DeliveryStreamName=NAMES.delivery_stream("orders", stream.name),
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/r",
                "BucketARN": f"arn:aws:s3:::{bucket}",
                "Prefix": stream.s3_prefix,
                "ErrorOutputPrefix": stream.s3_error_prefix,
                "CompressionFormat": "GZIP",
                "DynamicPartitioningConfiguration": {"Enabled": True},
            },
        )
        events = [_event(catalog, "order.created", 0, "e-1"), _event(catalog, "order.cancelled", 0, "e-2")]
        assert archive_runner.forward(firehose, NAMES, tap, [json.dumps(e) for e in events]) == 2
        found = archive_runner.archived(s3, NAMES, catalog)
    assert [a.event_id for a in found] == ["e-1", "e-2"]
    assert [a.envelope for a in found] == [e["detail"] for e in events]
    (key,) = {a.key for a in found}  # one object per PutRecordBatch: no partitioning by type
    assert key.startswith(stream.s3_prefix)  # the expressions written as they are
    assert f"/{NAMES.delivery_stream('orders', stream.name)}-1-" in key
    assert found[0].aws_prefix.startswith("events/type=order.created/year=")
    assert found[1].aws_prefix.startswith("events/type=order.cancelled/year=")

    sent = [
        Sent("bus", "orders/order.created", "v1#0", "e-1", set(), {Receiver("orders/order-archiver", "archive")}),
        Sent("bus", "orders/order.cancelled", "v1#0", "e-3", set(), {Receiver("orders/order-archiver", "archive")}),
    ]
    verdicts = archive_runner.verdicts(catalog, sent, found)
    assert [v.sent for v in verdicts] == sent  # each verdict is its own send's (an example goes out on many channels)
    assert [(v.sent.event, v.found is not None) for v in verdicts] == [
        ("orders/order.created", True),
        ("orders/order.cancelled", False),  # e-3 was never put: reported, never guessed
    ]
    assert verdicts[0].outcome.startswith(f"archived: s3://{bucket}/{stream.s3_prefix}")
    assert verdicts[1].outcome == "NOT ARCHIVED"
