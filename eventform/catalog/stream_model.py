"""The catalog model of Kinesis Data Streams a domain owns and of the Lambda consumers that read them.

Part of :mod:`eventform.catalog.model` (which re-exports every name); kept apart so that module stays small.
Records on a catalog stream are CloudEvents envelopes (the publisher's ``put_records``), one JSON document each,
partitioned by a payload field the stream declares, so that the events of one aggregate stay in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

StreamMode = Literal["on_demand", "provisioned"]
StreamPosition = Literal["TRIM_HORIZON", "LATEST"]
StreamKind = Literal["kinesis", "table"]
CHANGE_KINDS: tuple[str, ...] = ("INSERT", "MODIFY", "REMOVE")  # DynamoDB stream records' eventName

# Kinesis: retention 24 h .. 365 days (RetentionPeriodHours), shards of a provisioned stream (the account's quota
# starts at 500 per region in the larger regions; eventform does not allow a single stream to take all of it).
MIN_RETENTION_HOURS = 24
MAX_RETENTION_HOURS = 8760
MAX_SHARDS = 200
# Lambda's event source mapping for Kinesis (CreateEventSourceMapping).
MAX_STREAM_BATCH = 10_000
MAX_STREAM_WINDOW = 300  # seconds
MAX_PARALLELIZATION = 10
MAX_STREAM_RETRIES = 10_000
MIN_RECORD_AGE = 60
MAX_RECORD_AGE = 7 * 86400
MAX_STREAM_FILTERS = 5  # FilterCriteria.Filters (the default quota)


@dataclass(frozen=True)
class Stream:
    """A Kinesis data stream of a domain, ``<env>-<domain>-<stream>``: KMS-encrypted, the events its records carry
    and the payload field that partitions them."""

    domain: str
    name: str
    description: str
    events: tuple[str, ...]  # <domain>/<event>: the envelopes its records carry
    partition_key: str  # a payload field every carried event has (dotted path)
    mode: StreamMode = "on_demand"
    shards: int | None = None  # provisioned only
    retention_hours: int = MIN_RETENTION_HOURS

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}/{self.name}"


@dataclass(frozen=True)
class StreamRetries:
    """What Lambda does with a batch the handler keeps failing: retries, record age, bisection, then on-failure."""

    max_attempts: int = 3
    max_age: int = 3600
    bisect_on_error: bool = True


@dataclass(frozen=True)
class StreamSource:
    """A consumer's stream source: a catalog Kinesis stream (which of its events), or the DynamoDB stream of a
    catalog table (which change becomes which domain event); and how Lambda reads it."""

    domain: str  # the stream's domain (a table's: the consumer's own)
    stream: str  # kinesis: the stream's name; table: <consumer>/<table>
    events: tuple[str, ...]  # the events the consumer handles (a subset of the stream's, or the changes' events)
    starting_position: StreamPosition = "LATEST"
    batch_size: int = 100
    batching_window: int = 0  # seconds
    parallelization: int = 1
    retries: StreamRetries = StreamRetries()
    filters: tuple[dict[str, Any], ...] = ()  # on the record (data = the envelope), OR-ed; beside the generated ones
    kind: StreamKind = "kinesis"
    changes: tuple[tuple[str, str], ...] = ()  # table: (INSERT|MODIFY|REMOVE, <domain>/<event>)

    @property
    def qualified_stream(self) -> str:
        return f"{self.domain}/{self.stream}"

    @property
    def table_owner(self) -> str | None:
        """table: the consumer whose table it is."""
        return self.stream.split("/", 1)[0] if self.kind == "table" else None

    @property
    def table(self) -> str | None:
        return self.stream.split("/", 1)[1] if self.kind == "table" else None


__all__ = [
    "CHANGE_KINDS",
    "MAX_PARALLELIZATION",
    "MAX_RECORD_AGE",
    "MAX_RETENTION_HOURS",
    "MAX_SHARDS",
    "MAX_STREAM_BATCH",
    "MAX_STREAM_FILTERS",
    "MAX_STREAM_RETRIES",
    "MAX_STREAM_WINDOW",
    "MIN_RECORD_AGE",
    "MIN_RETENTION_HOURS",
    "Stream",
    "StreamKind",
    "StreamMode",
    "StreamPosition",
    "StreamRetries",
    "StreamSource",
]
