"""The platform's DLQ handler: record every dead-lettered event in DynamoDB and alert the alarm topic.

Not a catalog consumer: it is attached to dead-letter queues by the platform, so it takes any envelope (no schema
validation: a message lands here precisely because something about it failed)."""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from eventform.runtime.handler import EventValidationError, clients, unwrap


def record_failure(record: SQSRecord) -> None:
    try:
        event = unwrap(record.body)
        event_id, event_type = event.id, event.type
    except (EventValidationError, json.JSONDecodeError):
        event_id, event_type = record.message_id, "unreadable"
    source_queue = record.event_source_arn.rsplit(":", 1)[-1]
    clients.get("dynamodb").put_item(
        TableName=os.environ.get("FAILED_EVENTS_TABLE", "failed-events"),
        Item={
            "pk": {"S": f"{source_queue}#{event_id}"},
            "event_type": {"S": event_type},
            "receive_count": {"N": record.attributes.approximate_receive_count or "0"},
            "body": {"S": record.body[:350_000]},
        },
    )
    clients.get("sns").publish(
        TopicArn=os.environ["ALARM_TOPIC_ARN"],
        Subject=f"Dead-lettered {event_type}"[:100],
        Message=json.dumps({"queue": source_queue, "event_id": event_id, "event_type": event_type}),
    )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_failure, processor=BatchProcessor(event_type=EventType.SQS), context=context
    )
