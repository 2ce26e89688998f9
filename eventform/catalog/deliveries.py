"""Firehose delivery streams a domain owns (``delivery_streams:``), and catalog streams named as targets and sources.

A delivery stream archives CloudEvents envelopes to a bucket of its domain, partitioned by event type (dynamic
partitioning, a JQ query on ``.type``) and date (``!{timestamp:...}``). Rule targets reach it by name
(``type: firehose, stream: <name>``), as they reach a catalog Kinesis stream (``type: kinesis, stream: <name>``);
a pipe reads a catalog Kinesis stream as ``source: {stream: <domain>/<stream>}``. eventform then sends the envelope
(``$.detail``), partitions Kinesis records by the stream's ``partition_key`` and scopes the target's role to that one
resource. The loader calls :func:`build_delivery_streams` and :func:`target_stream` while it builds a domain,
:func:`resolve` and :func:`check_catalog` once every domain is known.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from eventform.catalog.delivery_model import (
    MAX_BUFFER_INTERVAL,
    MAX_BUFFER_MIB,
    MAX_PREFIX,
    MIN_PARTITIONED_BUFFER_MIB,
    MIN_PARTITIONED_INTERVAL,
    DeliveryStream,
)
from eventform.catalog.model import Catalog, Consumer, Domain, Pipe, Stream, Target
from eventform.catalog.parsing import Collector, EntryReport, parse_duration

ENVELOPE_PATH = "$.detail"  # what a rule sends to a catalog stream: the CloudEvents envelope, as the publisher puts it
REFERENCE_KEYS = ("arn", "name", "partner", "environments", "cross_region")
SHAPING_KEYS = ("input_path", "input_transformer", "partition_key_path")
STREAM_KINDS = {"kinesis": "streams", "firehose": "delivery_streams"}  # target kind -> the section it names


# --------------------------------------------------------------------------------------------------------------
# One domain's delivery streams
# --------------------------------------------------------------------------------------------------------------
def build_delivery_streams(
    path: Path, document: Any, data: dict[str, Any], out: Collector
) -> tuple[DeliveryStream, ...]:
    built = []
    for name, spec in sorted(data.get("delivery_streams", {}).items()):
        report = EntryReport(path, document, out, ["delivery_streams", name])
        buffering = spec.get("buffering", {})
        size = buffering.get("size", MIN_PARTITIONED_BUFFER_MIB)
        interval = parse_duration(buffering.get("interval", DeliveryStream.buffer_interval))
        if not MIN_PARTITIONED_BUFFER_MIB <= size <= MAX_BUFFER_MIB:
            report.add(
                ["buffering", "size"],
                f"a buffer of {size} MiB is outside what Firehose takes with dynamic partitioning "
                f"({MIN_PARTITIONED_BUFFER_MIB}..{MAX_BUFFER_MIB} MiB; eventform partitions every delivery stream by "
                "event type)",
                f"use size: {MIN_PARTITIONED_BUFFER_MIB}..{MAX_BUFFER_MIB}",
            )
        if not MIN_PARTITIONED_INTERVAL <= interval <= MAX_BUFFER_INTERVAL:
            report.add(
                ["buffering", "interval"],
                f"a buffer interval of {interval}s is outside what Firehose takes with dynamic partitioning (1m..15m; "
                "no zero buffering)",
                "use interval: 1m..15m (e.g. 5m)",
            )
        bucket_domain, _, bucket = spec["bucket"].rpartition("/")
        if bucket_domain and bucket_domain != data["domain"]:
            report.add(
                ["bucket"],
                f"{spec['bucket']} belongs to the {bucket_domain} domain; a delivery stream writes to a bucket of its "
                "own domain (one stack holds the stream, its role and the bucket's key grant)",
                f"declare the bucket under buckets: of catalog/{data['domain']}.yaml and write bucket: {bucket}",
            )
        stream = DeliveryStream(
            domain=data["domain"],
            name=name,
            description=spec["description"],
            events=tuple(spec["events"]),
            bucket=bucket,
            prefix=spec.get("prefix", DeliveryStream.prefix),
            error_prefix=spec.get("error_prefix", DeliveryStream.error_prefix),
            partition=spec.get("partition", "day"),
            buffer_mib=size,
            buffer_interval=interval,
            compression=spec.get("compression", "GZIP"),
        )
        if stream.prefix.startswith(stream.error_prefix) or stream.error_prefix.startswith(stream.prefix):
            report.add(
                ["error_prefix"],
                f"error records under {stream.error_prefix!r} would mix with the archive under {stream.prefix!r} "
                "(queries and crawlers of the archive would read Firehose's error objects)",
                "use two prefixes neither of which starts the other, e.g. prefix: events/ and error_prefix: errors/",
            )
        for key, value in (("prefix", stream.s3_prefix), ("error_prefix", stream.s3_error_prefix)):
            if len(value) > MAX_PREFIX:
                report.add(
                    [key],
                    f"with eventform's partition expressions the {key} has {len(value)} characters; Firehose "
                    f"takes {MAX_PREFIX}",
                    f"shorten the {key}",
                )
        if report.count == 0:
            built.append(stream)
    return tuple(built)


def target_stream(spec: dict[str, Any], kind: str, location: str) -> tuple[str | None, list[Any]]:
    """A rule target's catalog stream as written (``stream:``, qualified by :func:`resolve`) and its problems."""
    written = spec.get("stream")
    if written is None:
        return None, []
    problems = []
    if kind not in STREAM_KINDS:
        problems.append(
            (
                f"{location}.stream",
                f"a {kind} target names no catalog stream",
                "name a catalog stream with type: kinesis (streams:) or type: firehose (delivery_streams:)",
            )
        )
    for key in REFERENCE_KEYS:
        if key in spec:
            problems.append(
                (
                    f"{location}.{key}",
                    f"stream: names a catalog {'delivery stream' if kind == 'firehose' else 'stream'}; {key} names "
                    "one outside the catalog",
                    f"keep stream: (eventform resolves it in each environment) or remove it and keep {key}",
                )
            )
    for key in SHAPING_KEYS:
        if key in spec:
            problems.append(
                (
                    f"{location}.{key}",
                    f"a catalog stream takes the CloudEvents envelope ({ENVELOPE_PATH}), partitioned as the stream "
                    f"declares; {key} would change what its readers and partitions get",
                    f"remove {key} (or target a stream outside the catalog with name: / arn:)",
                )
            )
    return written, problems


# --------------------------------------------------------------------------------------------------------------
# Once every domain is known
# --------------------------------------------------------------------------------------------------------------
def delivery_streams_of(catalog: Catalog) -> dict[str, DeliveryStream]:
    return {s.qualified_name: s for d in catalog.domains for s in d.delivery_streams}


def kinesis_streams_of(catalog: Catalog) -> dict[str, Stream]:
    return {s.qualified_name: s for d in catalog.domains for s in d.streams}


def is_catalog_stream(reference: str) -> bool:
    """A pipe's ``source.stream`` naming a catalog stream (``<domain>/<stream>``; AWS stream names hold no '/')."""
    return "/" in reference and not reference.startswith("arn:")


def resolve(catalog: Catalog) -> Catalog:
    """Targets naming a catalog stream send the envelope, partitioned by the stream's key; a pipe reading a catalog
    stream without ``events:`` carries the stream's events. Stated once in the catalog, derived here."""
    kinesis = kinesis_streams_of(catalog)
    domains = []
    for domain in catalog.domains:
        consumers = []
        for consumer in domain.consumers:
            if consumer.route is not None and any(t.stream for t in consumer.route.targets):
                targets = tuple(_resolved_target(t, domain.name, kinesis) for t in consumer.route.targets)
                consumer = replace(consumer, route=replace(consumer.route, targets=targets))
            consumers.append(consumer)
        pipes = []
        for pipe in domain.pipes:
            source = pipe.source
            if source.kind == "stream" and is_catalog_stream(source.reference) and not source.events:
                stream = kinesis.get(source.reference)
                if stream is not None:
                    pipe = replace(pipe, source=replace(source, events=stream.events))
            pipes.append(pipe)
        domains.append(replace(domain, consumers=tuple(consumers), pipes=tuple(pipes)))
    return replace(catalog, domains=tuple(domains))


def _resolved_target(target: Target, domain: str, kinesis: dict[str, Stream]) -> Target:
    if target.stream is None:
        return target
    stream_domain, _, name = target.stream.rpartition("/")
    qualified = f"{stream_domain or domain}/{name}"
    key = kinesis[qualified].partition_key if target.kind == "kinesis" and qualified in kinesis else None
    return replace(
        target,
        stream=qualified,
        input_path=ENVELOPE_PATH,
        partition_key_path=f"$.detail.data.{key}" if key else None,
    )


def check_catalog(catalog: Catalog, documents: dict[Path, Any], out: Collector) -> None:
    known = {e.qualified_name for e in catalog.events}
    for domain in catalog.domains:
        document = documents[domain.path]
        for stream in domain.delivery_streams:
            report = EntryReport(domain.path, document, out, ["delivery_streams", stream.name])
            _check_delivery_stream(domain, stream, known, report)
        for consumer in domain.consumers:
            for target in consumer.route.targets if consumer.route else ():
                if target.stream is not None:
                    where = ["consumers", consumer.name, "targets", target.name]
                    report = EntryReport(domain.path, document, out, where)
                    _check_target(catalog, consumer, target, report)
        for pipe in domain.pipes:
            if pipe.source.kind == "stream" and is_catalog_stream(pipe.source.reference):
                report = EntryReport(domain.path, document, out, ["pipes", pipe.name, "source"])
                _check_pipe_source(catalog, pipe, report)


def _check_delivery_stream(domain: Domain, stream: DeliveryStream, known: set[str], report: EntryReport) -> None:
    for index, qualified in enumerate(stream.events):
        if qualified not in known:
            report.add(["events", index], f"unknown event {qualified!r}", "list catalog events (<domain>/<event>)")
    if stream.bucket not in {b.name for b in domain.buckets}:
        report.add(
            ["bucket"],
            f"unknown bucket {stream.bucket!r}",
            f"declare it under buckets: of catalog/{domain.name}.yaml, or use one of: "
            f"{', '.join(sorted(b.name for b in domain.buckets)) or 'none yet'}",
        )


def _check_target(catalog: Catalog, consumer: Consumer, target: Target, report: EntryReport) -> None:
    assert target.stream is not None
    section = STREAM_KINDS[target.kind]
    streams: dict[str, Any] = delivery_streams_of(catalog) if target.kind == "firehose" else kinesis_streams_of(catalog)
    stream = streams.get(target.stream)
    if stream is None:
        what = "delivery stream" if target.kind == "firehose" else "stream"
        report.add(
            ["stream"],
            f"unknown {what} {target.stream!r}",
            f"declare it under `{section}:` of catalog/{target.stream.split('/', 1)[0]}.yaml, or use one of: "
            f"{', '.join(sorted(streams)) or 'none yet'}",
        )
        return
    for qualified in consumer.events:
        if qualified not in stream.events:
            report.add(
                ["stream"],
                f"{qualified} does not travel on {stream.qualified_name} (its events: {', '.join(stream.events)})",
                f"add {qualified} to events: of {stream.qualified_name}, or take fewer events in this consumer",
            )


def _check_pipe_source(catalog: Catalog, pipe: Pipe, report: EntryReport) -> None:
    streams = kinesis_streams_of(catalog)
    stream = streams.get(pipe.source.reference)
    if stream is None:
        report.add(
            ["stream"],
            f"unknown stream {pipe.source.reference!r}",
            f"declare it under `streams:` of catalog/{pipe.source.reference.split('/', 1)[0]}.yaml, or use one of: "
            f"{', '.join(sorted(streams)) or 'none yet'} (a stream outside the catalog: its name or ARN, no '/')",
        )
        return
    for index, qualified in enumerate(pipe.source.events):
        if qualified not in stream.events:
            report.add(
                ["events", index],
                f"{qualified} does not travel on {stream.qualified_name}",
                f"take events of the stream: {', '.join(stream.events)} (or leave events: out: all of them)",
            )


def feeders(catalog: Catalog, qualified: str, kind: str = "firehose") -> tuple[tuple[Consumer, Target], ...]:
    """The rule targets (consumer, target) that send to one catalog stream or delivery stream."""
    return tuple(
        (consumer, target)
        for consumer in catalog.consumers
        for target in (consumer.route.targets if consumer.route else ())
        if target.kind == kind and target.stream == qualified
    )


def archives_of(catalog: Catalog, qualified_event: str) -> tuple[DeliveryStream, ...]:
    """The delivery streams that carry an event (what the docs and lint list among its receivers)."""
    return tuple(s for d in catalog.domains for s in d.delivery_streams if qualified_event in s.events)
