"""Kinesis data streams a domain owns (``streams:``) and the Lambda consumers that read them (``stream:``).

A stream's records are CloudEvents envelopes (the publisher puts them, partitioned by the payload field the stream
declares). A consumer with ``stream:`` gets no queue and no subscription: Lambda's event source mapping reads the
stream, drops records of other events with a generated filter on ``data.source``/``data.type`` (beside the
consumer's own filters), retries a failing batch, bisects it, and finally sends the failure record to the
consumer's DLQ. The loader calls :func:`build_streams` and :func:`build_source` while it builds a domain,
:func:`resolve` and :func:`check_catalog` once every domain is known.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from eventform.catalog import patterns, table_streams
from eventform.catalog.buckets import merge_pattern
from eventform.catalog.events import _schema_has_path
from eventform.catalog.model import Catalog, Consumer, Domain, Stream, StreamRetries, StreamSource
from eventform.catalog.parsing import Collector, EntryReport, line_of, parse_duration
from eventform.catalog.stream_model import (
    MAX_PARALLELIZATION,
    MAX_RECORD_AGE,
    MAX_RETENTION_HOURS,
    MAX_STREAM_BATCH,
    MAX_STREAM_FILTERS,
    MAX_STREAM_RETRIES,
    MAX_STREAM_WINDOW,
    MIN_RECORD_AGE,
    MIN_RETENTION_HOURS,
)

# Keys of a consumer that belong to queues, topics and buses: a stream consumer has none of them.
NOT_FOR_STREAMS = ("filter", "filter_scope", "via", "pattern", "targets", "delivery", "push", "queue", "environments")
# Function settings of a queue's event source mapping; a stream consumer sets them under stream:.
QUEUE_MAPPING_SETTINGS = {"batch_size": "batch.size", "batching_window": "batch.window", "max_concurrency": None}
# Lambda filters Kinesis records on ``data`` only (the decoded JSON); the generated filter sets these envelope fields.
RECORD_FIELD = "data"
GENERATED = ("source", "type")
# A table consumer's filters test the item (``dynamodb``: Keys, NewImage, OldImage); eventform sets ``eventName``.
CHANGE_FIELD = "dynamodb"
GENERATED_CHANGE = "eventName"
# EventBridge operators Lambda's event filtering does not document (its filter rule syntax): refused, not guessed.
UNSUPPORTED_OPERATORS = ("wildcard", "cidr", "$or")


# --------------------------------------------------------------------------------------------------------------
# One domain's streams, one consumer's source
# --------------------------------------------------------------------------------------------------------------
def build_streams(path: Path, document: Any, data: dict[str, Any], out: Collector) -> tuple[Stream, ...]:
    streams = []
    for name, spec in sorted(data.get("streams", {}).items()):
        report = EntryReport(path, document, out, ["streams", name])
        mode = spec.get("mode", "on_demand")
        if mode == "provisioned" and "shards" not in spec:
            report.add(
                ["mode"], "a provisioned stream needs its shard count", "add shards: <1..200>, or mode: on_demand"
            )
        if mode == "on_demand" and "shards" in spec:
            report.add(
                ["shards"],
                "an on-demand stream has no fixed shard count (Kinesis scales it)",
                "remove shards:, or set mode: provisioned",
            )
        hours = parse_duration(spec.get("retention", MIN_RETENTION_HOURS * 3600)) / 3600
        if not (MIN_RETENTION_HOURS <= hours <= MAX_RETENTION_HOURS) or hours != int(hours):
            report.add(
                ["retention"],
                f"a retention of {spec.get('retention')} is outside what Kinesis keeps (whole hours, 24h..365d)",
                "use a value between 24h and 365d in whole hours, e.g. retention: 7d",
            )
        if report.count:
            continue
        streams.append(
            Stream(
                domain=data["domain"],
                name=name,
                description=spec["description"],
                events=tuple(spec["events"]),
                partition_key=spec["partition_key"],
                mode=mode,
                shards=spec.get("shards"),
                retention_hours=int(hours),
            )
        )
    return tuple(streams)


def build_source(
    path: Path, document: Any, domain: str, name: str, spec: dict[str, Any], out: Collector
) -> StreamSource | None:
    """The consumer's stream source (``stream:`` a catalog Kinesis stream, its events resolved later by
    :func:`resolve`; ``table:`` the DynamoDB stream of a catalog table), or None."""
    kind = "stream" if "stream" in spec else "table" if "table" in spec else None
    if kind is None:
        return None
    source = spec[kind]
    report = EntryReport(path, document, out, ["consumers", name])
    for key in NOT_FOR_STREAMS:
        if key in spec:
            report.add(
                [key],
                f"{key} belongs to queues, topics and buses; Lambda reads a stream consumer's records itself",
                f"remove {key} (filter the records with {kind}.filter; batches and retries are under {kind}:)",
            )
    if spec.get("handler") is None:
        report.add(
            [kind],
            "a stream consumer needs a handler: Lambda's event source mapping invokes it with the records",
            "add handler: <package under handlers/>",
        )
    for setting, instead in QUEUE_MAPPING_SETTINGS.items():
        if setting in spec.get("function", {}):
            report.add(
                ["function", setting],
                f"function.{setting} configures a queue's event source mapping",
                f"set {kind}.{instead} instead" if instead else "remove it (a stream is bounded by its shards)",
            )
    batch = source.get("batch", {})
    size = batch.get("size", 100)
    window = parse_duration(batch.get("window", 0))
    parallelization = source.get("parallelization", 1)
    retry = source.get("retry", {})
    retries = StreamRetries(
        max_attempts=retry.get("max_attempts", StreamRetries.max_attempts),
        max_age=parse_duration(retry.get("max_age", StreamRetries.max_age)),
        bisect_on_error=retry.get("bisect_on_error", True),
    )
    bounds = (
        ([kind, "batch", "size"], size, 1, MAX_STREAM_BATCH, f"a batch of {size} records", "1..10000"),
        ([kind, "batch", "window"], window, 0, MAX_STREAM_WINDOW, f"a batching window of {window}s", "0s..5m"),
        ([kind, "parallelization"], parallelization, 1, MAX_PARALLELIZATION, "that parallelization", "1..10"),
        (
            [kind, "retry", "max_attempts"],
            retries.max_attempts,
            0,
            MAX_STREAM_RETRIES,
            f"{retries.max_attempts} retries",
            "0..10000 (a stream never retries forever here: a poison record would stop its shard)",
        ),
        ([kind, "retry", "max_age"], retries.max_age, MIN_RECORD_AGE, MAX_RECORD_AGE, "that record age", "1m..7d"),
    )
    for keys, value, low, high, what, allowed in bounds:
        if not low <= value <= high:
            report.add(keys, f"{what} is outside what Lambda accepts for a stream ({allowed})", f"use {allowed}")
    filters = _filters(source.get("filter"), report, kind)
    if report.count:
        return None
    settings = {
        "starting_position": source.get("starting_position", "LATEST"),
        "batch_size": size,
        "batching_window": window,
        "parallelization": parallelization,
        "retries": retries,
        "filters": filters,
    }
    if kind == "table":
        changes = tuple(sorted((change, f"{domain}/{event}") for change, event in source["events"].items()))
        events = tuple(sorted({event for _, event in changes}))
        return StreamSource(domain, source["name"], events, kind="table", changes=changes, **settings)
    stream_domain, _, stream = source["name"].rpartition("/")
    return StreamSource(
        domain=stream_domain or domain,
        stream=stream,
        events=tuple(source.get("events", ())),
        starting_position=source.get("starting_position", "LATEST"),
        batch_size=size,
        batching_window=window,
        parallelization=parallelization,
        retries=retries,
        filters=filters,
    )


def _filters(spec: Any, report: EntryReport, kind: str) -> tuple[dict[str, Any], ...]:
    if spec is None:
        return ()
    listed = isinstance(spec, list)
    filters = list(spec) if listed else [spec]
    record_field = RECORD_FIELD if kind == "stream" else CHANGE_FIELD
    for index, pattern in enumerate(filters):
        keys: list[Any] = [kind, "filter", index] if listed else [kind, "filter"]
        location = ".".join(str(k) for k in [*report.where, *keys])
        problems = patterns.syntax_problems(pattern, location, top=False)
        for where, message, fix in problems:
            report.out.add(report.path, where, message, fix, line_of(report.document, [*report.where, *keys]))
            report.count += 1
        for name in sorted(set(pattern) - {record_field}):
            if kind == "table" and name == GENERATED_CHANGE:
                report.add(
                    [*keys, name],
                    "Lambda filters DynamoDB records on dynamodb only; eventName cannot be filtered",
                    "map only the changes you want under table.events: the runtime acknowledges the others without "
                    "running the handler",
                )
            elif kind == "table":
                report.add(
                    [*keys, name],
                    f"Lambda filters DynamoDB records on dynamodb only; {name!r} cannot be filtered",
                    "start at dynamodb: (Keys, NewImage, OldImage in DynamoDB's typed JSON, e.g. "
                    "{dynamodb: {NewImage: {status: {S: [shipped]}}}})",
                )
            else:
                report.add(
                    [*keys, name],
                    f"Lambda filters Kinesis records on data only; {name!r} cannot be filtered",
                    "start at data: (the CloudEvents envelope; the payload is under data.data)",
                )
        for operator in sorted(_operators(pattern) & set(UNSUPPORTED_OPERATORS)):
            report.add(
                keys,
                f"{operator} is not in Lambda's filter rule syntax (EventBridge's pattern language has more)",
                "use exact values, prefix, suffix, anything-but, numeric, exists or equals-ignore-case; "
                "alternatives are separate filters (a list)",
            )
        data = pattern.get(RECORD_FIELD) if kind == "stream" else None
        for field in GENERATED:
            if isinstance(data, dict) and field in data:
                report.add(
                    [*keys, RECORD_FIELD, field],
                    f"data.{field} is generated from the events the consumer takes",
                    "name the events under stream.events instead",
                )
    return tuple(filters)


def _operators(node: Any) -> set[str]:
    """Every key used anywhere in a pattern (operators are keys of objects inside value lists)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            found |= _operators(value)
    elif isinstance(node, list):
        for item in node:
            found |= _operators(item)
    return found


# --------------------------------------------------------------------------------------------------------------
# Once every domain is known
# --------------------------------------------------------------------------------------------------------------
def streams_of(catalog: Catalog) -> dict[str, Stream]:
    return {s.qualified_name: s for d in catalog.domains for s in d.streams}


def resolve(catalog: Catalog) -> Catalog:
    """A stream consumer without ``stream.events`` takes every event of its stream: stated once, derived here."""
    streams = streams_of(catalog)
    domains = []
    for domain in catalog.domains:
        consumers = []
        for consumer in domain.consumers:
            source = consumer.stream
            if source is not None and not source.events and source.qualified_stream in streams:
                source = replace(source, events=streams[source.qualified_stream].events)
                consumer = replace(consumer, stream=source)
            consumers.append(consumer)
        domains.append(replace(domain, consumers=tuple(consumers)))
    return replace(catalog, domains=tuple(domains))


def check_catalog(catalog: Catalog, documents: dict[Path, Any], out: Collector) -> None:
    streams = streams_of(catalog)
    known = {e.qualified_name for e in catalog.events}
    for domain in catalog.domains:
        document = documents[domain.path]
        for stream in domain.streams:
            report = EntryReport(domain.path, document, out, ["streams", stream.name])
            _check_stream(catalog, domain, stream, known, report)
        for consumer in domain.consumers:
            if consumer.stream is not None:
                key = "stream" if consumer.stream.kind == "kinesis" else "table"
                report = EntryReport(domain.path, document, out, ["consumers", consumer.name, key])
                if consumer.stream.kind == "table":
                    table_streams.check_consumer(catalog, consumer, report)
                    if report.count == 0:
                        _check_filters(catalog, consumer, report)
                else:
                    _check_consumer(catalog, consumer, streams, known, report)


def _check_stream(catalog: Catalog, domain: Domain, stream: Stream, known: set[str], report: EntryReport) -> None:
    for index, qualified in enumerate(stream.events):
        if qualified not in known:
            report.add(["events", index], f"unknown event {qualified!r}", "list catalog events (<domain>/<event>)")
            continue
        event = catalog.event(qualified)
        missing = [v.number for v in event.versions if not _schema_has_path(v.schema, stream.partition_key)]
        if missing:
            report.add(
                ["partition_key"],
                f"{qualified} v{missing[0]} has no payload field {stream.partition_key!r} to partition by",
                "name a field every version of every event on the stream has (records of one aggregate then stay "
                "in order on one shard)",
            )


def _check_consumer(
    catalog: Catalog, consumer: Consumer, streams: dict[str, Stream], known: set[str], report: EntryReport
) -> None:
    source = consumer.stream
    assert source is not None
    stream = streams.get(source.qualified_stream)
    if stream is None:
        report.add(
            ["name"],
            f"unknown stream {source.qualified_stream!r}",
            f"declare it under `streams:` of catalog/{source.domain}.yaml, or use one of: "
            f"{', '.join(sorted(streams)) or 'none yet'}",
        )
        return
    extra = [q for q in source.events if q not in stream.events]
    for qualified in extra:
        report.add(
            ["events", source.events.index(qualified)],
            f"{qualified} does not travel on {stream.qualified_name}",
            f"take events of the stream: {', '.join(stream.events)}",
        )
    if extra or report.count or not set(source.events) <= known:  # an unknown event is the stream's problem
        return
    _check_filters(catalog, consumer, report)


def _check_filters(catalog: Catalog, consumer: Consumer, report: EntryReport) -> None:
    """The mapping's filters: at most 5 with the generated ones, fields that exist, some example passes."""
    source = consumer.stream
    assert source is not None
    try:
        generated = mapping_filters(catalog, source)
    except ValueError as clash:
        report.add(["filter"], str(clash), "name the events under stream.events instead")
        return
    if len(generated) > MAX_STREAM_FILTERS:
        report.add(
            ["filter"],
            f"{len(generated)} filters (one per source domain of its events, times its own filters): an event "
            f"source mapping takes at most {MAX_STREAM_FILTERS}",
            "take fewer domains' events, or fewer filters",
        )
        return
    if source.kind == "kinesis":
        _check_filter_fields(catalog, source, report)
    if report.count or consumer.rare or not source.filters:
        return
    if not any(delivered for _, _, delivered in example_matrix(catalog, source)):
        report.add(
            ["filter"],
            "the filter matches none of the catalog examples of the stream's events: the handler may never run",
            "fix the filter, add an example it should match, or mark the consumer rare: true",
        )


def _check_filter_fields(catalog: Catalog, source: StreamSource, report: EntryReport) -> None:
    events = [catalog.event(q) for q in source.events]
    listed = len(source.filters) > 1
    for index, pattern in enumerate(source.filters):
        keys: list[Any] = ["filter", index] if listed else ["filter"]
        for steps, values in _leaves(pattern.get(RECORD_FIELD, {}), []):
            if values == [{"exists": False}]:
                continue
            problems = [patterns.detail_field_problem(list(steps), e.latest.schema) for e in events]
            if all(problems):
                report.add(
                    keys,
                    f"data.{'.'.join(steps)}: {str(problems[0]).replace('detail.data', 'data.data')} (in none of "
                    f"{', '.join(e.qualified_name for e in events)})",
                    "data is the CloudEvents envelope: payload fields are under data.data, envelope fields beside it",
                )


def _leaves(node: Any, prefix: list[str]) -> Iterator[tuple[list[str], Any]]:
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _leaves(value, [*prefix, key])
        else:
            yield [*prefix, key], value


def mapping_filters(catalog: Catalog, source: StreamSource) -> tuple[dict[str, Any], ...]:
    """The event source mapping's filters: per source domain of the consumer's events, its ``source`` and those
    events' ``type`` on the envelope, combined with each of the consumer's own filters (OR-ed by Lambda). Raises
    ValueError when a consumer filter sets a generated field."""
    by_domain: dict[str, list[str]] = {}
    for qualified in source.events:
        domain, name = qualified.split("/", 1)
        by_domain.setdefault(domain, []).append(name)
    generated = [
        {RECORD_FIELD: {"source": [catalog.domain(d).source], "type": sorted(names)}}
        for d, names in sorted(by_domain.items())
    ]
    if source.kind == "table":  # Lambda filters DynamoDB records on dynamodb only: the runtime skips unmapped changes
        return source.filters
    if not source.filters:
        return tuple(generated)
    combined = []
    for base in generated:
        for own in source.filters:
            try:
                combined.append(merge_pattern(base, own))
            except ValueError as field:
                raise ValueError(f"{field} is generated from the events the consumer takes") from None
    return tuple(combined)


def example_records(catalog: Catalog, source: StreamSource) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(event, example index, record) for every example of the consumer's events, as Lambda's filter sees a
    Kinesis record: ``data`` decoded into the envelope."""
    if source.kind == "table":
        yield from table_streams.example_records(catalog, source)
        return
    for qualified in source.events:
        event = catalog.event(qualified)
        domain_source = catalog.domain(event.domain).source
        for index, example in enumerate(event.latest.examples):
            envelope = patterns.envelope(domain_source, event.name, example, version=event.latest.number)["detail"]
            yield qualified, index, {RECORD_FIELD: envelope}


def example_matrix(catalog: Catalog, source: StreamSource) -> list[tuple[str, int, bool]]:
    """(event, example index, passes the consumer's own filters?) per example of its events."""
    return [
        (qualified, index, not source.filters or any(patterns.matches(f, record) for f in source.filters))
        for qualified, index, record in example_records(catalog, source)
    ]


def receivers(catalog: Catalog, stream: str, envelope: dict[str, Any]) -> set[str]:
    """The consumers (qualified) whose event source mapping on ``stream`` (``<domain>/<stream>``) passes a record
    carrying ``envelope``: the routing contract of a stream, from the catalog alone."""
    record = {RECORD_FIELD: envelope}
    return {
        c.qualified_name
        for c in catalog.consumers
        if c.stream is not None
        and c.stream.qualified_stream == stream
        and any(patterns.matches(f, record) for f in mapping_filters(catalog, c.stream))
    }


def table_receivers(catalog: Catalog, table: str, change: str, item: dict[str, Any]) -> set[str]:
    """The consumers (qualified) that handle ``change`` of ``item`` in ``table`` (``<domain>/<consumer>/<table>``):
    they map that change to an event, and their mapping's filters pass its record."""
    record = table_streams.change_record(change, item)
    return {
        c.qualified_name
        for c in catalog.consumers
        if c.stream is not None
        and c.stream.kind == "table"
        and c.stream.qualified_stream == table
        and change in dict(c.stream.changes)
        and (not c.stream.filters or any(patterns.matches(f, record) for f in c.stream.filters))
    }
