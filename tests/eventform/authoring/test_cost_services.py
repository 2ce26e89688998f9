"""The usage functions for services the catalog will grow into (Firehose, API Gateway, Step Functions) and Kinesis,
each against a hand computation of how the service meters it, and every line priced by the eu-west-1 table."""

from __future__ import annotations

import pytest

from eventform.authoring.cost_services import (
    Line,
    api_gateway,
    firehose,
    firehose_objects,
    kinesis_stream,
    step_functions,
)
from eventform.authoring.price_table import price_table

GIB = 1024**3


def by_what(lines: list[Line]) -> dict[str, Line]:
    return {line.what: line for line in lines}


def test_every_line_names_a_price_of_the_table() -> None:
    table = price_table("eu-west-1")
    lines = [
        *kinesis_stream("s", mode="on_demand", shards=None, retention_hours=720, writes=[(1e6, 3000)], readers=2,
                        hours=720),
        *kinesis_stream("p", mode="provisioned", shards=4, retention_hours=720, writes=[(1e6, 3000)], readers=2,
                        hours=720),
        *firehose("f", records=1e6, record_bytes=3000, dynamic_partitioning=True, objects=8640),
        *api_gateway("r", kind="rest", requests=1e6),
        *api_gateway("h", kind="http", requests=1e6, request_bytes=100),
        *step_functions("w", kind="standard", executions=1e4, transitions=6),
        *step_functions("x", kind="express", executions=1e6, duration_ms=250, memory_mb=100),
    ]
    assert {line.price for line in lines} <= set(table.prices)
    assert len(lines) == 17


def test_kinesis_on_demand_rounds_writes_to_1_kb_and_counts_each_reader() -> None:
    lines = by_what(kinesis_stream("s", mode="on_demand", shards=None, retention_hours=24,
                                   writes=[(1_000_000, 4500), (10, 1024)], readers=3, hours=720))
    assert lines["s: stream-hours"].quantity == 720
    assert lines["s: data written"].quantity == pytest.approx((1_000_000 * 5 * 1024 + 10 * 1024) / GIB)  # 4.5 KB: 5 KB
    assert lines["s: data read by 3 reader(s)"].quantity == pytest.approx(3 * (1_000_000 * 4500 + 10 * 1024) / GIB)
    assert not any("retention" in what for what in lines)  # 24 hours are included


def test_kinesis_provisioned_counts_25_kb_payload_units() -> None:
    lines = by_what(kinesis_stream("p", mode="provisioned", shards=3, retention_hours=48,
                                   writes=[(1000, 5 * 1024), (1000, 45 * 1024), (10, 1024 * 1024)], readers=1,
                                   hours=720))
    assert lines["p: PUT payload units"].quantity == pytest.approx((1000 * 1 + 1000 * 2 + 10 * 41) / 1e6)
    assert lines["p: shard-hours (3 shards)"].quantity == 3 * 720
    assert lines["p: extended retention (to 48h)"].quantity == 3 * 720


def test_firehose_rounds_records_to_5_kb_and_prices_dynamic_partitioning() -> None:
    lines = by_what(firehose("f", records=1_000_000, record_bytes=3 * 1024, dynamic_partitioning=True, objects=8640))
    assert lines["f: ingestion"].quantity == pytest.approx(1_000_000 * 5 * 1024 / GIB)  # a 3 KB record bills as 5 KB
    assert lines["f: dynamic partitioning"].quantity == pytest.approx(1_000_000 * 3 * 1024 / GIB)
    assert lines["f: S3 objects delivered"].quantity == pytest.approx(8.64)
    assert [line.what for line in firehose("g", records=10, record_bytes=12 * 1024)] == ["g: ingestion"]
    assert firehose("g", records=10, record_bytes=12 * 1024)[0].quantity == pytest.approx(10 * 15 * 1024 / GIB)


def test_api_gateway_rest_per_call_http_per_512_kb() -> None:
    rest = api_gateway("r", kind="rest", requests=2_000_000, request_bytes=900 * 1024)
    assert [(line.quantity, line.price) for line in rest] == [(2.0, "apigateway_rest_per_million")]
    http = api_gateway("h", kind="http", requests=2_000_000, request_bytes=600 * 1024)  # two 512 KB increments
    assert [(line.quantity, line.price) for line in http] == [(4.0, "apigateway_http_per_million")]
    assert api_gateway("h", kind="http", requests=1_000_000)[0].quantity == 1.0


def test_step_functions_standard_transitions_and_express_rounding() -> None:
    table = price_table("eu-west-1")
    standard = step_functions("w", kind="standard", executions=10_000, transitions=6)
    assert standard[0].quantity == 60 and standard[0].quantity * table[standard[0].price] == pytest.approx(1.50)
    express = by_what(step_functions("x", kind="express", executions=1_000_000, duration_ms=250, memory_mb=100))
    assert express["x: Express requests"].quantity == 1.0
    # 250 ms bills as 300 ms, 100 MB as 128 MB
    assert express["x: Express duration"].quantity == pytest.approx(1_000_000 * 0.3 * 128 / 1024)


def test_firehose_objects_flush_per_interval_or_per_buffer() -> None:
    month = 30 * 86_400
    mib = 1024**2
    # busy: a record every second flushes every 300 s (8,640 objects); rare: 100 records, ~one object each
    busy, rare = (month, 1024), (100, 1024)
    found = firehose_objects([busy, rare], interval_seconds=300, buffer_bytes=64 * mib, month_seconds=month)
    assert found == 8640 + 100
    heavy = (30 * 1024, 1024**2)  # 30,720 one-MiB records: 480 full buffers, yet 8,640 interval flushes win
    assert firehose_objects([heavy], interval_seconds=300, buffer_bytes=64 * mib, month_seconds=month) == 8640
    huge = (month * 10, 1024**2)  # ten MiB a second: the buffer fills first
    assert firehose_objects([huge], interval_seconds=300, buffer_bytes=64 * mib, month_seconds=month) == pytest.approx(
        month * 10 / 64
    )
