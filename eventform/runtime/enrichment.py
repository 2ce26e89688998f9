"""Enrichment handlers for EventBridge Pipes: business code sees one typed ``CloudEvent`` per record and returns
what it adds; the runtime returns to Pipes the array it forwards to the pipe's target.

Pipes invokes an enrichment Lambda synchronously with a JSON array of records (SQS records whose ``body`` is the
CloudEvents envelope, Kinesis records whose ``data`` is the base64 of it) and sends the returned array on to the
target. Each output item keeps the fact as it was published beside what the enrichment found:
``{"event": <the CloudEvents envelope>, "enrichment": <what the business function returned>}``. Returning ``None``
drops the record (the enrichment filters); an empty array means the target is not invoked at all.

There is no partial success: any exception fails the whole batch, and Pipes retries it (an SQS source after the
queue's visibility timeout, and its redrive policy sends a batch that keeps failing to the DLQ; a stream source per
its retry policy, then the pipe's DLQ). Enrichment must therefore be a side-effect-free lookup; the payload is
validated against the catalog schema bundled in the package, exactly as :mod:`eventform.runtime.handler` does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from eventform.runtime.declared import Declarations, UnknownEventError
from eventform.runtime.envelope import CloudEvent, EventValidationError
from eventform.runtime.handler import unwrap
from eventform.runtime.redaction import PiiRedactingFormatter, bound_pii

__all__ = ["Enricher", "EnrichmentFunction", "record_envelope"]

EnrichmentFunction = Callable[[CloudEvent], dict[str, Any] | None]


def record_envelope(record: dict[str, Any]) -> CloudEvent:
    """The CloudEvents envelope a pipe record carries, whatever its source: SQS (``body``, which may itself be an
    SNS notification or an EventBridge event), Kinesis (``data``, base64) or an already decoded record."""
    if record.get("eventSource") == "aws:sqs" or "body" in record:
        return unwrap(record["body"])
    if record.get("eventSource") == "aws:kinesis" or "data" in record:
        data = record["data"]
        if isinstance(data, str):
            data = base64.b64decode(data).decode("utf-8")
        return unwrap(data)
    raise EventValidationError(f"a pipe record without body or data: {sorted(record)}")


class Enricher:
    """One pipe's enrichment: register a function per event with ``@app.on``, export ``app.lambda_handler``.

    Records are accepted and validated as by :class:`eventform.runtime.handler.EventHandler` (the declared
    ``(source, type)``, the same validators), without its idempotency: an enrichment must return the same answer
    every time it is asked, so it never skips a record.
    """

    def __init__(self, pipe: str, schemas_dir: Path) -> None:
        self.pipe = pipe
        self.logger = Logger(service=pipe, logger_formatter=PiiRedactingFormatter())  # pii: paths masked
        self.declared = Declarations(pipe, schemas_dir)
        self._functions: dict[tuple[str, str], EnrichmentFunction] = {}

    def on(self, event_type: str) -> Callable[[EnrichmentFunction], EnrichmentFunction]:
        """Register the enrichment of ``<domain>/<event>``."""
        declaration = self.declared.declare(event_type)

        def register(function: EnrichmentFunction) -> EnrichmentFunction:
            self._functions[(declaration.source, declaration.type)] = function
            return function

        return register

    def enrich(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The output item for one record, or None when the business function drops it."""
        event = record_envelope(record)
        function = self._functions.get((event.source, event.type))
        if function is None:
            raise UnknownEventError(f"{self.pipe} does not enrich {event.type} from {event.source}")
        declaration = self.declared.validate(event)
        self.logger.append_keys(
            correlation_id=event.correlationid, event_type=event.type, event_version=event.dataversion
        )
        try:
            with bound_pii(declaration.pii, event.data):
                added = function(event)
        finally:
            self.logger.remove_keys(["correlation_id", "event_type", "event_version"])
        if added is None:
            self.logger.info("dropped by the enrichment", extra={"event_id": event.id})
            return None
        return {"event": event.to_dict(), "enrichment": added}

    def lambda_handler(self, event: list[dict[str, Any]] | dict[str, Any], context: Any) -> list[dict[str, Any]]:
        records = event if isinstance(event, list) else [event]  # batch size 1 still arrives as an array
        enriched = [item for item in map(self.enrich, records) if item is not None]
        self.logger.info("enriched a batch", extra={"received": len(records), "forwarded": len(enriched)})
        return json.loads(json.dumps(enriched))  # what Pipes receives is JSON: fail here, not in the target
