"""The archive path rehearsed locally: rule target -> catalog delivery stream -> objects in the domain's bucket.

The embedded AWS (moto 5) delivers rule targets to SQS only, so a target naming a delivery stream delivers to its
tap queue (``modules/stacks/bus_wiring.py``). The rehearsal forwards what the tap got to the delivery stream with
PutRecordBatch, as EventBridge does in AWS, rendered as AWS renders it (``$.detail``: moto ignores InputPath).
moto's Firehose then writes each PutRecordBatch at once as one object in the bucket: the records concatenated as
sent (no AppendDelimiterToRecord), uncompressed (no GZIP), under the configured Prefix taken literally (no
``!{...}`` evaluated: no dynamic partitioning) followed by ``YYYY/MM/DD/HH/``; no buffering and no error prefix.
So the rehearsal reads the bucket back and reports, per sent event, the object moto wrote and the prefix AWS would
write it under (:meth:`eventform.catalog.model.DeliveryStream.key_prefix`, from the object's arrival time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventform.catalog.model import Catalog, DeliveryStream
from eventform.catalog.naming import Names
from eventform.catalog.routing import Receiver
from eventform.local import taps
from eventform.local.sending import Sent

MAX_BATCH = 500  # records per PutRecordBatch


@dataclass(frozen=True)
class Archived:
    """One envelope found in a delivery stream's bucket."""

    stream: str  # <domain>/<delivery stream>
    bucket: str
    key: str  # the object moto wrote
    envelope: dict[str, Any]
    aws_prefix: str  # where AWS would have written it

    @property
    def event_id(self) -> str | None:
        found = self.envelope.get("id")
        return found if isinstance(found, str) else None


def is_archive(tap: taps.Tap) -> bool:
    return tap.target.kind == "firehose" and tap.target.stream is not None


def record_of(names: Names, tap: taps.Tap, body: str) -> str:
    """The record EventBridge puts on the delivery stream for what the tap got: AWS's rendering of the target's
    input (the envelope) when moto delivered the whole event."""
    try:
        event = json.loads(body)
    except ValueError:
        return body
    if isinstance(event, dict) and "detail-type" in event:  # moto ignores InputPath
        return taps.predicted(names, tap.consumer, tap.target, event)
    return body


def forward(firehose: Any, names: Names, tap: taps.Tap, bodies: list[str]) -> int:
    """PutRecordBatch what a delivery stream's tap received; the number of records put."""
    assert tap.target.stream is not None
    domain, _, name = tap.target.stream.partition("/")
    records = [{"Data": record_of(names, tap, body).encode()} for body in bodies]
    for start in range(0, len(records), MAX_BATCH):
        answer = firehose.put_record_batch(
            DeliveryStreamName=names.delivery_stream(domain, name), Records=records[start : start + MAX_BATCH]
        )
        if answer.get("FailedPutCount"):
            raise RuntimeError(f"{tap.target.stream}: Firehose refused {answer['FailedPutCount']} records")
    return len(records)


def envelopes(data: bytes) -> list[Any]:
    """The JSON documents of one object: concatenated as moto writes them, or one per line as AWS does."""
    text, decoder, at = data.decode(), json.JSONDecoder(), 0
    found: list[Any] = []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return found
        document, at = decoder.raw_decode(text, at)
        found.append(document)


def archived(s3: Any, names: Names, catalog: Catalog) -> list[Archived]:
    """Every envelope under each delivery stream's prefix in its bucket."""
    found = []
    for domain in catalog.domains:
        for stream in domain.delivery_streams:
            bucket = names.bucket(domain.name, stream.bucket)
            for item in _objects(s3, bucket, stream.prefix):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                for envelope in envelopes(body):
                    if isinstance(envelope, dict):
                        where = _aws_prefix(stream, envelope, item["LastModified"])
                        found.append(Archived(stream.qualified_name, bucket, item["Key"], envelope, where))
    return found


def _objects(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item for page in pages for item in page.get("Contents", [])]
    except s3.exceptions.NoSuchBucket:
        return []  # its stack is not deployed


def _aws_prefix(stream: DeliveryStream, envelope: dict[str, Any], arrived: datetime) -> str:
    return stream.key_prefix(str(envelope.get("type")), arrived.year, arrived.month, arrived.day, arrived.hour)


@dataclass(frozen=True)
class Verdict:
    """One sent event against one delivery stream its rule targets feed."""

    sent: Sent  # the send itself: one example goes out on several channels (topic, bus, webhook, stream)
    stream: str
    found: Archived | None

    @property
    def receiver(self) -> Receiver:
        return Receiver(f"archive {self.stream}")

    @property
    def outcome(self) -> str:
        if self.found is None:
            return "NOT ARCHIVED"
        return f"archived: s3://{self.found.bucket}/{self.found.key} (AWS: {self.found.aws_prefix}...)"


def verdicts(catalog: Catalog, sent: list[Sent], found: list[Archived]) -> list[Verdict]:
    """Per sent bus event and each delivery stream a rule target of the catalog sends it to: the envelope with its
    id in that stream's bucket, or nothing."""
    archive_targets = {
        Receiver(c.qualified_name, t.name): t.stream
        for c in catalog.consumers
        for t in (c.route.targets if c.route else ())
        if t.kind == "firehose" and t.stream is not None
    }
    by_id = {(a.stream, a.event_id): a for a in found}
    result = []
    for item in sent:
        for receiver in sorted(item.targets & archive_targets.keys(), key=str):
            stream = archive_targets[receiver]
            assert stream is not None
            result.append(Verdict(item, stream, by_id.get((stream, item.event_id))))
    return result
