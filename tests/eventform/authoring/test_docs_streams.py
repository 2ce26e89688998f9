"""The docs show a catalog stream on its domain's page and a stream consumer's mapping on its own page."""

from __future__ import annotations

from pathlib import Path

from eventform.authoring.docs import build
from eventform.catalog.loader import load


def test_the_stream_and_its_consumer_are_documented(project_root: Path, tmp_path: Path) -> None:
    catalog, environments = load(project_root)
    build(catalog, environments, tmp_path / "site")
    domain = (tmp_path / "site/domains/orders.md").read_text()
    assert (
        "| `{env}-orders-order-activity` | orders/order.created, orders/order.cancelled | `order_id` | on demand |"
        in (domain)
    )
    assert "[orders/order-metrics](../consumers/orders/order-metrics.md)" in domain
    page = (tmp_path / "site/consumers/orders/order-metrics.md").read_text()
    assert "Lambda reads the Kinesis stream `orders/order-activity` from TRIM_HORIZON" in page
    assert '"type": ["order.cancelled", "order.created"]' in page and '"anything-but": ["US"]' in page
    assert "| dev | - | `dev-orders-order-metrics-dlq` |" in page  # no queue: the DLQ is the on-failure destination
    assert (tmp_path / "site/consumers/orders/order-metrics.html").is_file()


def test_a_table_consumer_page_names_the_table_and_its_mapped_changes(project_root: Path, tmp_path: Path) -> None:
    catalog, environments = load(project_root)
    build(catalog, environments, tmp_path / "site")
    page = (tmp_path / "site/consumers/inventory/stock-availability.md").read_text()
    assert "the DynamoDB stream of table `reserve-stock/reservations` (INSERT -> inventory/stock.reserved;" in page
    assert "### DynamoDB stream of `{env}-inventory-reserve-stock-reservations`" in page
