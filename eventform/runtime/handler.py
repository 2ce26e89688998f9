"""The shared handler runtime: a consumer's business code sees one typed ``CloudEvent``, however it arrived.

Built on Powertools for AWS Lambda (Python) v3:
- SQS batches go through ``BatchProcessor`` (``SqsFifoPartialProcessor`` for FIFO queues: the first failure of a
  message group stops that group) and return a partial batch response, so one poison message never blocks the rest;
- Kinesis batches (a catalog stream, whose records' data is the envelope) go through ``BatchProcessor`` for Kinesis:
  the partial batch response names the failed sequence numbers, and Lambda resumes the shard from the lowest one
  (what succeeded after it comes again and is recognised by idempotency);
- DynamoDB stream batches of a catalog table become the domain events the catalog maps its changes to
  (:mod:`eventform.runtime.changes`: the image is the payload, the record's eventID the id), with the same partial
  batch response;
- the envelope is unwrapped from SNS->SQS raw or wrapped delivery, EventBridge->SQS, SNS push and EventBridge push;
  S3 object events (notification, relayed by SNS, or on EventBridge) become ``object.<kind>`` CloudEvents
  (:mod:`eventform.runtime.objects`), and S3's test event on configuration is acknowledged;
- an event is accepted only when its ``(source, type)`` is one the consumer registered (``<domain>/<event>`` and that
  domain's source, :mod:`eventform.runtime.declared`), and its payload is validated against the schema of that
  declaration and its ``dataversion`` (:mod:`eventform.runtime.validation`, the validator lint and the publisher use);
- idempotency is keyed on the CloudEvents ``source`` and ``id`` with Powertools' DynamoDB persistence layer (delivery is
  at-least-once), when ``IDEMPOTENCY_TABLE`` is set;
- logs are structured JSON carrying the correlation id, event type and version;
- a timeout guard refuses to start a record when less than ``TIMEOUT_GUARD_MS`` of the invocation remains, so the
  record is retried instead of being cut off halfway.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from eventform.runtime import changes, objects
from eventform.runtime.declared import Declarations, UnknownEventError
from eventform.runtime.envelope import CloudEvent, EventValidationError
from eventform.runtime.redaction import PiiRedactingFormatter, bound_pii

__all__ = [
    "CloudEvent",
    "EventHandler",
    "EventValidationError",
    "TimeoutGuardError",
    "UnknownEventError",
    "clients",
    "schemas_dir_for",
    "unwrap",
]

DEFAULT_TIMEOUT_GUARD_MS = 2_000


class TimeoutGuardError(Exception):
    """Too little of the invocation is left to handle a record safely; it is left for a retry."""


def is_test_event(body: str | dict[str, Any]) -> bool:
    """S3's test event, sent when a notification is configured (directly or through the bucket's topic)."""
    try:
        document = json.loads(body) if isinstance(body, str) else body
        if isinstance(document, dict) and document.get("Type") == "Notification":
            document = json.loads(document["Message"])
    except (ValueError, TypeError, KeyError):
        return False
    return objects.is_test_event(document)


def unwrap(body: str | dict[str, Any]) -> CloudEvent:
    """Find the CloudEvents envelope in an SQS body or a push record, whatever carried it.

    - SNS->SQS raw delivery: the body *is* the envelope;
    - SNS->SQS wrapped (or SNS push): ``{"Type": "Notification", "Message": "<envelope>"}``;
    - EventBridge (->SQS or push): ``{"detail-type": ..., "detail": <envelope>}``;
    - S3 (notification, relayed by SNS, or S3's own event on EventBridge): an ``object.<kind>`` CloudEvent.
    """
    document = json.loads(body) if isinstance(body, str) else body
    if isinstance(document, dict) and document.get("Type") == "Notification" and "Message" in document:
        return unwrap(document["Message"])
    if objects.is_notification(document):
        if len(document["Records"]) != 1:  # S3 sends one record per message
            raise EventValidationError(f"an S3 notification with {len(document['Records'])} records")
        return CloudEvent.from_dict(objects.from_notification(document["Records"][0]))
    if objects.is_bus_event(document):
        return CloudEvent.from_dict(objects.from_bus_event(document))
    if isinstance(document, dict) and "detail-type" in document and "detail" in document:
        return unwrap(document["detail"])
    if isinstance(document, dict) and "specversion" in document:
        return CloudEvent.from_dict(document)
    raise EventValidationError("the message carries no CloudEvents envelope (raw, SNS or EventBridge)")


BusinessHandler = Callable[[CloudEvent], Any]


class Clients:
    """boto3 clients created on first use (never at import time) and reused across invocations; tests and the
    local runner inject their own with ``override``."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def get(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(service)
        return self._clients[service]

    def override(self, service: str, client: Any) -> None:
        self._clients[service] = client

    def reset(self) -> None:
        self._clients.clear()


clients = Clients()


def schemas_dir_for(handler_file: str) -> Path:
    """The schemas bundled next to a handler in its zip; in the repository, the catalog itself (same layout)."""
    bundled = Path(handler_file).resolve().parent / "schemas"
    return bundled if bundled.is_dir() else Path(handler_file).resolve().parents[2] / "catalog"


class EventHandler:
    """One consumer's Lambda entry point: register a function per event, export ``lambda_handler``.

    ``schemas_dir`` holds ``<domain>/<event>/v<N>.schema.json`` (bundled into the zip from the catalog).
    """

    def __init__(
        self,
        consumer: str,
        schemas_dir: Path,
        *,
        fifo: bool | None = None,
        idempotency_table: str | None = None,
        dynamodb_client: Any = None,
        timeout_guard_ms: int | None = None,
    ) -> None:
        self.consumer = consumer
        self.schemas_dir = schemas_dir
        self.fifo = fifo if fifo is not None else os.environ.get("EVENTFORM_FIFO") == "true"
        self.timeout_guard_ms = (
            timeout_guard_ms
            if timeout_guard_ms is not None
            else int(os.environ.get("TIMEOUT_GUARD_MS", DEFAULT_TIMEOUT_GUARD_MS))
        )
        self.logger = Logger(service=consumer, logger_formatter=PiiRedactingFormatter())  # pii: paths masked
        self.declared = Declarations(consumer, schemas_dir)
        self._handlers: dict[tuple[str, str], BusinessHandler] = {}
        table = idempotency_table if idempotency_table is not None else os.environ.get("IDEMPOTENCY_TABLE")
        self._dispatch: Callable[..., Any] = self._handle
        self._idempotency_config: IdempotencyConfig | None = None
        if table:
            persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb_client)
            # CloudEvents: id is unique per source
            config = IdempotencyConfig(event_key_jmespath="[source, id]", expires_after_seconds=7 * 86400)
            self._idempotency_config = config
            self._dispatch = idempotent_function(
                data_keyword_argument="envelope",
                persistence_store=persistence,
                config=config,
                key_prefix=consumer,
            )(self._handle)

    # Registration -----------------------------------------------------------------------------------------
    def on(self, event_type: str) -> Callable[[BusinessHandler], BusinessHandler]:
        """Register the business function for ``<domain>/<event>`` (``object.<kind>`` for S3 object events); its
        schemas are compiled now, once."""
        declaration = self.declared.declare(event_type)

        def register(function: BusinessHandler) -> BusinessHandler:
            self._handlers[(declaration.source, declaration.type)] = function
            return function

        return register

    # Validation -------------------------------------------------------------------------------------------
    def validate(self, event: CloudEvent) -> None:
        """Refuse an event this consumer did not declare (by source, type and version) or whose payload does not
        match that declaration's schema."""
        self.declared.validate(event)

    # Handling ---------------------------------------------------------------------------------------------
    def _handle(self, envelope: dict[str, Any]) -> Any:
        event = CloudEvent.from_dict(envelope)
        function = self._handlers.get((event.source, event.type))
        if function is None:
            raise UnknownEventError(f"{self.consumer} does not consume {event.type} from {event.source}")
        return function(event)

    def handle(self, event: CloudEvent, context: Any = None) -> Any:
        """Validate, log with correlation keys, then run the business function once per event id."""
        if context is not None and context.get_remaining_time_in_millis() < self.timeout_guard_ms:
            raise TimeoutGuardError(f"{context.get_remaining_time_in_millis()} ms left: leaving {event.id} for a retry")
        declaration = self.declared.validate(event)
        # Every line logged while the event is handled (the business code's too) carries the flow's correlation id
        # and W3C trace parent as the publisher set them: one business transaction, one correlation id in every log.
        self.logger.append_keys(
            correlation_id=event.correlationid,
            traceparent=event.traceparent,
            event_type=event.type,
            event_version=event.dataversion,
            event_id=event.id,
        )
        try:
            with bound_pii(declaration.pii, event.data):  # every log line written meanwhile masks them
                try:
                    result = self._dispatch(envelope=event.to_dict())
                except Exception:
                    self.logger.exception("event failed: left for a retry, then the dead-letter queue")
                    raise
                self.logger.info("event handled")
                return result
        finally:
            self.logger.remove_keys(["correlation_id", "traceparent", "event_type", "event_version", "event_id"])

    def lambda_handler(self, event: dict[str, Any], context: Any) -> PartialItemFailureResponse | dict[str, Any]:
        if self._idempotency_config is not None and context is not None:
            self._idempotency_config.register_lambda_context(context)  # in-progress records expire with the call
        records = event.get("Records") or []
        if records and records[0].get("eventSource") == "aws:sqs":
            return self._sqs_batch(event, context)
        if records and records[0].get("eventSource") == "aws:kinesis":
            return self._kinesis_batch(event, context)
        if records and changes.is_change(records[0]):
            return self._table_batch(event, context)
        if objects.is_notification(event):  # S3 invoked the function: failures raise, Lambda retries
            for record in records:
                self.handle(CloudEvent.from_dict(objects.from_notification(record)), context)
            return {"handled": len(records)}
        if records and records[0].get("EventSource") == "aws:sns":  # SNS push: failures raise, Lambda retries
            for record in records:
                self.handle(unwrap(record["Sns"]["Message"]), context)
            return {"handled": len(records)}
        if "detail-type" in event:  # EventBridge push
            self.handle(unwrap(event), context)
            return {"handled": 1}
        raise EventValidationError("unsupported invocation: expected SQS, Kinesis, DynamoDB, SNS, S3 or EventBridge")

    def _sqs_batch(self, event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        # skip_group_on_error: a failure stops only its own message group; other groups keep going, in order.
        processor = (
            SqsFifoPartialProcessor(skip_group_on_error=True) if self.fifo else BatchProcessor(event_type=EventType.SQS)
        )

        def record_handler(record: SQSRecord) -> Any:
            if is_test_event(record.body):
                return None  # S3 checking the destination: acknowledged, nothing to handle
            return self.handle(unwrap(record.body), context)

        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    def _kinesis_batch(self, event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        """A catalog stream's records: data (base64) is the CloudEvents envelope the publisher put."""

        def record_handler(record: KinesisStreamRecord) -> Any:
            try:
                text = record.kinesis.data_as_text()
            except ValueError as error:  # not base64, or not UTF-8: no envelope to read
                raise EventValidationError(f"the record's data is not text: {error}") from None
            return self.handle(unwrap(text), context)

        return process_partial_response(
            event=event,
            record_handler=record_handler,
            processor=BatchProcessor(event_type=EventType.KinesisDataStreams),
            context=context,
        )

    def _table_batch(self, event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        """A catalog table's changes, each as the event the catalog maps it to (``EVENTFORM_TABLE_EVENTS``)."""
        mapped = changes.changes_from(os.environ.get(changes.CHANGES_VARIABLE))

        def record_handler(record: DynamoDBRecord) -> Any:
            envelope = changes.from_change(record.raw_event, mapped)
            if envelope is None:
                return None  # a change the catalog maps to no event: acknowledged, nothing to handle
            return self.handle(CloudEvent.from_dict(envelope), context)

        return process_partial_response(
            event=event,
            record_handler=record_handler,
            processor=BatchProcessor(event_type=EventType.DynamoDBStreams),
            context=context,
        )
