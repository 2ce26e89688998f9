"""The docs show a catalog delivery stream on its domain's page, among the receivers of the events it archives, and
as the destination of the rule target that names it."""

from __future__ import annotations

from pathlib import Path

from eventform.authoring.docs import build
from eventform.catalog.loader import load


def test_the_delivery_stream_is_documented_where_readers_look(project_root: Path, tmp_path: Path) -> None:
    catalog, environments = load(project_root)
    build(catalog, environments, tmp_path / "site")
    domain = (tmp_path / "site/domains/orders.md").read_text()
    assert "## Delivery streams" in domain
    assert (
        "| `{env}-orders-order-archive` | orders/order.created, orders/order.cancelled | `archive` | "
        "`events/type=<event type>/year=YYYY/month=MM/day=DD/`; errors `errors/<error type>/...` | 64 MiB or 300 s | "
        "GZIP |"
    ) in domain
    event = (tmp_path / "site/events/orders/order.cancelled.md").read_text()
    assert "[orders/order-archiver](../../consumers/orders/order-archiver.md)" in event
    assert (
        "- Firehose delivery stream `orders/order-archive`: archived to bucket `archive` under "
        "`events/type=order.cancelled/year=YYYY/month=MM/day=DD/` (GZIP)"
    ) in event
    consumer = (tmp_path / "site/consumers/orders/order-archiver.md").read_text()
    assert "the catalog delivery stream `orders/order-archive` (the envelope, `$.detail`)" in consumer
