"""The docs show an HTTP ingestion endpoint on its domain's page (paths, who may call, limits) and as a producer on
the page of each event it accepts; lint lists it among the event's channels."""

from __future__ import annotations

from pathlib import Path

from eventform.authoring.docs import build
from eventform.catalog.loader import load
from eventform.cli.views import channels


def test_the_endpoint_is_on_its_domains_page_and_its_events_page(project_root: Path, tmp_path: Path) -> None:
    catalog, environments = load(project_root)
    build(catalog, environments, tmp_path / "site")
    domain = (tmp_path / "site/domains/orders.md").read_text()
    assert "## Ingestion endpoints" in domain
    row = next(line for line in domain.splitlines() if line.startswith("| REST API `{env}-orders-partner-webhook`"))
    assert "`POST /events/order.created`" in row
    assert "IAM (SigV4): this account, partners marketplace" in row
    assert "| 32 KB | 25/s, burst 50 | bus `{env}-orders` |" in row
    event = (tmp_path / "site/events/orders/order.created.md").read_text()
    assert "HTTP endpoint orders/partner-webhook (`POST /events/order.created`, IAM)" in event
    cancelled = (tmp_path / "site/events/orders/order.cancelled.md").read_text()
    assert "HTTP endpoint" not in cancelled


def test_lint_lists_the_endpoint_among_the_channels(project_root: Path) -> None:
    catalog = load(project_root)[0]
    assert "http orders/partner-webhook" in channels(catalog, catalog.event("orders/order.created"))
    assert not any(c.startswith("http") for c in channels(catalog, catalog.event("orders/order.cancelled")))
