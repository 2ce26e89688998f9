"""Dashboards: one per domain (paged by CloudWatch's limits) and an overview per environment, drawn from the alarm
plan with the service levels as lines; deterministic, and within the limits on the 1,000-event generated catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cdktn_provider_aws.cloudwatch_dashboard import CloudwatchDashboard

from bench.catalog_gen import generate
from eventform.catalog.loader import load
from eventform.catalog.naming import Names
from modules.dashboard import MAX_BODY_BYTES, MAX_METRICS, MAX_WIDGETS, Page, domain_pages, overview_pages
from modules.observability import consumer_watch

DOMAINS = ("inventory", "notifications", "orders", "payments", "users")


def pages_of(root: Path, environment_name: str = "prod") -> tuple[list[Page], list[Page]]:
    catalog, environments = load(root, [environment_name])
    environment = environments[0]
    names = Names(env=environment.name, region=environment.region, account_id=environment.account_id)
    pages, overview = [], []
    for domain in catalog.domains:
        watches = [consumer_watch(c, environment, names) for c in domain.consumers]
        found = domain_pages(domain, environment, names, watches)
        pages += found
        overview.append((domain, watches, len(found)))
    return pages, overview_pages(environment, overview)


def within_limits(page: Page) -> None:
    body = json.loads(page.body)
    assert len(body["widgets"]) == page.widgets <= MAX_WIDGETS
    assert page.metrics <= MAX_METRICS
    assert len(page.body.encode()) <= MAX_BODY_BYTES
    assert all(len(w["properties"].get("metrics", [])) <= 500 for w in body["widgets"])
    assert all(len(w["properties"].get("alarms", [])) <= 100 for w in body["widgets"])
    for widget in body["widgets"]:  # CloudWatch's grid: 24 columns
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= 24


def test_one_dashboard_per_domain_and_an_overview_in_prod(stack) -> None:
    for domain in DOMAINS:
        (found,) = stack(f"prod-{domain}").resources(CloudwatchDashboard.TF_RESOURCE_TYPE).values()
        assert found["dashboard_name"] == f"prod-{domain}"
    (overview,) = stack("prod-platform").resources(CloudwatchDashboard.TF_RESOURCE_TYPE).values()
    assert overview["dashboard_name"] == "prod_overview"  # '_': no domain name can take it
    assert stack("local-users").resources(CloudwatchDashboard.TF_RESOURCE_TYPE) == {}


def test_each_consumer_has_lag_and_errors_with_its_service_level_drawn(stack) -> None:
    (found,) = stack("prod-payments").resources(CloudwatchDashboard.TF_RESOURCE_TYPE).values()
    widgets = json.loads(found["dashboard_body"])["widgets"]
    titles = {w["properties"].get("title"): w for w in widgets}
    ledger_lag = titles["payments/ledger: lag"]["properties"]
    assert ledger_lag["annotations"]["horizontal"] == [{"label": "slo.max_lag 120s (s)", "value": 120}]
    queue = ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "prod-payments-ledger.fifo"]
    assert ledger_lag["metrics"][0][:4] == queue
    ledger_errors = titles["payments/ledger: errors, DLQ depth (right)"]["properties"]
    assert ledger_errors["annotations"]["horizontal"] == [{"label": "slo.max_error_rate 0.5%", "value": 0.5}]
    expressions = [row[0]["expression"] for row in ledger_errors["metrics"] if "expression" in row[0]]
    assert expressions[0] == "IF(p0_invocations > 0, 100 * p0_errors / p0_invocations, 0)"
    assert ledger_errors["metrics"][-1][-1]["yAxis"] == "right"  # the DLQ's depth
    published = titles["prod-payments-events.fifo: published per minute"]["properties"]
    assert {line["label"]: line["value"] for line in published["annotations"]["horizontal"]} == {
        "declared average per minute": round((38000 + 36000) / 1440, 2),
        "declared peak per minute": (25 + 20) * 60,
    }
    status = next(w for w in widgets if w["type"] == "alarm")
    composite = "arn:aws:cloudwatch:eu-west-1:333333333333:alarm:prod-payments-ledger-consumer"
    assert composite in status["properties"]["alarms"]
    assert found["depends_on"], "the alarm widget names composites of this stack: created after them"


def test_the_overview_links_every_domain_and_scales_lag_to_each_slo(stack) -> None:
    (overview,) = stack("prod-platform").resources(CloudwatchDashboard.TF_RESOURCE_TYPE).values()
    widgets = json.loads(overview["dashboard_body"])["widgets"]
    text = " ".join(w["properties"].get("markdown", "") for w in widgets)
    for domain in DOMAINS:
        assert f"[prod-{domain}](#dashboards:name=prod-{domain})" in text
    title = "payments: worst consumer lag, % of its slo.max_lag"
    lag = next(w for w in widgets if w["properties"].get("title") == title)
    rows = lag["properties"]["metrics"]
    assert {"expression": "m0 * 100 / 600", "id": "e0", "visible": False} in [r[0] for r in rows]
    assert rows[-1][0]["expression"].startswith("MAX([e0, e1")
    assert lag["properties"]["annotations"]["horizontal"] == [{"label": "slo.max_lag", "value": 100}]


def test_dashboards_are_deterministic_and_within_limits_for_the_sample(project_root: Path) -> None:
    first, overview = pages_of(project_root)
    again, overview_again = pages_of(project_root)
    assert [p.body for p in first + overview] == [p.body for p in again + overview_again]
    assert len(overview) == 1
    for page in [*first, *overview]:
        within_limits(page)


@pytest.mark.parametrize("consumers_per_event", [1, 12])
def test_the_generated_1000_event_catalog_fits_cloudwatch(tmp_path: Path, consumers_per_event: int) -> None:
    """1,000 events in 20 domains: one consumer per event fits one page per domain; twelve (600 consumers a
    domain, 1,200 widgets) are split into pages that each stay within 500 widgets, 2,500 metrics and 1 MB."""
    generate(tmp_path, events=1000, consumers_per_event=consumers_per_event)
    pages, overview = pages_of(tmp_path)
    for page in [*pages, *overview]:
        within_limits(page)
    assert [p.name for p in overview][:2] == ["prod_overview", "prod_overview-2"]  # 3,000 overview rows: 2 pages
    assert len({p.name for p in pages}) == len(pages)
    if consumers_per_event == 1:
        assert len(pages) == 20
    else:
        assert len(pages) > 20 and any(p.name.endswith("-3") for p in pages)
        consumers = sum(t.count(': lag"') for t in (p.body for p in pages))
        assert consumers == 12_000
