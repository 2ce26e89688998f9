"""The publisher: producers publish a catalog event correctly with one call.

It looks the event up in the catalog, validates the payload against the version's schema, wraps the CloudEvents
envelope and sends it — SNS with the message attributes filter policies use (plus the FIFO group and deduplication
ids), or EventBridge ``PutEvents`` in batches of at most 10, retrying only the failed entries with backoff and
jitter. Every problem it can know about raises before anything is sent; a partially failed batch raises
:class:`PartialPublishError` naming what was not sent.

Envelope mapping (see the README):
- SNS: body = the CloudEvents JSON; message attributes ``type``, ``version``, ``source`` and each field the event
  lists under ``attributes:``; FIFO: ``MessageGroupId`` = the ``message_group`` field, ``MessageDeduplicationId``
  = the event id.
- EventBridge: ``Source`` = the domain's source, ``DetailType`` = the event name, ``Detail`` = the envelope.
- Kinesis (a stream the catalog declares): ``Data`` = the envelope, ``PartitionKey`` = the payload field the stream
  names (``partition_key``), in ``PutRecords`` requests of at most 500 records and 5 MB; failed records are retried.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eventform.runtime import envelope as cloudevents
from eventform.runtime.validation import SchemaValidationError, Validator, compile_schema

if TYPE_CHECKING:  # the publisher reads a loaded catalog; it imports nothing of eventform when it runs
    from eventform.catalog.model import Catalog, Event

MAX_MESSAGE_BYTES = 262_144  # SNS and EventBridge: 256 KB per message / entry
PUT_EVENTS_BATCH = 10
PUT_EVENTS_REQUEST_BYTES = 262_144  # EventBridge: 256 KB per PutEvents request, all its entries together
MAX_RECORD_BYTES = 1_048_576  # Kinesis: 1 MB per record, data and partition key together
PUT_RECORDS_BATCH = 500  # Kinesis: records per PutRecords request
PUT_RECORDS_REQUEST_BYTES = 5_242_880  # Kinesis: 5 MB per PutRecords request


def entry_size(entry: dict[str, Any]) -> int:
    """What an entry counts towards EventBridge's limits (measured as its JSON, which is never less than AWS's
    own sum of Source, DetailType, Detail and Resources)."""
    return len(json.dumps(entry).encode())


def put_events_requests(entries: list[tuple[str, dict[str, Any]]]) -> list[list[tuple[str, dict[str, Any]]]]:
    """Cut entries into PutEvents requests: at most 10 entries and 256 KB per request."""
    requests: list[list[tuple[str, dict[str, Any]]]] = []
    size = 0
    for item in entries:
        item_size = entry_size(item[1])
        if not requests or len(requests[-1]) == PUT_EVENTS_BATCH or size + item_size > PUT_EVENTS_REQUEST_BYTES:
            requests.append([])
            size = 0
        requests[-1].append(item)
        size += item_size
    return requests


class PublishError(Exception):
    """The event cannot be published as given; nothing was sent."""


class PartialPublishError(PublishError):
    """Some entries were not accepted after every retry. ``failed`` lists (event id, error code, message)."""

    def __init__(self, sent: int, failed: list[tuple[str, str, str]]) -> None:
        self.sent, self.failed = sent, failed
        details = "; ".join(f"{i}: {code} {message}" for i, code, message in failed[:5])
        super().__init__(f"{len(failed)} of {sent + len(failed)} events were not published: {details}")


@dataclass(frozen=True)
class Published:
    event_id: str
    message_id: str | None
    destination: str


def _path_value(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node[part]
    return node


def _attribute(value: Any) -> dict[str, str]:
    if isinstance(value, bool):
        return {"DataType": "String", "StringValue": "true" if value else "false"}
    if isinstance(value, int | float):
        return {"DataType": "Number", "StringValue": repr(value)}
    return {"DataType": "String", "StringValue": str(value)}


class Publisher:
    """Publishes catalog events of one environment. Clients are injected; ARNs come from SSM or are given."""

    def __init__(
        self,
        catalog: Catalog,
        environment: str,
        *,
        sns: Any = None,
        events: Any = None,
        ssm: Any = None,
        topic_arns: dict[str, str] | None = None,
        bus_names: dict[str, str] | None = None,
        kinesis: Any = None,
        stream_names: dict[str, str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
    ) -> None:
        self.catalog, self.environment = catalog, environment
        self.sns, self.events, self.ssm = sns, events, ssm
        self._topic_arns = dict(topic_arns or {})
        self._bus_names = dict(bus_names or {})
        self.kinesis = kinesis
        self._stream_names = dict(stream_names or {})  # <domain>/<stream> -> the environment's stream name
        self.clock, self.sleep, self.max_attempts = clock, sleep, max_attempts
        self._validators: dict[tuple[str, int], Validator] = {}  # at most one per catalog event version

    # Lookups ----------------------------------------------------------------------------------------------
    def _event(self, qualified: str, version: int | None) -> tuple[Event, int]:
        try:
            event = self.catalog.event(qualified)
        except (KeyError, ValueError) as error:
            known = ", ".join(e.qualified_name for e in self.catalog.events)
            raise PublishError(f"unknown event {qualified!r}; the catalog has: {known}") from error
        number = version or event.latest.number
        if number not in {v.number for v in event.versions}:
            raise PublishError(
                f"{qualified} has no version {number}; published versions: {[v.number for v in event.versions]}"
            )
        return event, number

    def _parameter(self, *parts: str) -> str:
        if self.ssm is None:
            raise PublishError(f"no SSM client to look up /eventform/{self.environment}/{'/'.join(parts)}")
        name = "/".join(["", "eventform", self.environment, *parts])
        return self.ssm.get_parameter(Name=name)["Parameter"]["Value"]

    def topic_arn(self, domain: str) -> str:
        if domain not in self._topic_arns:
            self._topic_arns[domain] = self._parameter(domain, "topic_arn")
        return self._topic_arns[domain]

    def bus_name(self, domain: str) -> str:
        if domain not in self._bus_names:
            self._bus_names[domain] = self._parameter(domain, "bus_name")
        return self._bus_names[domain]

    def stream_name(self, qualified_stream: str) -> str:
        if qualified_stream not in self._stream_names:
            domain, stream = qualified_stream.split("/", 1)
            self._stream_names[qualified_stream] = self._parameter(domain, "streams", stream)
        return self._stream_names[qualified_stream]

    # Envelope ---------------------------------------------------------------------------------------------
    def envelope(
        self,
        qualified: str,
        data: dict[str, Any],
        *,
        version: int | None = None,
        event_id: str | None = None,
        correlation_id: str | None = None,
        traceparent: str | None = None,
    ) -> tuple[Event, dict[str, Any]]:
        """Validate ``data`` and wrap it; raises PublishError before anything is sent."""
        event, number = self._event(qualified, version)
        key = (event.qualified_name, number)
        if key not in self._validators:
            self._validators[key] = compile_schema(event.version(number).schema)
        try:
            self._validators[key](data)
        except SchemaValidationError as error:  # names the path and the rule, never the value (PII)
            raise PublishError(f"{event.qualified_name} v{number} payload is invalid {error}") from None
        identifier = event_id or str(uuid.uuid4())
        envelope = cloudevents.build(
            source=self.catalog.domain(event.domain).source,
            event_type=event.name,
            version=number,
            data=data,
            event_id=identifier,
            time=self.clock().isoformat().replace("+00:00", "Z"),
            correlation_id=correlation_id,
            dataschema=event.dataschema(number),
            traceparent=traceparent,
        )
        return event, envelope

    def sns_message(self, event: Event, envelope: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(envelope, separators=(",", ":"), sort_keys=True)
        attributes = {
            "type": _attribute(envelope["type"]),
            "version": _attribute(envelope["dataversion"]),
            "source": _attribute(envelope["source"]),
        }
        for name in event.attributes:
            if name in envelope["data"]:
                attributes[name] = _attribute(envelope["data"][name])
        size = len(body.encode()) + sum(
            len(k) + len(v["StringValue"]) + len(v["DataType"]) for k, v in attributes.items()
        )
        if size > MAX_MESSAGE_BYTES:
            raise PublishError(
                f"{event.qualified_name} {envelope['id']} is {size} bytes; SNS accepts at most "
                f"{MAX_MESSAGE_BYTES}: store the payload in S3 and publish a reference"
            )
        message: dict[str, Any] = {"Message": body, "MessageAttributes": attributes}
        if event.message_group:
            message["MessageGroupId"] = str(_path_value(envelope["data"], event.message_group))
            message["MessageDeduplicationId"] = envelope["id"]
        return message

    def bus_entry(self, event: Event, envelope: dict[str, Any]) -> dict[str, Any]:
        """The ``PutEvents`` entry of an envelope; raises PublishError above EventBridge's 256 KB per entry."""
        entry = {
            "Source": envelope["source"],
            "DetailType": event.name,
            "Detail": json.dumps(envelope, separators=(",", ":"), sort_keys=True),
            "EventBusName": self.bus_name(event.domain),
        }
        if entry_size(entry) > MAX_MESSAGE_BYTES:
            raise PublishError(f"{event.qualified_name} {envelope['id']} exceeds EventBridge's 256 KB entry limit")
        return entry

    # Sending ----------------------------------------------------------------------------------------------
    def publish(self, qualified: str, data: dict[str, Any], **options: Any) -> Published:
        """Publish one event on its domain's SNS topic."""
        event, envelope = self.envelope(qualified, data, **options)
        message = self.sns_message(event, envelope)
        topic = self.topic_arn(event.domain)
        if self.sns is None:
            raise PublishError("no SNS client given")
        response = self.sns.publish(TopicArn=topic, **message)
        return Published(envelope["id"], response.get("MessageId"), topic)

    def publish_batch(
        self,
        items: Iterable[tuple[str, dict[str, Any]]],
        *,
        correlation_id: str | None = None,
        traceparent: str | None = None,
    ) -> list[Published]:
        """Publish several events on SNS; every payload is validated before the first one is sent.
        ``correlation_id`` and ``traceparent``: shared by every event of the batch (one business transaction)."""
        prepared = [
            self.envelope(qualified, data, correlation_id=correlation_id, traceparent=traceparent)
            for qualified, data in items
        ]
        messages = [(event, envelope, self.sns_message(event, envelope)) for event, envelope in prepared]
        return [
            Published(
                envelope["id"],
                self.sns.publish(TopicArn=self.topic_arn(event.domain), **message).get("MessageId"),
                self.topic_arn(event.domain),
            )
            for event, envelope, message in messages
        ]

    def put_events(
        self,
        items: Iterable[tuple[str, dict[str, Any]]],
        *,
        correlation_id: str | None = None,
        traceparent: str | None = None,
    ) -> list[Published]:
        """EventBridge ``PutEvents`` in requests of at most 10 entries and 256 KB; only failed entries are retried,
        with backoff and jitter. ``correlation_id`` and ``traceparent`` of every event travel in the envelope in
        ``detail``, so rules, targets, pipes and the handler see them."""
        if self.events is None:
            raise PublishError("no EventBridge client given")
        entries = []
        for qualified, data in items:
            event, envelope = self.envelope(qualified, data, correlation_id=correlation_id, traceparent=traceparent)
            entries.append((envelope["id"], self.bus_entry(event, envelope)))
        events = self.events
        return self._send_retrying(
            put_events_requests(entries),
            lambda batch: events.put_events(Entries=batch)["Entries"],
            lambda result: result["EventId"] if "EventId" in result and not result.get("ErrorCode") else None,
            lambda entry: entry["EventBusName"],
        )

    def _send_retrying(
        self,
        requests: list[list[tuple[str, dict[str, Any]]]],
        send: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
        accepted: Callable[[dict[str, Any]], str | None],
        destination: Callable[[dict[str, Any]], str],
    ) -> list[Published]:
        """Send each request of (event id, entry); retry only the entries the service refused (``accepted`` gives
        None), with full-jitter backoff; raise PartialPublishError naming what the last attempt still refused."""
        published: list[Published] = []
        failed: list[tuple[str, str, str]] = []
        for batch in requests:
            for attempt in range(1, self.max_attempts + 1):
                results = send([entry for _, entry in batch])
                retry = []
                for (event_id, entry), result in zip(batch, results, strict=True):
                    receipt = accepted(result)
                    if receipt is None:
                        retry.append(((event_id, entry), result))
                    else:
                        published.append(Published(event_id, receipt, destination(entry)))
                if not retry:
                    break
                batch = [item for item, _ in retry]
                if attempt == self.max_attempts:
                    failed.extend((i, r.get("ErrorCode", "?"), r.get("ErrorMessage", "")) for (i, _), r in retry)
                else:
                    self.sleep(random.uniform(0, min(5.0, 0.1 * 2**attempt)))  # full jitter
        if failed:
            raise PartialPublishError(len(published), failed)
        return published

    def _stream(self, stream: str) -> Any:
        domain, _, name = stream.partition("/")
        try:
            declared = next((s for s in self.catalog.domain(domain).streams if s.name == name), None)
        except KeyError:
            declared = None
        if declared is None:
            raise PublishError(f"unknown stream {stream!r}; write <domain>/<stream> of a catalog stream")
        return declared

    def stream_record(
        self, stream: str, qualified: str, data: dict[str, Any], **options: Any
    ) -> tuple[str, dict[str, Any]]:
        """(event id, the ``PutRecords`` entry) of one event on a catalog stream (``<domain>/<stream>``); raises
        PublishError for a stream the catalog lacks, an event it does not carry, or a record above 1 MB."""
        declared = self._stream(stream)
        if qualified not in declared.events:
            raise PublishError(f"{qualified} does not travel on {stream} (it carries {', '.join(declared.events)})")
        _, envelope = self.envelope(qualified, data, **options)
        body = json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()
        key = str(_path_value(data, declared.partition_key))
        if len(body) + len(key.encode()) > MAX_RECORD_BYTES:
            raise PublishError(f"{qualified} {envelope['id']} exceeds Kinesis's 1 MB record limit")
        return envelope["id"], {"Data": body, "PartitionKey": key}

    def put_records(self, stream: str, items: Iterable[tuple[str, dict[str, Any]]]) -> list[Published]:
        """Put events on a catalog stream (``<domain>/<stream>``) as Kinesis records: data = the envelope, partition
        key = the stream's ``partition_key`` field. Every payload is validated, and every event checked to travel on
        the stream, before the first record is sent; only failed records are retried, with backoff and jitter."""
        if self.kinesis is None:
            raise PublishError("no Kinesis client given")
        self._stream(stream)
        records = [self.stream_record(stream, qualified, data) for qualified, data in items]
        stream_name = self.stream_name(stream)
        kinesis = self.kinesis
        return self._send_retrying(
            _put_records_requests(records),
            lambda batch: kinesis.put_records(StreamName=stream_name, Records=batch)["Records"],
            lambda result: None if result.get("ErrorCode") else result["SequenceNumber"],
            lambda _: stream_name,
        )


def _put_records_requests(records: list[tuple[str, dict[str, Any]]]) -> list[list[tuple[str, dict[str, Any]]]]:
    """Cut records into PutRecords requests: at most 500 records and 5 MB per request."""
    requests: list[list[tuple[str, dict[str, Any]]]] = []
    size = 0
    for item in records:
        item_size = len(item[1]["Data"]) + len(item[1]["PartitionKey"].encode())
        if not requests or len(requests[-1]) == PUT_RECORDS_BATCH or size + item_size > PUT_RECORDS_REQUEST_BYTES:
            requests.append([])
            size = 0
        requests[-1].append(item)
        size += item_size
    return requests
