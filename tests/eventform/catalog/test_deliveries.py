"""Firehose delivery streams of the catalog, and catalog streams named as rule targets and pipe sources: what the
sample declares, what targets resolve to, and the bad-input corpus (each mistake stops with file, line and fix)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from eventform.catalog import deliveries
from eventform.catalog.loader import load
from tests.eventform.catalog.section_cases import Case, assert_lint_prints, assert_reported
from tests.eventform.catalog.test_bad_input import edit, line_containing, project  # noqa: F401 (fixture)

ORDERS = "catalog/orders.yaml"
TARGET = "      archive: {type: firehose, stream: order-archive}"
ACTIVITY_PIPE = """
pipes:
  replay-activity:
    description: Replays the order activity stream onto the analytics bus.
    source: {stream: orders/order-activity, starting_position: TRIM_HORIZON, batch: {size: 10}}
    target: {type: bus, name: analytics}
"""


def orders(old: str, new: str) -> Callable[[Path], object]:
    return lambda root: edit(root, ORDERS, old, new)


def appended(text: str) -> Callable[[Path], object]:
    def change(root: Path) -> None:
        path = root / ORDERS
        path.write_text(path.read_text() + text)

    return change


def test_the_sample_delivery_stream(project_root: Path) -> None:
    catalog = load(project_root)[0]
    (stream,) = catalog.domain("orders").delivery_streams
    assert (stream.bucket, stream.prefix, stream.error_prefix, stream.partition) == (
        "archive",
        "events/",
        "errors/",
        "day",
    )
    assert (stream.buffer_mib, stream.buffer_interval, stream.compression) == (64, 300, "GZIP")
    assert stream.events == ("orders/order.created", "orders/order.cancelled")
    assert stream.s3_prefix == (
        "events/type=!{partitionKeyFromQuery:type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
    )
    assert stream.s3_error_prefix.startswith("errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/")
    assert stream.key_prefix("order.created", 2026, 11, 3, 7) == "events/type=order.created/year=2026/month=11/day=03/"


def test_a_target_naming_the_delivery_stream_sends_the_envelope(project_root: Path) -> None:
    catalog = load(project_root)[0]
    archiver = next(c for c in catalog.consumers if c.name == "order-archiver")
    assert archiver.route is not None
    (target,) = archiver.route.targets
    assert (target.kind, target.stream, target.input_path, target.arn, target.reference) == (
        "firehose",
        "orders/order-archive",
        "$.detail",
        None,
        None,
    )
    assert deliveries.feeders(catalog, "orders/order-archive") == ((archiver, target),)


def test_hourly_partitions_add_the_hour(project: Path) -> None:  # noqa: F811
    orders("    compression: GZIP\n", "    compression: GZIP\n    partition: hour\n")(project)
    (stream,) = load(project)[0].domain("orders").delivery_streams
    assert stream.s3_prefix.endswith("/day=!{timestamp:dd}/hour=!{timestamp:HH}/")
    assert stream.key_prefix("order.cancelled", 2026, 1, 2, 3).endswith("/day=02/hour=03/")


def test_a_catalog_kinesis_stream_as_a_rule_target_is_partitioned_by_its_key(project: Path) -> None:  # noqa: F811
    orders(TARGET, "      activity: {type: kinesis, stream: order-activity}")(project)
    catalog = load(project)[0]
    target = next(c for c in catalog.consumers if c.name == "order-archiver").route.targets[0]  # type: ignore[union-attr]
    assert (target.stream, target.input_path, target.partition_key_path) == (
        "orders/order-activity",
        "$.detail",
        "$.detail.data.order_id",
    )


def test_a_pipe_reads_a_catalog_stream_by_name_with_its_events(project: Path) -> None:  # noqa: F811
    appended(ACTIVITY_PIPE)(project)
    pipe = load(project)[0].domain("orders").pipes[0]
    assert (pipe.source.reference, pipe.source.events) == (
        "orders/order-activity",
        ("orders/order.created", "orders/order.cancelled"),
    )


# --------------------------------------------------------------------------------------------------------------
# The bad-input corpus of delivery_streams: and of catalog streams named by targets and pipes
# --------------------------------------------------------------------------------------------------------------
CASES = [
    Case(
        "buffer-below-partitioning-minimum",
        orders("size: 64, interval: 5m", "size: 32, interval: 5m"),
        "a buffer of 32 MiB is outside what Firehose takes with dynamic partitioning",
        "use size: 64..128",
        "size: 32",
    ),
    Case(
        "buffer-above-maximum",
        orders("size: 64, interval: 5m", "size: 256, interval: 5m"),
        "a buffer of 256 MiB is outside",
        "use size: 64..128",
        "size: 256",
    ),
    Case(
        "interval-too-long",
        orders("size: 64, interval: 5m", "size: 64, interval: 20m"),
        "a buffer interval of 1200s is outside what Firehose takes",
        "use interval: 1m..15m",
        "interval: 20m",
    ),
    Case(
        "zero-buffering",
        orders("size: 64, interval: 5m", "size: 64, interval: 0s"),
        "a buffer interval of 0s is outside",
        "1m..15m",
        "interval: 0s",
    ),
    Case(
        "unknown-bucket",
        orders("    bucket: archive\n", "    bucket: backups\n"),
        "unknown bucket 'backups'",
        "declare it under buckets: of catalog/orders.yaml, or use one of: archive",
        "bucket: backups",
    ),
    Case(
        "bucket-of-another-domain",
        orders("    bucket: archive\n", "    bucket: payments/invoices\n"),
        "payments/invoices belongs to the payments domain",
        "write bucket: invoices",
        "bucket: payments/invoices",
    ),
    Case(
        "unknown-event",
        orders(
            "    events: [orders/order.created, orders/order.cancelled]\n    bucket:",
            "    events: [orders/order.created, orders/order.shipped]\n    bucket:",
        ),
        "unknown event 'orders/order.shipped'",
        "list catalog events",
        ("order-archive:", "events:"),
    ),
    Case(
        "bad-compression",
        orders("compression: GZIP", "compression: gzip"),
        "'gzip' is not one of",
        "use one of: UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY",
        "compression: gzip",
    ),
    Case(
        "prefix-with-expression",
        orders("prefix: events/ ", "prefix: events/!{timestamp:yyyy}/ "),
        "is not a literal key prefix",
        "write e.g. prefix: events/",
        "prefix: events/!{",
    ),
    Case(
        "prefix-without-slash",
        orders("prefix: events/ ", "prefix: events "),
        "is not a literal key prefix",
        "write e.g. prefix: events/",
        "prefix: events ",
    ),
    Case(
        "error-prefix-inside-the-archive",
        orders("error_prefix: errors/ ", "error_prefix: events/errors/ "),
        "would mix with the archive under 'events/'",
        "neither of which starts the other",
        "error_prefix: events/errors/",
    ),
    Case(
        "prefix-too-long",
        orders("prefix: events/ ", f"prefix: {'a' * 1000}/ "),
        "Firehose takes 1024",
        "shorten the prefix",
        "prefix: aaaa",
    ),
    Case(
        "bad-delivery-stream-name",
        orders("  order-archive:\n", "  Order_Archive:\n"),
        "is not a delivery stream name",
        "rename it",
        "Order_Archive:",
    ),
    Case(
        "target-names-unknown-delivery-stream",
        orders(TARGET, "      archive: {type: firehose, stream: order-archives}"),
        "unknown delivery stream 'orders/order-archives'",
        "declare it under `delivery_streams:` of catalog/orders.yaml, or use one of: orders/order-archive",
        "stream: order-archives",
    ),
    Case(
        "target-names-unknown-kinesis-stream",
        orders(TARGET, "      archive: {type: kinesis, stream: order-archive}"),
        "unknown stream 'orders/order-archive'",
        "or use one of: orders/order-activity",
        "type: kinesis, stream: order-archive",
    ),
    Case(
        "target-stream-and-arn",
        orders(
            TARGET,
            "      archive: {type: firehose, stream: order-archive, "
            "arn: 'arn:aws:firehose:eu-west-1:111111111111:deliverystream/x'}",
        ),
        "stream: names a catalog delivery stream; arn names one outside the catalog",
        "keep stream:",
        TARGET.strip().split(",")[0],
    ),
    Case(
        "target-stream-reshaped",
        orders(TARGET, "      archive: {type: firehose, stream: order-archive, input_path: $.detail.data}"),
        "a catalog stream takes the CloudEvents envelope ($.detail)",
        "remove input_path",
        "input_path: $.detail.data",
    ),
    Case(
        "stream-on-a-topic-target",
        orders(TARGET, "      archive: {type: sns, stream: order-archive}"),
        "a sns target names no catalog stream",
        "type: firehose (delivery_streams:)",
        "type: sns, stream: order-archive",
    ),
    Case(
        "consumer-event-not-on-the-delivery-stream",
        orders(
            "    events: [orders/order.created, orders/order.cancelled]\n    bucket:",
            "    events: [orders/order.created]\n    bucket:",
        ),
        "orders/order.cancelled does not travel on orders/order-archive",
        "add orders/order.cancelled to events: of orders/order-archive",
        TARGET.strip(),
    ),
    Case(
        "pipe-reads-unknown-catalog-stream",
        appended(ACTIVITY_PIPE.replace("orders/order-activity", "orders/order-activty")),
        "unknown stream 'orders/order-activty'",
        "or use one of: orders/order-activity",
        "stream: orders/order-activty",
    ),
    Case(
        "pipe-takes-events-off-the-catalog-stream",
        appended(
            ACTIVITY_PIPE.replace(
                "batch: {size: 10}}",
                "batch: {size: 10}, events: [payments/payment.captured]}",
            )
        ),
        "payments/payment.captured does not travel on orders/order-activity",
        "take events of the stream",
        ("replay-activity:", "source:"),
    ),
]


def test_each_case_is_distinct() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_delivery_input_is_reported_with_file_place_and_fix(case: Case, project: Path) -> None:  # noqa: F811
    assert_reported(case, project)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.id in ("unknown-bucket", "target-names-unknown-delivery-stream")], ids=lambda c: c.id
)
def test_the_cli_prints_delivery_problems_without_a_traceback(case: Case, project: Path) -> None:  # noqa: F811
    assert_lint_prints(case, project)
