"""The local runner: plays Lambda's SQS event source mapping against the embedded AWS.

moto cannot execute Lambda code here (no Docker), so the runner polls each consumer queue, builds exactly the event
Lambda would deliver (``Records`` with body, attributes and message attributes in Lambda's shape), invokes the
consumer's handler in process, deletes what succeeded and leaves ``batchItemFailures`` on the queue so that moto's
redrive moves poison messages to the DLQ after ``maxReceiveCount`` receives.

One deliberate difference from Lambda: a failed message is made visible again at once (visibility 0) instead of
after the queue's visibility timeout, so a local rehearsal finishes in seconds. Receive counts, redrive and the DLQ
behave exactly as in AWS.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from eventform.runtime.records import sqs_event

Handler = Callable[[dict[str, Any], Any], dict[str, Any] | None]
LAMBDA_MAX_BATCH = 10  # SQS ReceiveMessage returns at most 10 messages per call


@dataclass(frozen=True)
class HandlerError:
    """One failure a handler reported: which consumer, which event (or message), what was raised."""

    consumer: str
    event_id: str  # the CloudEvents id, or the SQS message id when the body held no readable event
    error_type: str
    message: str

    def __str__(self) -> str:
        return f"{self.consumer} {self.event_id}: {self.error_type}: {self.message}"


@dataclass(frozen=True)
class QueueBinding:
    """One consumer queue and the handler Lambda would invoke for it."""

    consumer: str
    queue_url: str
    queue_arn: str
    handler: Handler
    batch_size: int = 10
    region: str = "us-east-1"
    errors: list[HandlerError] = field(default_factory=list)  # what the handler wrapper recorded, per event


@dataclass
class Tally:
    received: int = 0
    succeeded: int = 0
    failed: int = 0
    invocations: int = 0
    test_events: int = 0  # S3's s3:TestEvent, acknowledged and not counted as received
    errors: list[HandlerError] = field(default_factory=list)


@dataclass(frozen=True)
class LambdaContext:
    """The parts of Lambda's context object handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 256
    timeout_seconds: int = 30
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def __post_init__(self) -> None:
        object.__setattr__(self, "_deadline", time.monotonic() + self.timeout_seconds)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))  # type: ignore[attr-defined]


def poll_once(sqs: Any, binding: QueueBinding, tally: Tally, wait_seconds: int = 0) -> int:
    """One receive + invoke + delete cycle; returns the number of messages received."""
    response = sqs.receive_message(
        QueueUrl=binding.queue_url,
        MaxNumberOfMessages=min(binding.batch_size, LAMBDA_MAX_BATCH),
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages = response.get("Messages", [])
    if not messages:
        return 0
    tally.received += len(messages)
    tally.invocations += 1
    event = sqs_event(messages, binding.queue_arn, binding.region)
    try:
        result = binding.handler(event, LambdaContext(function_name=binding.consumer)) or {}
        failed_ids = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
    except Exception as error:  # a function error fails the whole batch, as in Lambda; recorded, never hidden
        if not binding.errors:  # else the binding recorded each record's own exception
            for message in messages:
                tally.errors.append(
                    HandlerError(binding.consumer, message["MessageId"], type(error).__name__, str(error))
                )
        failed_ids = {m["MessageId"] for m in messages}
    tally.errors.extend(binding.errors)
    binding.errors.clear()
    succeeded = [m for m in messages if m["MessageId"] not in failed_ids]
    failed = [m for m in messages if m["MessageId"] in failed_ids]
    if succeeded:
        sqs.delete_message_batch(
            QueueUrl=binding.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(succeeded)],
        )
    if failed:
        sqs.change_message_visibility_batch(
            QueueUrl=binding.queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(failed)
            ],
        )
    tally.succeeded += len(succeeded)
    tally.failed += len(failed)
    return len(messages)


class Drained(dict[str, Tally]):
    """Tallies per consumer, and what was still queued when the time ran out (empty: every queue drained)."""

    def __init__(self, tallies: dict[str, Tally], left: dict[str, int] | None = None) -> None:
        super().__init__(tallies)
        self.left = left or {}

    @property
    def drained(self) -> bool:
        return not any(self.left.values())


def drain(
    sqs: Any,
    bindings: list[QueueBinding],
    idle_rounds: int = 2,
    timeout: float = 120.0,
    tallies: dict[str, Tally] | None = None,
) -> Drained:
    """Poll every queue until all of them came back empty ``idle_rounds`` times in a row, or ``timeout`` seconds
    passed; then what is left in each queue (visible + in flight) is counted, so a timeout is never silent.
    ``tallies``: continue counting into these (a drain in several phases)."""
    tallies = dict(tallies or {})
    for b in bindings:
        tallies.setdefault(b.consumer, Tally())
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < idle_rounds and time.monotonic() < deadline:
        received = sum(poll_once(sqs, b, tallies[b.consumer]) for b in bindings)
        quiet = quiet + 1 if received == 0 else 0
    if quiet >= idle_rounds:
        return Drained(tallies)
    return Drained(tallies, {b.consumer: queue_depth(sqs, b.queue_url) for b in bindings})


def queue_depth(sqs: Any, url: str) -> int:
    """Messages visible or in flight in a queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def unimplemented(error: Exception) -> bool:
    """The embedded AWS lacks the operation: moto raises NotImplementedError in process and answers HTTP 500 with
    an HTML page (no AWS error code) in server mode. Classified by type and response, never by message text."""
    if isinstance(error, NotImplementedError):
        return True
    if isinstance(error, ClientError):
        response = error.response
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 500 and response.get("Error", {}).get(
            "Code"
        ) in ("500", "InternalServerError", "NotImplemented")
    return False


def redrive(sqs: Any, dlq_url: str, dlq_arn: str, queue_arn: str, queue_url: str) -> int:
    """Move the DLQ's messages back to their source queue.

    AWS: an SQS message move task (``StartMessageMoveTask``). The embedded AWS does not implement it, so there the
    same move is done message by message (receive, send to the source queue with its attributes, delete).
    """
    try:
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=queue_arn)
        return -1  # the task moves the messages asynchronously; -1: count unknown
    except (NotImplementedError, ClientError) as error:
        if not unimplemented(error):
            raise
    moved = 0
    fifo = queue_url.endswith(".fifo")
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            extra: dict[str, Any] = {}
            if fifo:
                extra = {
                    "MessageGroupId": message["Attributes"].get("MessageGroupId", "redrive"),
                    "MessageDeduplicationId": message["Attributes"].get("MessageDeduplicationId")
                    or message["MessageId"],
                }
            sqs.send_message(
                QueueUrl=queue_url,
                MessageBody=message["Body"],
                MessageAttributes=message.get("MessageAttributes", {}),
                **extra,
            )
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def sns_push_event(notification: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """The event Lambda receives from an SNS subscription, from the notification SNS delivered to a tap queue."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": notification.get("Type", "Notification"),
                    "MessageId": notification["MessageId"],
                    "TopicArn": notification["TopicArn"],
                    "Subject": notification.get("Subject"),
                    "Message": notification["Message"],
                    "Timestamp": notification.get("Timestamp"),
                    "SignatureVersion": notification.get("SignatureVersion", "1"),
                    "Signature": notification.get("Signature", ""),
                    "SigningCertUrl": notification.get("SigningCertURL", ""),
                    "UnsubscribeUrl": notification.get("UnsubscribeURL", ""),
                    "MessageAttributes": notification.get("MessageAttributes", {}),
                },
            }
        ]
    }


def invoke_asynchronously(
    handler: Handler, event: dict[str, Any], retries: int, function_name: str
) -> Exception | None:
    """Lambda's asynchronous invocation: the first attempt plus ``retries``; the last error, or None on success."""
    error: Exception | None = None
    for _ in range(retries + 1):
        try:
            handler(event, LambdaContext(function_name=function_name))
            return None
        except Exception as failure:  # what Lambda records as a function error; the caller reports it
            error = failure
    return error


def on_failure_record(event: dict[str, Any], function_arn: str, attempts: int, error: Exception) -> dict[str, Any]:
    """The record Lambda sends to an on-failure destination once retries are exhausted."""
    error_type, message = type(error).__name__, str(error)
    return {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": message, "errorType": error_type},
    }
