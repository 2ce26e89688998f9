"""Monthly usage of Kinesis Data Streams, Data Firehose, API Gateway and Step Functions, from counts.

Each function turns what a catalog entry declares (records and their size, requests, executions) into billable lines
the way the service meters them (record rounding, payload units, 64 MB memory chunks...). They know no catalog
section: ``cost.py`` calls :func:`kinesis_stream` for catalog streams; the others wait for the catalog sections
that will feed them (Firehose, API Gateway and Step Functions targets), so that their prices are ready when those land.
Each line names its price table key; the first price tier is assumed (tiers start far above a catalog's volumes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

GIB = 1024**3
KIB = 1024
KINESIS_RECORD_ROUNDING = KIB  # on-demand writes: each record rounded up to 1 KB
KINESIS_PUT_PAYLOAD_UNIT = 25 * KIB  # provisioned: each record counts ceil(size / 25 KB) PUT payload units
KINESIS_FREE_RETENTION_HOURS = 24
KINESIS_EXTENDED_RETENTION_HOURS = 7 * 24  # beyond it: long-term retention
FIREHOSE_RECORD_ROUNDING = 5 * KIB  # ingestion: each record rounded up to 5 KB
HTTP_API_METERING = 512 * KIB  # HTTP APIs: each request metered in 512 KB increments
EXPRESS_DURATION_STEP_MS = 100
EXPRESS_MEMORY_STEP_MB = 64


@dataclass(frozen=True)
class Line:
    """One billable quantity of a month: ``quantity`` ``unit`` at the price table's ``price``."""

    service: str
    what: str
    quantity: float
    unit: str
    price: str  # a key of the price table


Writes = Sequence[tuple[float, int]]  # (records per month, bytes per record)


def _rounded_gb(writes: Writes, step: int) -> float:
    return sum(n * math.ceil(size / step) * step for n, size in writes) / GIB


def kinesis_stream(
    name: str,
    *,
    mode: Literal["on_demand", "provisioned"],
    shards: int | None,
    retention_hours: int,
    writes: Writes,
    readers: int,
    hours: float,
) -> list[Line]:
    """A stream's month: on demand, the stream-hours, GB written (records rounded up to 1 KB) and GB read (once per
    reader: every shared-throughput reader reads every record, filters apply after the read); provisioned, the
    shard-hours and PUT payload units (reads are in the shard's price). Retention beyond 24 hours: on demand per
    GB-month of the data kept, provisioned per shard-hour; beyond 7 days, long-term storage per GB-month."""
    written = _rounded_gb(writes, KINESIS_RECORD_ROUNDING)
    kept = written / hours  # GB a stream holds per hour of retention, at a steady rate
    extended = max(0, min(retention_hours, KINESIS_EXTENDED_RETENTION_HOURS) - KINESIS_FREE_RETENTION_HOURS)
    long_term = max(0, retention_hours - KINESIS_EXTENDED_RETENTION_HOURS)
    lines = []
    if mode == "on_demand":
        lines += [
            Line("Kinesis", f"{name}: stream-hours", hours, "stream-hour", "kinesis_on_demand_stream_hour"),
            Line("Kinesis", f"{name}: data written", written, "GB", "kinesis_on_demand_write_per_gb"),
            Line(
                "Kinesis",
                f"{name}: data read by {readers} reader(s)",
                readers * sum(n * size for n, size in writes) / GIB,
                "GB",
                "kinesis_on_demand_read_per_gb",
            ),
            Line(
                "Kinesis",
                f"{name}: retention {KINESIS_FREE_RETENTION_HOURS}h..{min(retention_hours, 168)}h",
                kept * extended,
                "GB-month",
                "kinesis_on_demand_extended_retention_per_gb_month",
            ),
        ]
    else:
        units = sum(n * math.ceil(size / KINESIS_PUT_PAYLOAD_UNIT) for n, size in writes)
        lines += [
            Line("Kinesis", f"{name}: shard-hours ({shards} shards)", (shards or 0) * hours, "shard-hour",
                 "kinesis_shard_hour"),
            Line("Kinesis", f"{name}: PUT payload units", units / 1e6, "million",
                 "kinesis_put_payload_units_per_million"),
        ]
        if extended:
            lines.append(
                Line("Kinesis", f"{name}: extended retention (to {min(retention_hours, 168)}h)", (shards or 0) * hours,
                     "shard-hour", "kinesis_extended_retention_shard_hour")
            )
    lines.append(
        Line("Kinesis", f"{name}: long-term retention (to {retention_hours}h)", kept * long_term, "GB-month",
             "kinesis_long_term_retention_per_gb_month")
    )
    return [line for line in lines if line.quantity]


def firehose(
    name: str, *, records: float, record_bytes: int, dynamic_partitioning: bool = False, objects: float = 0.0
) -> list[Line]:
    """A Firehose stream's month from the records it ingests: ingestion per GB (each record rounded up to 5 KB);
    with dynamic partitioning, per GB delivered and per 1,000 S3 objects written (``objects``: partitions times
    buffer flushes, which only the stream's settings and traffic can say)."""
    lines = [Line("Firehose", f"{name}: ingestion", _rounded_gb([(records, record_bytes)], FIREHOSE_RECORD_ROUNDING),
                  "GB", "firehose_ingestion_per_gb")]
    if dynamic_partitioning:
        lines += [
            Line("Firehose", f"{name}: dynamic partitioning", records * record_bytes / GIB, "GB",
                 "firehose_dynamic_partitioning_per_gb"),
            Line("Firehose", f"{name}: S3 objects delivered", objects / 1000, "1,000 objects",
                 "firehose_dynamic_partitioning_objects_per_1000"),
        ]
    return [line for line in lines if line.quantity]


def firehose_objects(
    partitions: Writes, *, interval_seconds: float, buffer_bytes: float, month_seconds: float
) -> float:
    """S3 objects a dynamically partitioned stream writes in a month, for :func:`firehose`'s ``objects``: each
    partition's buffer (``partitions``: records and bytes per record of each partition key, e.g. each event type)
    flushes when its interval ends or it holds ``buffer_bytes``; a partition whose records come less often than once an
    interval writes about one object per record. Time partitions (day, hour) add at most one flush per boundary."""
    return sum(max(min(n, month_seconds / interval_seconds), n * size / buffer_bytes) for n, size in partitions)


def api_gateway(name: str, *, kind: Literal["rest", "http"], requests: float, request_bytes: int = 0) -> list[Line]:
    """An API's month: REST APIs per million calls received; HTTP APIs per million, each request metered in 512 KB
    increments (data transfer out and REST caching are not included)."""
    if kind == "rest":
        calls = requests / 1e6
        return [Line("API Gateway", f"{name}: REST API calls", calls, "million", "apigateway_rest_per_million")]
    metered = requests * max(1, math.ceil(request_bytes / HTTP_API_METERING))
    return [Line("API Gateway", f"{name}: HTTP API calls", metered / 1e6, "million", "apigateway_http_per_million")]


def step_functions(
    name: str,
    *,
    kind: Literal["standard", "express"],
    executions: float,
    transitions: float = 0.0,
    duration_ms: float = 0.0,
    memory_mb: float = EXPRESS_MEMORY_STEP_MB,
) -> list[Line]:
    """A state machine's month: Standard per 1,000 state transitions (``transitions`` per execution, retries
    included); Express per million requests and per GB-second (duration rounded up to 100 ms, memory to 64 MB)."""
    if kind == "standard":
        return [
            Line("Step Functions", f"{name}: state transitions", executions * transitions / 1000, "1,000 transitions",
                 "stepfunctions_standard_per_1000_transitions")
        ]
    seconds = math.ceil(duration_ms / EXPRESS_DURATION_STEP_MS) * EXPRESS_DURATION_STEP_MS / 1000
    gigabytes = math.ceil(memory_mb / EXPRESS_MEMORY_STEP_MB) * EXPRESS_MEMORY_STEP_MB / 1024
    return [
        Line("Step Functions", f"{name}: Express requests", executions / 1e6, "million",
             "stepfunctions_express_per_million_requests"),
        Line("Step Functions", f"{name}: Express duration", executions * seconds * gigabytes, "GB-second",
             "stepfunctions_express_gb_second"),
    ]
