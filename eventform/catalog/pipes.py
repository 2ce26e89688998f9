"""EventBridge Pipes in the catalog: a source (a consumer's SQS queue, a Kinesis stream or the DynamoDB stream of a
consumer's table) -> filters -> an optional enrichment (a handler package run as a Lambda function) -> one target.

Kept apart from :mod:`eventform.catalog.loader` and :mod:`eventform.catalog.buses` like the rest of the EventBridge half: the
loader calls :func:`build_pipes` while it builds a domain and :func:`check_catalog` once every domain is known. Every
problem goes through the loader's collector, so it carries file, line, location and fix.

Filters are tested the way bus patterns are: moto's EventBridge matcher runs each filter against the catalog's
examples as the pipe would see them (an SQS record whose ``body`` is the CloudEvents envelope, a Kinesis record whose
``data`` is), and a pipe whose filters match none of them is an error unless it says ``rare: true``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from eventform.catalog import patterns
from eventform.catalog.model import Catalog, Consumer, Domain, Environment, FunctionSettings
from eventform.catalog.naming import Names

if TYPE_CHECKING:
    from eventform.catalog.loader import _Collector

PipeSourceKind = Literal["queue", "stream", "table"]
PipeTargetKind = Literal["stepfunctions", "lambda", "sns", "queue", "kinesis", "firehose", "bus"]
StartingPosition = Literal["TRIM_HORIZON", "LATEST"]
LogLevel = Literal["OFF", "ERROR", "INFO", "TRACE"]

SOURCE_KINDS: tuple[PipeSourceKind, ...] = ("queue", "stream", "table")
MAX_BATCH = 10_000  # every source kind
MAX_WINDOW = 300  # seconds
FIFO_MAX_BATCH = 10
DEFAULT_BATCH = {"queue": 10, "stream": 100, "table": 100}  # AWS's defaults per source kind
MAX_FILTERS = 5  # FilterCriteria.Filters
MAX_RETRY_ATTEMPTS = 10_000
MAX_RECORD_AGE = 7 * 86400
# Targets that take batches of at most this many records (AWS: Pipes batching); the others take any batch.
TARGET_MAX_BATCH = {"bus": 10, "sns": 10, "queue": 10, "kinesis": 500, "firehose": 500}
TARGET_SERVICE = {
    "stepfunctions": "states",
    "lambda": "lambda",
    "sns": "sns",
    "queue": "sqs",
    "kinesis": "kinesis",
    "firehose": "firehose",
    "bus": "events",
}
# Invocation types of the targets that have one; the default is the one every kind of that target accepts
# (Standard state machines only run FIRE_AND_FORGET; a synchronous Lambda call returns failures to the source).
DEFAULT_INVOCATION = {"stepfunctions": "FIRE_AND_FORGET", "lambda": "REQUEST_RESPONSE"}
# Fields of a record as a pipe filters it, per source kind (AWS: Pipes sources).
RECORD_FIELDS: dict[str, frozenset[str]] = {
    "queue": frozenset(
        {
            "messageId",
            "receiptHandle",
            "body",
            "attributes",
            "messageAttributes",
            "md5OfBody",
            "eventSource",
            "eventSourceARN",
            "awsRegion",
        }
    ),
    "stream": frozenset(
        {
            "kinesisSchemaVersion",
            "partitionKey",
            "sequenceNumber",
            "data",
            "approximateArrivalTimestamp",
            "eventSource",
            "eventVersion",
            "eventID",
            "eventName",
            "invokeIdentityArn",
            "awsRegion",
            "eventSourceARN",
        }
    ),
    "table": frozenset(
        {
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
            "userIdentity",
        }
    ),
}
RECORD_NAME = {"queue": "an SQS", "stream": "a Kinesis", "table": "a DynamoDB stream"}
PAYLOAD_FIELD = {"queue": "body", "stream": "data"}  # where the CloudEvents envelope sits in the record
STREAM_NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")
STREAM_ARN = re.compile(r"^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):([0-9]{12}):stream/([a-zA-Z0-9_.-]{1,128})$")
# Actions a pipe's role needs to read each kind of source (AWS: Pipes execution role permissions).
SOURCE_ACTIONS: dict[str, tuple[str, ...]] = {
    "queue": ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"),
    "stream": (
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
    ),
    "table": ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"),
}


# --------------------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamRetry:
    """What a stream source does with a batch its enrichment or target keeps failing: retry, then the DLQ."""

    max_attempts: int = 5
    max_age: int = 3600


@dataclass(frozen=True)
class PipeSource:
    kind: PipeSourceKind
    reference: str  # queue: a consumer of the domain; stream: a stream name or ARN; table: <consumer>/<table>
    batch_size: int
    batching_window: int = 0  # seconds
    events: tuple[str, ...] = ()  # stream: the catalog events its records carry (data = the CloudEvents envelope)
    starting_position: StartingPosition | None = None  # streams
    retry: StreamRetry | None = None  # streams: retries, then the pipe's DLQ

    @property
    def is_stream(self) -> bool:
        return self.kind != "queue"

    @property
    def consumer(self) -> str | None:
        """The consumer whose queue (queue) or table (table) the pipe reads."""
        return self.reference.split("/", 1)[0] if self.kind in ("queue", "table") else None

    @property
    def table(self) -> str | None:
        return self.reference.split("/", 1)[1] if self.kind == "table" else None


@dataclass(frozen=True)
class PipeEnrichment:
    """A handler package (``handlers/<handler>/handler.py``) that Pipes invokes synchronously with each batch."""

    handler: str
    function: FunctionSettings = field(default_factory=FunctionSettings)


@dataclass(frozen=True)
class PipeTarget:
    kind: PipeTargetKind
    arn: str
    invocation: str | None = None  # lambda, stepfunctions
    partition_key: str | None = None  # kinesis
    message_group: str | None = None  # FIFO queue

    @property
    def actions(self) -> tuple[str, ...]:
        """What the pipe's role may do to the target: exactly the call Pipes makes."""
        if self.kind == "stepfunctions":
            return (
                ("states:StartExecution",) if self.invocation == "FIRE_AND_FORGET" else ("states:StartSyncExecution",)
            )
        return {
            "lambda": ("lambda:InvokeFunction",),
            "sns": ("sns:Publish",),
            "queue": ("sqs:SendMessage",),
            "kinesis": ("kinesis:PutRecord", "kinesis:PutRecords"),
            "firehose": ("firehose:PutRecord", "firehose:PutRecordBatch"),
            "bus": ("events:PutEvents",),
        }[self.kind]


@dataclass(frozen=True)
class Pipe:
    domain: str
    name: str
    description: str
    source: PipeSource
    target: PipeTarget
    filters: tuple[dict[str, Any], ...] = ()  # OR-ed; none: every record passes
    rare: bool = False  # the filters may match none of the catalog's examples on purpose
    enrichment: PipeEnrichment | None = None
    log_level: LogLevel = "ERROR"

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}/{self.name}"


def _loader():
    from eventform.catalog import loader

    return loader


class _Report:
    """Problems of one catalog entry: a location and a line from the same key path."""

    def __init__(self, path: Path, document: Any, out: _Collector, where: list[Any]) -> None:
        self.path, self.document, self.out, self.where = path, document, out, where
        self.count = 0

    def add(self, keys: list[Any], message: str, fix: str) -> None:
        location = ".".join(str(k) for k in [*self.where, *keys])
        self.out.add(self.path, location, message, fix, _loader()._line_of(self.document, [*self.where, *keys]))
        self.count += 1


# --------------------------------------------------------------------------------------------------------------
# Loading one domain's pipes
# --------------------------------------------------------------------------------------------------------------
def build_pipes(path: Path, document: Any, data: dict[str, Any], out: _Collector) -> tuple[Pipe, ...]:
    """The domain's pipes; those with problems are reported and left out (the load fails anyway)."""
    pipes = []
    for name, spec in sorted(data.get("pipes", {}).items()):
        report = _Report(path, document, out, ["pipes", name])
        source = _source(spec["source"], report)
        target = _target(spec["target"], report)
        filters = _filters(spec.get("filter"), source.kind if source else None, report)
        enrichment = _enrichment(spec.get("enrichment"), report)
        if source is not None and target is not None:
            limit = TARGET_MAX_BATCH.get(target.kind)
            if limit is not None and source.batch_size > limit:
                report.add(
                    ["source", "batch", "size"],
                    f"a batch of {source.batch_size} records is more than a {target.kind} target takes ({limit})",
                    f"use batch.size <= {limit}",
                )
        if report.count or source is None or target is None:
            continue
        pipes.append(
            Pipe(
                domain=data["domain"],
                name=name,
                description=spec["description"],
                source=source,
                target=target,
                filters=filters,
                rare=bool(spec.get("rare", False)),
                enrichment=enrichment,
                log_level=spec.get("log_level", "ERROR"),
            )
        )
    return tuple(pipes)


def _source(spec: dict[str, Any], report: _Report) -> PipeSource | None:
    given = [kind for kind in SOURCE_KINDS if kind in spec]
    if len(given) != 1:
        report.add(
            ["source"],
            "a pipe reads exactly one source" + (f", not {' and '.join(given)}" if given else ""),
            "write one of queue: <consumer of this domain>, stream: <Kinesis stream name or ARN> or "
            "table: <consumer>/<table>",
        )
        return None
    kind = given[0]
    reference = spec[kind]
    parse_duration = _loader().parse_duration
    batch = spec.get("batch", {})
    size = batch.get("size", DEFAULT_BATCH[kind])
    window = parse_duration(batch.get("window", 0))
    before = report.count
    if not 1 <= size <= MAX_BATCH:
        report.add(
            ["source", "batch", "size"],
            f"batch size {size} is outside 1..{MAX_BATCH}",
            f"use 1..{MAX_BATCH} ({FIFO_MAX_BATCH} at most from a FIFO queue)",
        )
    if not 0 <= window <= MAX_WINDOW:
        report.add(["source", "batch", "window"], f"batching window {window}s is outside 0s..5m", "use 0s..5m")
    if kind == "stream":
        match = STREAM_ARN.match(reference)
        if reference.startswith("arn:") and not match:
            report.add(
                ["source", "stream"],
                f"{reference!r} is not a Kinesis stream ARN",
                "write arn:aws:kinesis:<region>:<account>:stream/<name>, or just the stream's name",
            )
        elif not match and not STREAM_NAME.match(reference):
            report.add(
                ["source", "stream"],
                f"{reference!r} is not a Kinesis stream name",
                "use 1-128 letters, digits, '_', '-' or '.', or the stream's ARN",
            )
    if kind != "stream" and "events" in spec:
        report.add(
            ["source", "events"],
            "a queue source carries its consumer's events"
            if kind == "queue"
            else "a table stream carries DynamoDB change records, not catalog events",
            "remove events: (only a stream source names the catalog events its records carry)",
        )
    retry = None
    if kind == "queue":
        for key in ("starting_position", "retry"):
            if key in spec:
                report.add(
                    ["source", key],
                    f"{key} belongs to stream sources; a queue source retries through the queue's redrive policy "
                    "and dead-letter queue",
                    "remove it (the consumer's queue.max_receive_count sets the receives before the DLQ)",
                )
    else:
        if "starting_position" not in spec:
            report.add(
                ["source"],
                "a stream source needs a starting position",
                "add starting_position: LATEST (new records only) or TRIM_HORIZON (all the stream still holds)",
            )
        retry_spec = spec.get("retry", {})
        retry = StreamRetry(
            max_attempts=retry_spec.get("max_attempts", StreamRetry.max_attempts),
            max_age=parse_duration(retry_spec.get("max_age", StreamRetry.max_age)),
        )
        if not 0 <= retry.max_attempts <= MAX_RETRY_ATTEMPTS:
            report.add(
                ["source", "retry", "max_attempts"],
                f"{retry.max_attempts} retry attempts is outside 0..{MAX_RETRY_ATTEMPTS}",
                f"use 0..{MAX_RETRY_ATTEMPTS} (failed batches then go to the pipe's DLQ)",
            )
        if not 60 <= retry.max_age <= MAX_RECORD_AGE:
            report.add(
                ["source", "retry", "max_age"],
                f"a maximum record age of {retry.max_age}s is outside 1m..7d",
                "use 1m..7d (older records go to the pipe's DLQ)",
            )
    if report.count > before:
        return None
    return PipeSource(
        kind=kind,
        reference=reference,
        batch_size=size,
        batching_window=window,
        events=tuple(spec.get("events", ())),
        starting_position=spec.get("starting_position"),
        retry=retry,
    )


def _target(spec: dict[str, Any], report: _Report) -> PipeTarget | None:
    kind, arn = spec["type"], spec["arn"]
    before = report.count
    service = TARGET_SERVICE[kind]
    if arn.split(":")[2] != service:
        report.add(["target", "arn"], f"{arn!r} is not a {kind} ARN", f"use an arn:aws:{service}:... ARN")
    elif kind == "sns" and arn.endswith(".fifo"):
        report.add(
            ["target", "arn"],
            "EventBridge Pipes cannot deliver to an SNS FIFO topic",
            "target a standard topic, or one of the FIFO topic's subscriber queues (type: queue)",
        )
    invocation = spec.get("invocation", DEFAULT_INVOCATION.get(kind))
    if "invocation" in spec and kind not in DEFAULT_INVOCATION:
        report.add(["target", "invocation"], f"a {kind} target takes no invocation type", "remove invocation")
    if kind == "kinesis" and "partition_key" not in spec:
        report.add(
            ["target"],
            "a kinesis target needs a partition key",
            "add partition_key: a JSON path of the record (e.g. $.body.data.country) or a fixed value",
        )
    if kind != "kinesis" and "partition_key" in spec:
        report.add(["target", "partition_key"], "only kinesis targets take a partition key", "remove partition_key")
    fifo = kind == "queue" and arn.endswith(".fifo")
    if fifo and "message_group" not in spec:
        report.add(
            ["target"],
            "a FIFO queue target needs a message group",
            "add message_group: a JSON path of the record naming the aggregate (e.g. $.body.data.order_id)",
        )
    if not fifo and "message_group" in spec:
        report.add(["target", "message_group"], "only FIFO queue targets take a message group", "remove it")
    if report.count > before:
        return None
    return PipeTarget(
        kind=kind,
        arn=arn,
        invocation=invocation,
        partition_key=spec.get("partition_key"),
        message_group=spec.get("message_group"),
    )


def _filters(spec: Any, kind: str | None, report: _Report) -> tuple[dict[str, Any], ...]:
    if spec is None:
        return ()
    listed = isinstance(spec, list)
    filters = list(spec) if listed else [spec]
    if len(filters) > MAX_FILTERS:
        report.add(
            ["filter"],
            f"{len(filters)} filters: a pipe takes at most {MAX_FILTERS}",
            "merge alternatives into one filter with $or",
        )
    for index, pattern in enumerate(filters):
        keys: list[Any] = ["filter", index] if listed else ["filter"]
        location = ".".join(str(k) for k in [*report.where, *keys])
        problems = patterns.syntax_problems(pattern, location, top=False)
        for where, message, fix in problems:
            report.out.add(
                report.path, where, message, fix, _loader()._line_of(report.document, [*report.where, *keys])
            )
            report.count += 1
        if problems or kind is None:
            continue
        for name in sorted(_top_fields(pattern) - RECORD_FIELDS[kind]):
            report.add(
                [*keys, name],
                f"{name!r} is not a field of {RECORD_NAME[kind]} record",
                f"filters start at the record: use one of {', '.join(sorted(RECORD_FIELDS[kind]))}"
                + (f" (the event is under {PAYLOAD_FIELD[kind]})" if kind in PAYLOAD_FIELD else ""),
            )
        if len(json.dumps(pattern)) > patterns.MAX_PATTERN_LENGTH:
            report.add(keys, "the filter is longer than the 4096 characters Pipes accepts", "shorten or split it")
    return tuple(filters)


def _top_fields(pattern: dict[str, Any]) -> set[str]:
    fields: set[str] = set()
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list):
            for alternative in value:
                fields |= _top_fields(alternative)
        else:
            fields.add(key)
    return fields


def _enrichment(spec: dict[str, Any] | None, report: _Report) -> PipeEnrichment | None:
    if spec is None:
        return None
    settings = _loader()._function_settings(spec.get("function", {}))
    if not 1 <= settings.timeout <= 900:
        report.add(
            ["enrichment", "function", "timeout"],
            f"a Lambda timeout of {settings.timeout}s is outside 1s..15m",
            "use a value between 1s and 15m",
        )
    for name, _ in settings.environment:
        if any(marker in name for marker in _loader().SECRET_LIKE):
            report.add(
                ["enrichment", "function", "environment", name],
                f"environment variable {name} looks like a secret; values in the catalog end up in plain text",
                "store it in Secrets Manager and list its name under `secrets:`",
            )
    return PipeEnrichment(handler=spec["handler"], function=settings)


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
    """A stream named in the catalog lives in the environment's own account and region (Pipes reads no other)."""
    return source.reference if source.reference.startswith("arn:") else names.stream_arn(source.reference)


def check_catalog(
    catalog: Catalog, documents: dict[Path, Any], environments: tuple[Environment, ...], out: _Collector
) -> None:
    folder = catalog.root.parent / "handlers"
    available = {p.parent.name for p in folder.glob("*/handler.py")} if folder.is_dir() else set()
    known_events = {e.qualified_name for e in catalog.events}
    for domain in catalog.domains:
        drained: dict[str, str] = {}
        for pipe in domain.pipes:
            report = _Report(domain.path, documents[domain.path], out, ["pipes", pipe.name])
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
    report: _Report,
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
    report: _Report,
) -> None:
    from eventform.catalog.loader import PLATFORM_HANDLERS

    enrichment = pipe.enrichment
    assert enrichment is not None
    if enrichment.handler not in available:
        report.add(
            ["enrichment", "handler"],
            f"handler {enrichment.handler!r} does not exist (no handlers/{enrichment.handler}/handler.py)",
            f"create it (an Enricher from handlers/enrichment.py, see handlers/settlement_fees) or use one of: "
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


def _check_filters(catalog: Catalog, pipe: Pipe, report: _Report) -> None:
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
# Records as the pipe sees them, and the filters against the catalog's examples (moto's matcher)
# --------------------------------------------------------------------------------------------------------------
def example_records(catalog: Catalog, pipe: Pipe) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(event, example index, record) for every catalog example the pipe's source carries, shaped as Pipes filters
    it: an SQS record with the body (and SNS's message attributes) parsed, or a Kinesis record with data decoded."""
    from eventform.local.runner import sqs_event
    from eventform.runtime.publisher import Publisher

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
    catalog: Catalog, environments: tuple[Environment, ...], documents: dict[Path, Any], out: _Collector
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
                        report = _Report(domain.path, documents[domain.path], out, ["pipes", pipe.name])
                        report.add([], f"{what} name {name!r} collides with {owner}", "rename the pipe")
                    taken[(what, name)] = f"pipe {pipe.qualified_name}"


def _consumer_names(catalog: Catalog, names: Names) -> dict[tuple[str, str], str]:
    taken: dict[tuple[str, str], str] = {}
    for consumer in catalog.consumers:
        owner = f"consumer {consumer.qualified_name}"
        d, c = consumer.domain, consumer.name
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


# --------------------------------------------------------------------------------------------------------------
# Enrichment packages (built by eventform.synthesis.app next to the consumers' packages)
# --------------------------------------------------------------------------------------------------------------
def package_key(pipe: Pipe) -> str:
    """Key of a pipe's enrichment package among the stack's packages (consumers use their qualified name)."""
    return f"{pipe.qualified_name}#enrichment"


def enrichment_packages(root: Path, catalog: Catalog, outdir: Path) -> dict[str, Any]:
    """Deterministic zips of the enrichment handlers: the runtime, handlers/enrichment.py, the handler package and
    the schemas of the events the pipe's records carry."""
    from eventform.synthesis.packaging import build

    packages = {}
    for domain in catalog.domains:
        for pipe in domain.pipes:
            if pipe.enrichment is None:
                continue
            carrier = Consumer(
                domain=domain.name,
                name=pipe.name,
                description=pipe.description,
                events=carried_events(catalog, pipe),
                handler=pipe.enrichment.handler,
            )
            packages[package_key(pipe)] = build(
                root, carrier, catalog, outdir, ("runtime.py", "objects.py", "enrichment.py")
            )
    return packages
