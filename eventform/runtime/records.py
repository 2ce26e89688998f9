"""Lambda events as AWS's event source mappings shape them, for code that plays Lambda (the local runner, the pipe
runner, lint's view of what a pipe filters, handler tests)."""

from __future__ import annotations

import base64
from typing import Any


def _lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS API shape (``StringValue``) -> Lambda event shape (``stringValue``, list fields, ``dataType``)."""
    shaped = {}
    for name, value in sorted(attributes.items()):
        shaped[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
    return shaped


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping delivers for ``messages`` (ReceiveMessage output)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(sorted(message.get("Attributes", {}).items())),
                "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes", {})),
                "md5OfBody": message.get("MD5OfBody"),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def kinesis_event(records: list[dict[str, Any]], stream_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's Kinesis event source mapping delivers for ``records`` (GetRecords output)."""
    shaped = []
    for record in records:
        arrival: Any = record.get("ApproximateArrivalTimestamp")  # GetRecords: a datetime; absent in fixtures
        shaped.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record["PartitionKey"],
                    "sequenceNumber": record["SequenceNumber"],
                    "data": base64.b64encode(record["Data"]).decode(),
                    "approximateArrivalTimestamp": arrival.timestamp() if hasattr(arrival, "timestamp") else arrival,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{record.get('ShardId', 'shardId-000000000000')}:{record['SequenceNumber']}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{stream_arn.split(':')[4]}:role/local-runner",
                "awsRegion": region,
                "eventSourceARN": stream_arn,
            }
        )
    return {"Records": shaped}
