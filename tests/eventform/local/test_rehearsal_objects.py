"""The local replay of S3 invoking a function: S3 notifies the tap queue (as the local stacks configure it), the
runner invokes the handler with S3's own event, Lambda's retries, then the failure record in the DLQ."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import pytest
from moto.server import ThreadedMotoServer

from eventform.catalog.model import Consumer, ObjectSource, PushSettings
from eventform.local import rehearsal, runner

REGION = "eu-west-1"


@pytest.fixture
def connection() -> Iterator[rehearsal.Connection]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield rehearsal.Connection(f"http://127.0.0.1:{port}", REGION)
    finally:
        server.stop()


def _deployed(connection: rehearsal.Connection) -> tuple[rehearsal.DeployedConsumer, Any, Any]:
    s3, sqs, dynamodb = (connection.client(s) for s in ("s3", "sqs", "dynamodb"))
    dynamodb.create_table(
        TableName="scans",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    s3.create_bucket(Bucket="scans-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    queues = {}
    for name in ("thumbnail", "thumbnail-dlq"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queues[name] = (
            url,
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
        )
    s3.put_bucket_notification_configuration(
        Bucket="scans-bucket",
        NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": "thumbnail", "QueueArn": queues["thumbnail"][1], "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    consumer = Consumer(
        domain="payments",
        name="thumbnail",
        description="renders previews",
        events=(),
        delivery="push",
        push=PushSettings(retries=1, max_event_age=3600),
        handler="invoice_indexer",
        objects=ObjectSource(domain="payments", bucket="scans", events=("created",)),
    )
    deployed = rehearsal.DeployedConsumer(
        consumer,
        *queues["thumbnail"],
        *queues["thumbnail-dlq"],
        handler_module="handlers.invoice_indexer.handler",
        environment={"INVOICES_TABLE": "scans", "POWERTOOLS_SERVICE_NAME": "payments/thumbnail"},
        batch_size=10,
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:local-payments-thumbnail",
    )
    return deployed, s3, sqs


def test_s3_pushes_are_replayed_with_retries_then_a_failure_record(connection) -> None:
    deployed, s3, sqs = _deployed(connection)
    s3.put_object(Bucket="scans-bucket", Key="invoices/scan-1.pdf", Body=b"%PDF scan")
    s3.put_object(Bucket="scans-bucket", Key="invoices/scan-2.pdf", Body=b"%PDF gone")
    s3.delete_object(Bucket="scans-bucket", Key="invoices/scan-2.pdf")  # the handler cannot read it any more

    runner.drain(sqs, [rehearsal.binding(deployed, connection)])

    assert len(deployed.received) == 2  # S3's test event is not an invocation
    assert len(deployed.handled) == 1 and next(iter(deployed.handled)).startswith("s3:scans-bucket:invoices/scan-1")
    items = connection.client("dynamodb").scan(TableName="scans")["Items"]
    assert [i["key"]["S"] for i in items] == ["invoices/scan-1.pdf"]
    failures = sqs.receive_message(QueueUrl=deployed.dlq_url, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(failures[0]["Body"])
    assert len(failures) == 1 and record["requestContext"]["approximateInvokeCount"] == 2  # 1 try + 1 retry
    # S3's own event, URL-encoded key and all (moto encodes '/' too; the runtime decodes either)
    assert unquote_plus(record["requestPayload"]["Records"][0]["s3"]["object"]["key"]) == "invoices/scan-2.pdf"
