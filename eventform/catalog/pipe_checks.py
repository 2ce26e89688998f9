"""Pipes checked against the whole catalog once every domain is loaded: sources, enrichments, filters against the
catalog's examples (as the pipe sees them: an SQS record whose ``body`` is the envelope, a Kinesis record whose
``data`` is) and names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eventform.catalog import patterns
from eventform.catalog.model import (
    PLATFORM_HANDLERS,
    Catalog,
    Consumer,
    Domain,
    Environment,
    Pipe,
    PipeSource,
)
from eventform.catalog.naming import Names
from eventform.catalog.parsing import Collector, EntryReport
from eventform.catalog.pipes import FIFO_MAX_BATCH, PAYLOAD_FIELD, STREAM_ARN


# --------------------------------------------------------------------------------------------------------------
# Cross-domain checks, once every domain is loaded
# --------------------------------------------------------------------------------------------------------------
def enrichment_handlers(catalog: Catalog) -> set[str]:
    """Handler packages that pipes use as enrichments (so the loader does not call them orphans)."""
    return {p.enrichment.handler for d in catalog.domains for p in d.pipes if p.enrichment is not None}


def source_consumer(domain: Domain, pipe: Pipe) -> Consumer | None:
    return next((c for c in domain.consumers if c.name == pipe.source.consumer), None)


def carried_events(catalog: Catalog, pipe: Pipe) -> tuple[str, ...]:
    """The catalog events whose envelopes the pipe's records carry: its queue consumer's, or its stream's."""
    if pipe.source.kind == "queue":
        consumer = source_consumer(catalog.domain(pipe.domain), pipe)
        return consumer.events if consumer is not None else ()
    return pipe.source.events


def stream_arn(names: Names, source: PipeSource) -> str:
    """A stream named in the catalog lives in the environment's own account and region (Pipes reads no other); a
    catalog stream (``<domain>/<stream>``) has eventform's name there."""
    if source.reference.startswith("arn:"):
        return source.reference
    domain, _, stream = source.reference.rpartition("/")
    return names.stream_arn(names.catalog_stream(domain, stream) if domain else source.reference)


def check_catalog(
    catalog: Catalog, documents: dict[Path, Any], environments: tuple[Environment, ...], out: Collector
) -> None:
    folder = catalog.root.parent / "handlers"
    available = {p.parent.name for p in folder.glob("*/handler.py")} if folder.is_dir() else set()
    known_events = {e.qualified_name for e in catalog.events}
    for domain in catalog.domains:
        drained: dict[str, str] = {}
        for pipe in domain.pipes:
            report = EntryReport(domain.path, documents[domain.path], out, ["pipes", pipe.name])
            _check_source(catalog, domain, pipe, environments, known_events, drained, report)
            if pipe.enrichment is not None:
                _check_enrichment(catalog, domain, pipe, environments, available, report)
            if report.count == 0:
                _check_filters(catalog, pipe, report)
    _check_names(catalog, environments, documents, out)


def _check_source(
    catalog: Catalog,
    domain: Domain,
    pipe: Pipe,
    environments: tuple[Environment, ...],
    known_events: set[str],
    drained: dict[str, str],
    report: EntryReport,
) -> None:
    source = pipe.source
    if source.kind == "stream":
        for index, qualified in enumerate(source.events):
            if qualified not in known_events:
                report.add(
                    ["source", "events", index],
                    f"unknown event {qualified!r}",
                    "list catalog events (<domain>/<event>) the stream's records carry",
                )
        match = STREAM_ARN.match(source.reference)
        for environment in environments if match else ():
            assert match is not None
            if (match.group(1), match.group(2)) != (environment.region, environment.account_id):
                report.add(
                    ["source", "stream"],
                    f"a pipe reads streams of its own account and region only; this stream is in "
                    f"{match.group(2)}/{match.group(1)}, environment {environment.name} in "
                    f"{environment.account_id}/{environment.region}",
                    "write the stream's name instead (resolved in each environment's account and region)",
                )
                break
        return
    consumer = source_consumer(domain, pipe)
    key = "queue" if source.kind == "queue" else "table"
    if consumer is None:
        candidates = [c.name for c in domain.consumers if (c.handler is None) == (source.kind == "queue")]
        report.add(
            ["source", key],
            f"{domain.name} has no consumer {source.consumer!r}",
            f"name a consumer of this domain ({', '.join(candidates) or 'none fits yet'})",
        )
        return
    if source.kind == "table":
        if source.table not in consumer.function.tables:
            report.add(
                ["source", "table"],
                f"consumer {consumer.name} has no table {source.table!r}",
                f"use one of its function.tables ({', '.join(consumer.function.tables) or 'none'}) as "
                f"{consumer.name}/<table>",
            )
        return
    if consumer.handler is not None:
        report.add(
            ["source", "queue"],
            f"consumer {consumer.name} runs handler {consumer.handler} on its queue: the pipe and the handler's "
            "event source mapping would compete for the same messages",
            "drain a consumer without handler: (add one that consumes the same events), or drop the pipe",
        )
        return
    if consumer.delivery == "push" or (consumer.route is not None and not consumer.route.has_queue):
        report.add(
            ["source", "queue"],
            f"consumer {consumer.name} has no queue (its events are pushed)",
            "name a consumer with a queue (delivery: queue, or a bus consumer with a queue target)",
        )
        return
    if consumer.name in drained:
        report.add(
            ["source", "queue"],
            f"pipe {drained[consumer.name]} already drains {consumer.name}'s queue: two pipes would split its "
            "messages between them",
            "give each pipe its own consumer (consumers of the same events get their own queues)",
        )
    drained[consumer.name] = pipe.name
    if consumer.fifo and source.batch_size > FIFO_MAX_BATCH:
        report.add(
            ["source", "batch", "size"],
            f"batch size {source.batch_size} is more than a FIFO queue delivers ({FIFO_MAX_BATCH})",
            f"use batch.size <= {FIFO_MAX_BATCH}",
        )
    if not consumer.fifo and source.batch_size > 10 and source.batching_window < 1:
        report.add(
            ["source", "batch", "window"],
            f"an SQS batch of more than 10 messages ({source.batch_size}) needs a batching window",
            "set batch.window: 1s or more, or batch.size: 10 or less",
        )
    if consumer.fifo and source.batching_window:
        report.add(
            ["source", "batch", "window"],
            "a FIFO queue source takes no batching window",
            "remove batch.window (FIFO batches are delivered as soon as they are read, in order)",
        )


def _check_enrichment(
    catalog: Catalog,
    domain: Domain,
    pipe: Pipe,
    environments: tuple[Environment, ...],
    available: set[str],
    report: EntryReport,
) -> None:

    enrichment = pipe.enrichment
    assert enrichment is not None
    if enrichment.handler not in available:
        report.add(
            ["enrichment", "handler"],
            f"handler {enrichment.handler!r} does not exist (no handlers/{enrichment.handler}/handler.py)",
            "create it (an Enricher from eventform/runtime/enrichment.py, see handlers/settlement_fees) "
            f"or use one of: "
            f"{', '.join(sorted(available - PLATFORM_HANDLERS)) or 'none yet'}",
        )
    if pipe.source.kind != "queue" and not pipe.source.events:  # (a queue carries its consumer's events)
        report.add(
            ["enrichment"],
            "an enrichment handler validates the catalog events it enriches, but this source carries none",
            "list the events of the stream under source.events, or remove the enrichment",
        )
    consumer = source_consumer(domain, pipe) if pipe.source.kind == "queue" else None
    minimum = enrichment.function.minimum_visibility
    for environment in environments if consumer is not None else ():
        assert consumer is not None
        visibility = consumer.queue_for(environment).visibility_timeout
        if visibility < minimum:
            report.add(
                ["enrichment", "function", "timeout"],
                f"queue {consumer.name}'s visibility timeout {visibility}s is below 6x the enrichment's timeout "
                f"({minimum}s) in {environment.name}: a slow batch would be received twice",
                f"raise consumers.{consumer.name}.queue.visibility_timeout to at least {minimum}s, or lower the "
                "enrichment's timeout",
            )
            return


def _check_filters(catalog: Catalog, pipe: Pipe, report: EntryReport) -> None:
    """Payload fields against the events' schemas, then the filters against the catalog's examples."""
    events = [catalog.event(q) for q in carried_events(catalog, pipe)]
    if not pipe.filters or not events:
        return
    consumer = source_consumer(catalog.domain(pipe.domain), pipe) if pipe.source.kind == "queue" else None
    on_bus = consumer is not None and consumer.route is not None  # the body is then the EventBridge event
    payload = PAYLOAD_FIELD[pipe.source.kind]
    listed = len(pipe.filters) > 1
    for index, pattern in enumerate(pipe.filters):
        keys: list[Any] = ["filter", index] if listed else ["filter"]
        for dotted, values in _payload_paths(pattern, payload):
            if values == [{"exists": False}]:
                continue
            problems = [_path_problem(dotted, event.latest.schema, on_bus, payload) for event in events]
            if all(problems):  # a source may carry several events: the payload must exist in one of them
                carried = ", ".join(f"{e.qualified_name} v{e.latest.number}" for e in events)
                report.add(
                    keys,
                    f"{problems[0]} (in none of {carried})",
                    f"{payload} is the "
                    + (
                        "EventBridge event: payload fields are under detail.data"
                        if on_bus
                        else "CloudEvents envelope: payload fields are under data"
                    )
                    + ", envelope fields (type, source, dataversion...) beside it",
                )
    if report.count or pipe.rare:
        return
    if not any(delivered for _, _, delivered in example_matrix(catalog, pipe)):
        report.add(
            ["filter"],
            "the filter matches none of the catalog examples its source carries: the pipe may never run",
            "fix the filter, add an example it should match, or mark the pipe rare: true",
        )


def _path_problem(dotted: str, schema: dict[str, Any], on_bus: bool, payload: str) -> str | None:
    if on_bus:
        return patterns.envelope_path_problem("$." + dotted, schema)
    problem = patterns.detail_field_problem(list(dotted.split(".")), schema)
    return None if problem is None else f"{payload}.{dotted}: {problem.replace('detail.data', payload + '.data')}"


def _payload_paths(pattern: dict[str, Any], payload: str) -> Iterator[tuple[str, Any]]:
    """Dotted paths below ``payload`` (body or data) that the filter tests, with their value lists."""
    for key, value in pattern.items():
        if key == "$or":
            for alternative in value:
                yield from _payload_paths(alternative, payload)
        elif key == payload and isinstance(value, dict):
            yield from _leaves(value, "")


def _leaves(node: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        if key == "$or":
            for alternative in value:
                yield from _leaves(alternative, prefix)
        elif isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


# --------------------------------------------------------------------------------------------------------------
# Records as the pipe sees them, and the filters against the catalog's examples (EventBridge's matching)
# --------------------------------------------------------------------------------------------------------------
def example_records(catalog: Catalog, pipe: Pipe) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(event, example index, record) for every catalog example the pipe's source carries, shaped as Pipes filters
    it: an SQS record with the body (and SNS's message attributes) parsed, or a Kinesis record with data decoded."""
    from eventform.runtime.publisher import Publisher
    from eventform.runtime.records import sqs_event

    consumer = source_consumer(catalog.domain(pipe.domain), pipe) if pipe.source.kind == "queue" else None
    publisher = Publisher(catalog, "lint")
    for qualified in carried_events(catalog, pipe):
        event = catalog.event(qualified)
        source = catalog.domain(event.domain).source
        for index, example in enumerate(event.latest.examples):
            bus_event = patterns.envelope(source, event.name, example, version=event.latest.number)
            envelope = bus_event["detail"]
            if pipe.source.kind == "stream":
                record = {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": envelope["id"],
                    "sequenceNumber": str(index),
                    "data": envelope,
                    "approximateArrivalTimestamp": 1735689600.0,
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": f"shardId-000000000000:{index}",
                    "eventName": "aws:kinesis:record",
                    "awsRegion": "eu-west-1",
                }
            else:
                on_bus = consumer is not None and consumer.route is not None
                attributes = {} if on_bus else publisher.sns_message(event, envelope)["MessageAttributes"]
                message = {
                    "MessageId": f"{qualified}#{index}",
                    "ReceiptHandle": "-",
                    "Body": json.dumps(bus_event if on_bus else envelope),
                    "MessageAttributes": attributes,
                }
                record = sqs_event([message], "arn:aws:sqs:eu-west-1:111111111111:lint", "eu-west-1")["Records"][0]
                record["body"] = json.loads(record["body"])  # Pipes filters on the parsed JSON body
            yield qualified, index, record


def example_matrix(catalog: Catalog, pipe: Pipe) -> list[tuple[str, int, bool]]:
    """(event, example index, passes the filters?) for every example the pipe's source carries."""
    return [
        (qualified, index, not pipe.filters or any(patterns.matches(f, record) for f in pipe.filters))
        for qualified, index, record in example_records(catalog, pipe)
    ]


# --------------------------------------------------------------------------------------------------------------
# Names: pipes' queues, functions and roles never collide with what consumers get
# --------------------------------------------------------------------------------------------------------------
def _check_names(
    catalog: Catalog, environments: tuple[Environment, ...], documents: dict[Path, Any], out: Collector
) -> None:
    for environment in environments or (None,):
        names = Names(
            env=environment.name if environment else "env",
            region=environment.region if environment else "r",
            account_id=environment.account_id if environment else "0" * 12,
        )
        taken = _consumer_names(catalog, names)
        for domain in catalog.domains:
            for pipe in domain.pipes:
                mine = {
                    names.pipe(domain.name, pipe.name): "pipe",
                    names.pipe_role(domain.name, pipe.name): "IAM role",
                    names.pipe_dlq(domain.name, pipe.name): "SQS queue",
                }
                if pipe.enrichment is not None:
                    mine[names.enrichment_function(domain.name, pipe.name)] = "Lambda function"
                    mine[names.enrichment_role(domain.name, pipe.name)] = "IAM role"
                for name, what in sorted(mine.items()):
                    owner = taken.get((what, name))
                    if owner is not None:
                        report = EntryReport(domain.path, documents[domain.path], out, ["pipes", pipe.name])
                        report.add([], f"{what} name {name!r} collides with {owner}", "rename the pipe")
                    taken[(what, name)] = f"pipe {pipe.qualified_name}"


def _consumer_names(catalog: Catalog, names: Names) -> dict[tuple[str, str], str]:
    taken: dict[tuple[str, str], str] = {}
    for consumer in catalog.consumers:
        owner = f"consumer {consumer.qualified_name}"
        d, c = consumer.domain, consumer.physical_name
        for queue in (names.queue(d, c, consumer.fifo), names.dlq(d, c, consumer.fifo), names.delivery_dlq(d, c)):
            taken[("SQS queue", queue)] = owner
        if consumer.handler:
            taken[("Lambda function", names.function(d, c))] = owner
            taken[("IAM role", names.role(d, c))] = owner
        for target in consumer.route.targets if consumer.route else ():
            taken[("IAM role", names.event_role(d, c, target.name))] = owner
    for domain in catalog.domains:
        for schedule in domain.schedules:
            taken[("IAM role", names.event_role(domain.name, "schedule", schedule.name))] = f"schedule {schedule.name}"
    return taken
