"""Catalog streams and their Lambda consumers: what the sample declares, the filters Lambda gets, and the bad-input
corpus of both sections (each mistake stops with file, line and fix)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from eventform.catalog import streams
from eventform.catalog.loader import load
from tests.eventform.catalog.section_cases import Case, assert_lint_prints, assert_reported
from tests.eventform.catalog.test_bad_input import edit, line_containing, project  # noqa: F401 (fixture)

ORDERS = "catalog/orders.yaml"
INVENTORY = "catalog/inventory.yaml"


def test_the_sample_stream_and_its_consumer(project_root: Path) -> None:
    catalog = load(project_root)[0]
    stream = catalog.domain("orders").streams[0]
    assert (stream.name, stream.mode, stream.shards, stream.retention_hours) == (
        "order-activity",
        "on_demand",
        None,
        168,
    )
    assert stream.events == ("orders/order.created", "orders/order.cancelled")
    consumer = next(c for c in catalog.consumers if c.name == "order-metrics")
    source = consumer.stream
    assert source is not None and consumer.events == () and consumer.takes == stream.events  # defaulted
    assert (source.batch_size, source.batching_window, source.parallelization) == (200, 5, 2)
    assert (source.retries.max_attempts, source.retries.max_age, source.retries.bisect_on_error) == (3, 3600, True)


def test_the_mapping_filter_is_the_generated_one_and_the_consumers_combined(project_root: Path) -> None:
    catalog = load(project_root)[0]
    source = next(c for c in catalog.consumers if c.name == "order-metrics").stream
    assert source is not None
    assert streams.mapping_filters(catalog, source) == (
        {
            "data": {
                "source": ["com.example.orders"],
                "type": ["order.cancelled", "order.created"],
                "data": {"country": [{"anything-but": ["US"]}]},
            }
        },
    )
    delivered = {(event, index): passes for event, index, passes in streams.example_matrix(catalog, source)}
    examples = catalog.event("orders/order.created").latest.examples
    assert [delivered[("orders/order.created", i)] for i in range(len(examples))] == [
        e["country"] != "US" for e in examples
    ]
    assert delivered[("orders/order.cancelled", 0)] is True


def test_events_of_several_domains_get_one_generated_filter_per_domain(project_root: Path) -> None:
    from dataclasses import replace

    catalog = load(project_root)[0]
    source = next(c for c in catalog.consumers if c.name == "order-metrics").stream
    assert source is not None
    wide = replace(source, events=("orders/order.created", "users/user.registered"), filters=())
    assert streams.mapping_filters(catalog, wide) == (
        {"data": {"source": ["com.example.orders"], "type": ["order.created"]}},
        {"data": {"source": ["com.example.users"], "type": ["user.registered"]}},
    )


# --------------------------------------------------------------------------------------------------------------
# The bad-input corpus of streams: and stream:
# --------------------------------------------------------------------------------------------------------------
def orders(old: str, new: str) -> Callable[[Path], object]:
    return lambda root: edit(root, ORDERS, old, new)


def inventory(old: str, new: str) -> Callable[[Path], object]:
    return lambda root: edit(root, INVENTORY, old, new)


CASES = [
    Case(
        "provisioned-without-shards",
        orders("mode: on_demand", "mode: provisioned"),
        "a provisioned stream needs its shard count",
        "add shards:",
        "mode: provisioned",
    ),
    Case(
        "on-demand-with-shards",
        orders("    mode: on_demand\n", "    mode: on_demand\n    shards: 2\n"),
        "an on-demand stream has no fixed shard count",
        "set mode: provisioned",
        "shards: 2",
    ),
    Case(
        "retention-too-long",
        orders("retention: 7d", "retention: 400d"),
        "outside what Kinesis keeps",
        "between 24h and 365d",
        "retention: 400d",
    ),
    Case(
        "retention-too-short",
        orders("retention: 7d", "retention: 12h"),
        "outside what Kinesis keeps",
        "between 24h and 365d",
        "retention: 12h",
    ),
    Case(
        "stream-unknown-event",
        orders(
            "events: [orders/order.created, orders/order.cancelled]  # put", "events: [orders/order.shipped]  # put"
        ),
        "unknown event 'orders/order.shipped'",
        "list catalog events",
        "[orders/order.shipped]",
    ),
    Case(
        "partition-key-not-in-every-event",
        orders("partition_key: order_id", "partition_key: channel"),
        "orders/order.cancelled v1 has no payload field 'channel'",
        "every version of every event on the stream has",
        "partition_key: channel",
    ),
    Case(
        "stream-name-too-long",
        orders("  order-activity:\n", "  order-activity-of-every-single-shop-and-marketplace:\n"),
        "is not a stream name: 2 to 40 characters",
        "at most 40 characters",
        "order-activity-of-every-single-shop-and-marketplace:",
    ),
    Case(
        "unknown-stream",
        orders("name: order-activity", "name: order-history"),
        "unknown stream 'orders/order-history'",
        "declare it under `streams:` of catalog/orders.yaml",
        "name: order-history",
    ),
    Case(
        "event-not-on-the-stream",
        orders("      name: order-activity\n", "      name: order-activity\n      events: [users/user.registered]\n"),
        "users/user.registered does not travel on orders/order-activity",
        "take events of the stream",
        "events: [users/user.registered]",
    ),
    Case(
        "stream-and-events",
        orders("    stream:  # Lambda", "    events: [orders/order.created]\n    stream:  # Lambda"),
        "not events and stream together",
        "keep one of",
        "  order-metrics:",
    ),
    Case(
        "stream-consumer-without-handler",
        orders("    handler: order_metrics\n", ""),
        "a stream consumer needs a handler",
        "add handler:",
        ("order-metrics:", "stream:"),
    ),
    Case(
        "stream-consumer-with-a-queue",
        orders("    handler: order_metrics\n", "    handler: order_metrics\n    queue: {max_receive_count: 3}\n"),
        "queue belongs to queues, topics and buses",
        "remove queue",
        "queue: {max_receive_count: 3}",
    ),
    Case(
        "queue-batch-size-on-a-stream",
        orders("function: {timeout: 30s, tables: [counts]}", "function: {timeout: 30s, batch_size: 10}"),
        "function.batch_size configures a queue's event source mapping",
        "set stream.batch.size instead",
        "function: {timeout: 30s, batch_size: 10}",
    ),
    Case(
        "batch-too-large",
        orders("batch: {size: 200, window: 5s}", "batch: {size: 20000, window: 5s}"),
        "a batch of 20000 records is outside what Lambda accepts for a stream",
        "use 1..10000",
        "batch: {size: 20000",
    ),
    Case(
        "window-too-long",
        orders("batch: {size: 200, window: 5s}", "batch: {size: 200, window: 10m}"),
        "a batching window of 600s is outside",
        "use 0s..5m",
        "window: 10m",
    ),
    Case(
        "parallelization-too-high",
        orders("parallelization: 2", "parallelization: 12"),
        "that parallelization is outside",
        "use 1..10",
        "parallelization: 12",
    ),
    Case(
        "retries-forever",
        orders("max_attempts: 3", "max_attempts: -1"),
        "-1 retries is outside what Lambda accepts for a stream",
        "never retries forever",
        "max_attempts: -1",
    ),
    Case(
        "record-age-too-short",
        orders("max_age: 1h, bisect", "max_age: 30s, bisect"),
        "that record age is outside",
        "use 1m..7d",
        "max_age: 30s",
    ),
    Case(
        "filter-outside-data",
        orders("        data: {data: {country:", "        partitionKey: [ord_1001]\n        data: {data: {country:"),
        "Lambda filters Kinesis records on data only; 'partitionKey' cannot be filtered",
        "start at data:",
        "partitionKey: [ord_1001]",
    ),
    Case(
        "filter-sets-the-generated-type",
        orders("data: {data: {country:", "data: {type: [order.created], data: {country:"),
        "data.type is generated from the events the consumer takes",
        "stream.events",
        ("order-metrics:", "data: {type: [order.created]"),
    ),
    Case(
        "filter-operator-lambda-lacks",
        orders("[{anything-but: [US]}]", '[{wildcard: "D*"}]'),
        "wildcard is not in Lambda's filter rule syntax",
        "separate filters",
        ("order-metrics:", "filter:"),
    ),
    Case(
        "filter-field-in-no-schema",
        orders("data: {data: {country:", "data: {data: {land:"),
        "data.data.land: no field of the event's schema is there",
        "payload fields are under data.data",
        ("order-metrics:", "filter:"),
    ),
    Case(
        "filter-matches-no-example",
        orders("[{anything-but: [US]}]", "[{anything-but: [US, DE, FR]}]"),
        "matches none of the catalog examples",
        "rare: true",
        ("order-metrics:", "filter:"),
    ),
]


TABLE_CASES = [
    Case(
        "table-of-an-unknown-consumer",
        inventory("name: reserve-stock/reservations", "name: reserve-stocks/reservations"),
        "inventory has no consumer 'reserve-stocks'",
        "reserve-stock/reservations",
        "name: reserve-stocks/reservations",
        "inventory.yaml",
    ),
    Case(
        "table-the-consumer-lacks",
        inventory("name: reserve-stock/reservations", "name: reserve-stock/holds"),
        "consumer reserve-stock has no table 'holds'",
        "use one of its function.tables (reservations)",
        "name: reserve-stock/holds",
        "inventory.yaml",
    ),
    Case(
        "table-change-to-an-unknown-event",
        inventory("events: {INSERT: stock.reserved}", "events: {INSERT: stock.held}"),
        "inventory has no event 'stock.held'",
        "declare it under events: with via: [table]",
        "events: {INSERT: stock.held}",
        "inventory.yaml",
    ),
    Case(
        "table-event-not-a-table-change",
        inventory("events: {INSERT: stock.reserved}", "events: {INSERT: stock.recount_requested}"),
        "inventory/stock.recount_requested does not say it is a table change",
        "add table to its via:",
        "events: {INSERT: stock.recount_requested}",
        "inventory.yaml",
    ),
    Case(
        "table-change-kind",
        inventory("events: {INSERT: stock.reserved}", "events: {CREATE: stock.reserved}"),
        "'CREATE' is not one of",
        "INSERT, MODIFY, REMOVE",
        "events: {CREATE: stock.reserved}",
        "inventory.yaml",
    ),
    Case(
        "table-filter-on-event-name",
        inventory(
            "        dynamodb: {NewImage: {event_id:",
            "        eventName: [INSERT]\n        dynamodb: {NewImage: {event_id:",
        ),
        "Lambda filters DynamoDB records on dynamodb only; eventName cannot be filtered",
        "map only the changes you want under table.events",
        "eventName: [INSERT]",
        "inventory.yaml",
    ),
    Case(
        "table-filter-matches-no-example",
        inventory("{event_id: {S: [{exists: true}]}}", "{event_id: {S: [{exists: false}]}}"),
        "matches none of the catalog examples",
        "rare: true",
        ("stock-availability:", "filter:"),
        "inventory.yaml",
    ),
    Case(
        "table-and-stream",
        inventory(
            "    handler: stock_availability\n",
            "    stream: {name: orders/order-activity}\n    handler: stock_availability\n",
        ),
        "not stream and table together",
        "keep one of",
        "  stock-availability:",
        "inventory.yaml",
    ),
    Case(
        "table-retries-forever",
        inventory("retry: {max_attempts: 5, max_age: 2h}", "retry: {max_attempts: 20000, max_age: 2h}"),
        "20000 retries is outside what Lambda accepts for a stream",
        "never retries forever",
        "max_attempts: 20000",
        "inventory.yaml",
    ),
]
CASES += TABLE_CASES


def test_each_case_is_distinct() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_stream_input_is_reported_with_file_place_and_fix(case: Case, project: Path) -> None:  # noqa: F811
    assert_reported(case, project)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.id in ("unknown-stream", "retries-forever")], ids=lambda c: c.id
)
def test_the_cli_prints_stream_problems_without_a_traceback(case: Case, project: Path) -> None:  # noqa: F811
    assert_lint_prints(case, project)
