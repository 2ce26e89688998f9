"""The docs site's cost page: each deployed environment's estimate per domain and service (the figures of
``eventform cost``), what it leaves out, and the price table with each price's source and verification status."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.authoring.cost import estimate
from eventform.authoring.cost_docs import cost_context
from eventform.catalog.loader import load
from eventform.cli.main import app
from tests.conftest import copy_project


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("docs-cost"))
    result = CliRunner().invoke(app, ["docs", "--out", str(root / "site"), "--root", str(root)])
    assert result.exit_code == 0, result.output
    return root / "site"


def test_the_index_links_the_cost_page(site: Path) -> None:
    assert "[estimated cost](cost.md)" in (site / "index.md").read_text()
    assert 'href="cost.html"' in (site / "index.html").read_text()
    html = (site / "cost.html").read_text()
    assert "<table>" in html and 'href="https:' not in html  # sources are named, not linked: the site works offline


def test_each_deployed_environment_has_its_estimate(site: Path, project_root: Path) -> None:
    page = (site / "cost.md").read_text()
    assert "## local" not in page and "The local environment (local) runs on a moto server" in page
    catalog, environments = load(project_root, ["prod"])
    result = estimate(catalog, environments[0])
    prod = page.split("## prod (eu-west-1)", 1)[1].split("\n## ", 1)[0]
    assert f"Total: **{result.total():.2f} USD per month**" in prod
    orders = next(line for line in prod.splitlines() if line.startswith("| [orders](domains/orders.md)"))
    services = prod.split("| domain | ", 1)[1].split("\n", 1)[0].split(" | ")
    kinesis = services.index("Kinesis")
    assert orders.split(" | ")[kinesis + 1] == f"{result.total(domain='orders', service='Kinesis'):.2f}"
    assert "[payments/ledger](consumers/payments/ledger.md)" in prod  # the most expensive consumers, linked
    assert "Not estimated (6):" in prod
    assert "- inventory/reservation-feed: a table's stream has no declared volume (nor are its DynamoDB" in prod
    assert "- DynamoDB stream reads by Lambda (table consumers) are free" in prod
    assert re.search(r"Unverified prices used \(\d+\): cloudwatch_alarm_metric_month,", prod)
    for env in ("dev", "staging"):
        assert f"## {env} (eu-west-1)" in page


def test_the_price_table_shows_each_price_with_its_check(site: Path) -> None:
    page = (site / "cost.md").read_text()
    table = page.split("## Price table eu-west-1 (as of 2026-11-29)", 1)[1]
    assert "Checked on 2026-11-30: each price's page was looked up in stored copies" in table
    assert "| `sqs_standard_per_million` | 0.4 | unverified | `https://aws.amazon.com/sqs/pricing/` |" in table
    assert "| `kms_key_month` | 1 | verified | `https://aws.amazon.com/kms/pricing/` |" in table
    assert "`days_per_month` = 30" in table
    assert "## What no estimate includes" in page and "- free tiers: they are per account" in page


def test_an_environment_without_a_price_table_says_so(project_root: Path) -> None:
    catalog, environments = load(project_root)
    moved = tuple(replace(e, region="us-east-2") if e.name == "staging" else e for e in environments)
    costs = {c.environment.name: c for c in cost_context(catalog, moved)["costs"]}
    assert costs["staging"].result is None
    assert costs["staging"].refused.startswith("no price table for region us-east-2")
    assert costs["prod"].result is not None and costs["prod"].total > 0
