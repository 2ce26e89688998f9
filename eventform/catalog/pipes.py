"""EventBridge Pipes in the catalog: a source (a consumer's SQS queue, a Kinesis stream or the DynamoDB stream of a
consumer's table) -> filters -> an optional enrichment (a handler package run as a Lambda function) -> one target.

Kept apart from :mod:`eventform.catalog.loader` and :mod:`eventform.catalog.buses` like the rest of the EventBridge
half: the loader calls :func:`build_pipes` while it builds a domain and :func:`check_catalog` once every domain is
known. Every problem goes through the loader's collector, so it carries file, line, location and fix.

Filters are tested the way bus patterns are: EventBridge's matching (aws/event-ruler's semantics, see
:mod:`eventform.catalog.rule_matching`) runs each filter against the catalog's examples as the pipe would see them
(an SQS record whose ``body`` is the CloudEvents envelope, a Kinesis record whose ``data`` is), and a pipe whose
filters match none of them is an error unless it says ``rare: true``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from eventform.catalog import patterns, references
from eventform.catalog.consumers import function_settings
from eventform.catalog.model import (
    Pipe,
    PipeEnrichment,
    PipeSource,
    PipeSourceKind,
    PipeTarget,
    StreamRetry,
)
from eventform.catalog.parsing import Collector, EntryReport, line_of, looks_secret, parse_duration

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
DEFAULT_INVOCATION = {"stepfunctions": "FIRE_AND_FORGET", "lambda": "REQUEST_RESPONSE", "workflow": "FIRE_AND_FORGET"}
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
CATALOG_STREAM = re.compile(r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]{1,39}$")  # <domain>/<stream> of streams:
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
# Loading one domain's pipes
# --------------------------------------------------------------------------------------------------------------
def build_pipes(path: Path, document: Any, data: dict[str, Any], out: Collector) -> tuple[Pipe, ...]:
    """The domain's pipes; those with problems are reported and left out (the load fails anyway)."""
    pipes = []
    for name, spec in sorted(data.get("pipes", {}).items()):
        report = EntryReport(path, document, out, ["pipes", name])
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


def _source(spec: dict[str, Any], report: EntryReport) -> PipeSource | None:
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
        elif not match and not STREAM_NAME.match(reference) and not CATALOG_STREAM.match(reference):
            report.add(
                ["source", "stream"],
                f"{reference!r} is not a Kinesis stream name",
                "use 1-128 letters, digits, '_', '-' or '.', or the stream's ARN, or <domain>/<stream> for a "
                "catalog stream",
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


def _target(spec: dict[str, Any], report: EntryReport) -> PipeTarget | None:
    kind = spec["type"]
    before = report.count
    reference, problems = (
        (None, []) if kind == "workflow" else references.parse(spec, TARGET_SERVICE[kind], f"a {kind} target", kind)
    )
    for keys, message, fix in problems:
        report.add(["target", *keys], message, fix)
    # the resource's name (a FIFO topic or queue ends in .fifo), whichever way it is written
    written = [spec.get("arn"), spec.get("name"), *[e.get("arn") for e in (spec.get("environments") or {}).values()]]
    arn = next((w for w in written if w), "")
    if reference is not None and kind == "sns" and arn.endswith(".fifo"):
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
        arn=spec.get("arn"),
        reference=reference,
        pii_exception=references.pii_exception(spec),
        invocation=invocation,
        partition_key=spec.get("partition_key"),
        message_group=spec.get("message_group"),
        workflow=spec.get("workflow"),
    )


def _filters(spec: Any, kind: str | None, report: EntryReport) -> tuple[dict[str, Any], ...]:
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
            report.out.add(report.path, where, message, fix, line_of(report.document, [*report.where, *keys]))
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


def _enrichment(spec: dict[str, Any] | None, report: EntryReport) -> PipeEnrichment | None:
    if spec is None:
        return None
    settings = function_settings(spec.get("function", {}))
    if not 1 <= settings.timeout <= 900:
        report.add(
            ["enrichment", "function", "timeout"],
            f"a Lambda timeout of {settings.timeout}s is outside 1s..15m",
            "use a value between 1s and 15m",
        )
    for name, value in settings.environment:
        if looks_secret(name, value):
            report.add(
                ["enrichment", "function", "environment", name],
                f"environment variable {name} looks like a secret (by name or value); catalog values end up in "
                "plain text",
                "store it in Secrets Manager and list its name under `secrets:`",
            )
    return PipeEnrichment(handler=spec["handler"], function=settings)


# --------------------------------------------------------------------------------------------------------------
# Enrichment packages: their key among a stack's packages (eventform.synthesis.packaging builds the zips)
# --------------------------------------------------------------------------------------------------------------
def package_key(pipe: Pipe) -> str:
    """Key of a pipe's enrichment package among the stack's packages (consumers use their qualified name)."""
    return f"{pipe.qualified_name}#enrichment"
