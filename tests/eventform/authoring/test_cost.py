"""``eventform cost``: one consumer's and one stream's figures against hand computations, the price table's provenance
and verification status, what cannot be estimated, and the 1,000-event generated catalog."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.catalog_gen import generate
from eventform.authoring.cost import estimate, price_table, runs_per_day
from eventform.authoring.price_table import parse
from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.cli.main import app

GIB = 1024**3


@pytest.fixture(scope="module")
def prod(project_root: Path):
    catalog, environments = load(project_root, ["prod"])
    return estimate(catalog, environments[0])


def consumer_items(result, consumer: str) -> dict[str, float]:
    return {item.what: item.monthly for item in result.items if item.consumer == consumer}


def test_send_email_in_prod_matches_a_hand_computation(prod) -> None:
    """notifications/send-email takes orders/order.created (40,000 a day) and users/user.registered (5,000 a day),
    each under 64 KB: 1,350,000 messages in a 30-day month, 0.52 a second, so one message per batch."""
    messages = (40_000 + 5_000) * 30
    sqs = 0.40 / 1e6
    expected = {
        "send-email: sends": messages * sqs,
        # five Lambda pollers long-poll for 20 s: 648,000 receives a month at least; the traffic needs more
        "send-email: receives (long polling)": max(messages, 5 * 30 * 86_400 / 20) * sqs,
        "send-email: deletes": messages * sqs,
        # customer-managed keys: one GenerateDataKey and one Decrypt per 300 s data-key reuse period
        "send-email: queue encryption": 2 * 30 * 86_400 / 300 / 10_000 * 0.03,
        "send-email: requests": messages / 1e6 * 0.20,
        # typical_duration_ms: 150 (catalog/notifications.yaml) at 256 MB
        "send-email: compute": messages * 0.150 * 256 / 1024 * 0.0000166667,
        "send-email: log ingestion": messages * (300 + 1024) / GIB * 0.57,
        "send-email: log storage": messages * (300 + 1024) / GIB * 365 / 30 * 0.03,  # logs_days: 365 in prod
        "send-email: traces": messages * 0.05 / 1e6 * 5.00,
        "send-email: idempotency records": messages * 2 / 1e6 * 0.7068,
        # queue age, DLQ depth, Duration and ConcurrentExecutions (1 metric each), error and throttle rates (2 each)
        "send-email: alarms": 8 * 0.10,
        "send-email: composite alarm": 0.50,
    }
    found = consumer_items(prod, "notifications/send-email")
    assert found.keys() == expected.keys()
    for what, amount in expected.items():
        assert found[what] == pytest.approx(amount, rel=1e-9), what
    assert prod.total(consumer="notifications/send-email") == pytest.approx(sum(expected.values()))
    assert round(sum(expected.values()), 2) == 7.89


def test_publishing_and_platform_costs(prod) -> None:
    orders = {i.what: i for i in prod.items if i.domain == "orders"}
    assert orders["order.created: publishes"].quantity == pytest.approx(40_000 * 30 / 1e6)
    assert orders["order.created: events put"].monthly == pytest.approx(40_000 * 30 / 1e6 * 1.00)
    archived = 40_000 * 30 * 2048 / GIB
    assert orders["order.created: archive storage"].quantity == pytest.approx(archived * 365 / 30)  # archive_days 365
    platform = {i.what: i for i in prod.items if i.domain == "platform"}
    assert platform["customer-managed keys"].quantity == 5 + 2  # five domains, the alarm topic's, idempotency's
    assert platform["overview dashboards"].quantity == 1
    dashboards = [i for i in prod.items if i.what == "dashboards"]
    assert len(dashboards) == 5 and all(i.quantity == 1 for i in dashboards)


def test_what_cannot_be_estimated_is_listed(prod) -> None:
    assert (
        "inventory/reservation-feed: a table's stream has no declared volume (nor are its DynamoDB stream reads "
        "estimated: free for Lambda only)"
    ) in prod.not_estimated
    assert "users/customer-fanout: target onboarding (stepfunctions) is outside the catalog" in prod.not_estimated
    assert not any("order-activity" in line for line in prod.not_estimated)  # catalog streams are priced


def test_the_price_table_says_where_and_when_its_prices_come_from() -> None:
    table = price_table("eu-west-1")
    assert table.region == "eu-west-1" and table.as_of and table.checked_on and table.checked
    aws = ("https://aws.amazon.com/", "https://docs.aws.amazon.com/")
    assert all(url.startswith(aws) for url in table.sources.values())
    assert {"sns", "sqs", "eventbridge", "lambda", "kms", "cloudwatch", "kinesis", "firehose", "apigateway",
            "stepfunctions"} <= set(table.sources)


def test_every_price_has_a_source_a_date_and_a_verification_status() -> None:
    """The raw file, not the parsed table: a price without its check would otherwise be refused before this test
    could name it."""
    source = Path(__file__).parents[3] / "eventform/authoring/prices/eu-west-1.json"
    data = json.loads(source.read_text())
    assert set(data["checks"]) == set(data["prices"])
    for key, check in data["checks"].items():
        assert check["status"] in ("verified", "unverified"), key
        assert check["source"].startswith("https://"), key
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", check["read"]), key
        assert len(check["page_says"]) > 20, key  # what the page said, in words
    table = price_table("eu-west-1")
    verified = {k for k, c in table.checks.items() if c.status == "verified"}
    assert verified == {"kms_key_month", "xray_trace_per_million", "dynamodb_stream_read_by_lambda_per_million"}
    assert set(table.unverified) == set(table.prices) - verified
    assert table.prices["dynamodb_stream_read_by_lambda_per_million"] == 0.0


def test_a_price_without_a_check_is_refused(tmp_path: Path) -> None:
    data = json.loads((Path(__file__).parents[3] / "eventform/authoring/prices/eu-west-1.json").read_text())
    del data["checks"]["sqs_standard_per_million"]
    with pytest.raises(CatalogError, match="prices without a check: sqs_standard_per_million"):
        parse(tmp_path / "eu-west-1.json", data)
    data = json.loads((Path(__file__).parents[3] / "eventform/authoring/prices/eu-west-1.json").read_text())
    data["checks"]["sqs_standard_per_million"]["status"] = "probably"
    with pytest.raises(CatalogError, match="needs status"):
        parse(tmp_path / "eu-west-1.json", data)


def test_the_on_demand_stream_in_prod_matches_a_hand_computation(prod) -> None:
    """orders/order-activity: on demand, 7 days' retention, carries order.created (40,000 a day, 2 KB) and
    order.cancelled (2,000 a day, 1 KB); one reader (orders/order-metrics); prod keeps customer-managed keys."""
    written = (40_000 * 30 * 2048 + 2_000 * 30 * 1024) / GIB  # records already whole KBs
    expected = {
        "order-activity: stream-hours": 30 * 24 * 0.04,
        "order-activity: data written": written * 0.08,
        "order-activity: data read by 1 reader(s)": written * 0.04,
        # what is older than 24 hours, up to 7 days: 144 of the month's 720 hours' worth of data, kept all month
        "order-activity: retention 24h..168h": written * 144 / 720 * 0.10,
        "order-activity: stream encryption": 2 * 30 * 86_400 / 300 / 10_000 * 0.03,  # the writer's and reader's keys
    }
    found = {i.what: i.monthly for i in prod.items if i.domain == "orders" and i.what.startswith("order-activity:")}
    assert found.keys() == expected.keys()
    for what, amount in expected.items():
        assert found[what] == pytest.approx(amount, rel=1e-9), what
    assert round(sum(expected.values()), 2) == 29.18
    assert "Kinesis readers share each shard's read throughput (no enhanced fan-out): no fan-out charges" in prod.notes


def test_a_provisioned_stream_pays_shard_hours_payload_units_and_retention(project_copy: Path) -> None:
    orders = project_copy / "catalog" / "orders.yaml"
    text = orders.read_text()
    assert "    mode: on_demand\n    retention: 7d\n" in text
    orders.write_text(text.replace("    mode: on_demand\n    retention: 7d\n",
                                   "    mode: provisioned\n    shards: 2\n    retention: 30d\n"))
    catalog, environments = load(project_copy, ["dev"])
    result = estimate(catalog, environments[0])
    found = {i.what: i for i in result.items if i.what.startswith("order-activity:")}
    written = (40_000 * 30 * 2048 + 2_000 * 30 * 1024) / GIB
    assert found["order-activity: shard-hours (2 shards)"].monthly == pytest.approx(2 * 720 * 0.015)
    assert found["order-activity: PUT payload units"].quantity == pytest.approx(42_000 * 30 / 1e6)  # < 25 KB: 1 each
    assert found["order-activity: extended retention (to 168h)"].monthly == pytest.approx(2 * 720 * 0.02)
    long_term = found["order-activity: long-term retention (to 720h)"]
    assert long_term.quantity == pytest.approx(written * (720 - 168) / 720)
    assert long_term.price == "kinesis_long_term_retention_per_gb_month"
    assert not any("data read" in what for what in found)  # reads are in the shard-hour
    assert "Kinesis provisioned streams: reads are included in the shard-hour" in result.notes


def test_a_stream_event_without_volume_is_named(project_copy: Path) -> None:
    orders = project_copy / "catalog" / "orders.yaml"
    text = orders.read_text()
    cancelled = "    volume: {per_day: 2000, peak_per_second: 2, size: 1KB}\n"
    assert text.count(cancelled) == 1
    orders.write_text(text.replace(cancelled, ""))
    catalog, environments = load(project_copy, ["prod"])
    result = estimate(catalog, environments[0])
    assert "orders/order-activity: records of orders/order.cancelled (no volume: declared)" in result.not_estimated
    written = next(i for i in result.items if i.what == "order-activity: data written")
    assert written.quantity == pytest.approx(40_000 * 30 * 2048 / GIB)  # order.created's records still count


def test_a_table_consumer_reads_its_stream_for_free(prod) -> None:
    reads = [i for i in prod.items if i.price == "dynamodb_stream_read_by_lambda_per_million"]
    assert reads and all(i.monthly == 0 and "free for Lambda" in i.what for i in reads)
    assert any(n.startswith("DynamoDB stream reads by Lambda") for n in prod.notes)


def test_the_estimate_names_the_unverified_prices_it_used(prod) -> None:
    used = {i.price for i in prod.items}
    assert set(prod.unverified) == used - {"kms_key_month", "xray_trace_per_million",
                                           "dynamodb_stream_read_by_lambda_per_million"}
    assert "firehose_ingestion_per_gb" not in prod.unverified  # not used by the sample: not named


def test_schedule_runs_per_day() -> None:
    assert runs_per_day("cron(0 3 * * ? *)") == 1
    assert runs_per_day("cron(0/15 * * * ? *)") == 96
    assert runs_per_day("rate(5 minutes)") == 288
    assert runs_per_day("cron(0 9 ? * MON-FRI *)") == pytest.approx(5 / 7)
    assert runs_per_day("cron(30 8,17 1 * ? *)") == pytest.approx(2 / 30)  # twice on the first of the month
    assert runs_per_day("cron(0 9 ? * 2-6 *)") == pytest.approx(5 / 7)


def test_the_cli_prints_the_table_sources_and_gaps(project_root: Path) -> None:
    result = CliRunner().invoke(app, ["cost", "--env", "prod", "--root", str(project_root), "--by-consumer"])
    assert result.exit_code == 0, result.output
    assert "estimated monthly cost, prod (USD)" in result.output
    assert "notifications/send-email" in result.output and "7.89" in result.output
    assert "prices: eu-west-1, as of" in result.output and "https://aws.amazon.com/sqs/pricing/" in result.output
    assert "not estimated (5):" in result.output
    unverified = result.output.split("unverified prices (", 1)[1].split("\n", 1)[0]
    assert unverified.startswith("26 of the 29 used; checked 2026-11-30")
    assert "sqs_standard_per_million" in unverified and "kms_key_month" not in unverified
    assert "included: DynamoDB stream reads by Lambda (table consumers) are free" in result.output


def test_a_region_without_a_price_table_is_refused(project_copy: Path) -> None:
    dev = project_copy / "environments" / "dev.yaml"
    dev.write_text(dev.read_text().replace("region: eu-west-1", "region: us-east-2", 1))
    result = CliRunner().invoke(app, ["cost", "--env", "dev", "--root", str(project_copy)])
    assert result.exit_code == 1
    assert "no price table for region us-east-2" in result.output
    assert "eventform/authoring/prices/us-east-2.json" in result.output


def test_the_generated_1000_event_catalog(tmp_path: Path) -> None:
    generated = generate(tmp_path, events=1000)
    catalog, environments = load(tmp_path, ["prod"])
    result = estimate(catalog, environments[0])
    assert result.not_estimated == []
    publishes = sum(i.quantity for i in result.items if i.service == "SNS" and i.what.endswith("publishes"))
    assert publishes == pytest.approx(sum(1000 * (1 + n % 10) for n in range(1000)) * 30 / 1e6)
    domains = result.by_domain_and_service()
    assert len(domains) == generated.domains + 1  # and the platform
    consumers = {i.consumer for i in result.items if i.consumer}
    assert len(consumers) == generated.consumers == 1000


def test_diff_shows_the_cost_change_of_a_volume_change(project_root: Path, project_copy: Path) -> None:
    from eventform.authoring.cost import cost_changes
    from eventform.authoring.diff_report import Report, render_markdown

    orders = project_copy / "catalog" / "orders.yaml"
    doubled = orders.read_text().replace("per_day: 40000, peak_per_second: 25", "per_day: 80000, peak_per_second: 50")
    orders.write_text(doubled)
    changes = cost_changes(load(project_root), load(project_copy))
    assert [c.environment for c in changes] == ["dev", "prod", "staging"]  # local costs nothing
    prod = next(c for c in changes if c.environment == "prod")
    services = {s: (before, after) for s, before, after in prod.services}
    assert services["SNS"][1] - services["SNS"][0] == pytest.approx(40_000 * 30 / 1e6 * 0.50)  # the extra publishes
    assert prod.delta > 0 and "CloudWatch" in services  # send-email's and reserve-stock's logs grow too
    report = Report("main", "0" * 40, [], [], [], [], 0, changes)
    text = render_markdown(report)
    assert "### Cost (monthly estimate, USD)" in text
    assert f"| prod | {prod.before:.2f} | {prod.after:.2f} | +{prod.delta:.2f} |" in text
