"""The catalog model of Firehose delivery streams a domain owns (``delivery_streams:``): CloudEvents envelopes
archived to a bucket of the domain, partitioned by event type and date.

Part of :mod:`eventform.catalog.model` (which re-exports every name); kept apart so that module stays small.
Records are CloudEvents envelopes (a rule target naming the delivery stream sends ``$.detail``), so Firehose's
dynamic partitioning reads the event type with a JQ query on ``.type``; the date parts are Firehose's
``!{timestamp:...}`` (the record's arrival, UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Compression = Literal["UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"]
TimePartition = Literal["day", "hour"]

# Firehose's bounds for an S3 destination (BufferingHints), and with dynamic partitioning, which eventform always
# uses: at least 64 MiB, and no zero buffering (AWS: "Buffer data for dynamic partitioning").
MIN_BUFFER_MIB = 1
MAX_BUFFER_MIB = 128
MIN_PARTITIONED_BUFFER_MIB = 64
MIN_PARTITIONED_INTERVAL = 60  # seconds
MAX_BUFFER_INTERVAL = 900  # seconds
MAX_PREFIX = 1024  # ExtendedS3DestinationConfiguration.Prefix and ErrorOutputPrefix, after eventform's expressions
# The JQ query that extracts the partition key from each record (an envelope) and the name Firehose gives it.
TYPE_KEY = "type"
TYPE_QUERY = "{type: .type}"
JQ_ENGINE = "JQ-1.6"
# File extensions Firehose adds per compression (S3 object name format), for the rehearsal and the README.
EXTENSIONS: dict[str, str] = {
    "UNCOMPRESSED": "",
    "GZIP": ".gz",
    "ZIP": ".zip",
    "Snappy": ".snappy",
    "HADOOP_SNAPPY": ".hsnappy",
}
# Firehose's log stream for delivery errors in the stream's log group (the console's default name).
LOG_STREAM = "DestinationDelivery"


@dataclass(frozen=True)
class DeliveryStream:
    """A Firehose delivery stream of a domain, ``<env>-<domain>-<name>``: direct PUT (rule targets), SSE with the
    domain key, delivering the envelopes of ``events`` to ``bucket`` under ``<prefix>type=<type>/year=/month=/day=/``
    (``hour=`` too with ``partition: hour``), failures under ``<error_prefix><error-output-type>/...``."""

    domain: str
    name: str
    description: str
    events: tuple[str, ...]  # <domain>/<event>: the envelopes it carries
    bucket: str  # a bucket of the same domain (its name)
    prefix: str = "events/"
    error_prefix: str = "errors/"
    partition: TimePartition = "day"
    buffer_mib: int = MIN_PARTITIONED_BUFFER_MIB
    buffer_interval: int = 300  # seconds
    compression: Compression = "GZIP"

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}/{self.name}"

    @property
    def qualified_bucket(self) -> str:
        return f"{self.domain}/{self.bucket}"

    @property
    def time_expression(self) -> str:
        parts = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
        return parts + ("hour=!{timestamp:HH}/" if self.partition == "hour" else "")

    @property
    def s3_prefix(self) -> str:
        """Firehose's Prefix: the literal root, the event type (dynamic partitioning), the date parts."""
        return f"{self.prefix}{TYPE_KEY}=!{{partitionKeyFromQuery:{TYPE_KEY}}}/{self.time_expression}"

    @property
    def s3_error_prefix(self) -> str:
        """Firehose's ErrorOutputPrefix: dynamic partitioning requires ``!{firehose:error-output-type}`` in it."""
        return f"{self.error_prefix}!{{firehose:error-output-type}}/{self.time_expression}"

    def key_prefix(self, event_type: str, year: int, month: int, day: int, hour: int) -> str:
        """The prefix Firehose evaluates for one record of ``event_type`` arriving at that UTC time (what AWS
        writes; the local rehearsal reports it beside what the embedded AWS wrote)."""
        when = f"year={year:04d}/month={month:02d}/day={day:02d}/"
        when += f"hour={hour:02d}/" if self.partition == "hour" else ""
        return f"{self.prefix}{TYPE_KEY}={event_type}/{when}"


__all__ = [
    "EXTENSIONS",
    "JQ_ENGINE",
    "LOG_STREAM",
    "MAX_BUFFER_INTERVAL",
    "MAX_BUFFER_MIB",
    "MAX_PREFIX",
    "MIN_BUFFER_MIB",
    "MIN_PARTITIONED_BUFFER_MIB",
    "MIN_PARTITIONED_INTERVAL",
    "TYPE_KEY",
    "TYPE_QUERY",
    "Compression",
    "DeliveryStream",
    "TimePartition",
]
