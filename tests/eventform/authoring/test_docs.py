"""`eventform docs` on a temporary copy of the project: the Markdown pages, their links and diagrams, bad --out
values; then the HTML site in headless Chromium (tests/browser/check_site.mjs, playwright-core + Debian's chromium)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.catalog.loader import load
from eventform.cli.main import app
from eventform.synthesis.toolchain import node22
from tests.conftest import copy_project

ROOT = Path(__file__).resolve().parents[3]
NODE = node22(ROOT) or Path(shutil.which("node") or "node")
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT = ROOT / "reports/docs-index.png"
runner = CliRunner()


def docs(project: Path, out: Path):
    return runner.invoke(app, ["docs", "--out", str(out), "--root", str(project)])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs-project")
    return copy_project(root)


@pytest.fixture(scope="module")
def site(project: Path) -> Path:
    out = project / "site"
    result = docs(project, out)
    assert result.exit_code == 0, result.output
    catalog, _ = load(project)
    pages = 1 + len(catalog.domains) + len(catalog.events) + len(catalog.consumers)
    assert f"{pages} pages (Markdown + HTML)" in result.output
    return out


def test_a_page_per_domain_event_and_consumer(site: Path, project: Path):
    pages = sorted(str(p.relative_to(site)) for p in site.rglob("*.md"))
    catalog, _ = load(project)
    assert len(pages) == 1 + len(catalog.domains) + len(catalog.events) + len(catalog.consumers)
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*.html")) == [p[:-3] + ".html" for p in pages]
    assert "events/orders/order.created.md" in pages and "consumers/payments/ledger.md" in pages
    assert sorted(p.name for p in (site / "asyncapi").iterdir())[0] == "inventory.asyncapi.json"
    vendored = (site / "assets/mermaid.min.js").read_bytes()
    assert vendored == (ROOT / "node_modules/mermaid/dist/mermaid.min.js").read_bytes()  # offline: no CDN


def test_event_page_shows_schema_pii_examples_producer_consumers_and_filters(site: Path):
    page = (site / "events/orders/order.created.md").read_text()
    assert "| `customer.email` | string | yes | **PII** | format `email` | PII |" in page
    assert '| `shipping.method` | enum | yes |  | one of `"standard"`, `"express"`, `"digital"` |  |' in page
    assert "[inventory/reserve-stock](../../consumers/inventory/reserve-stock.md): filter on body" in page
    assert "| producer | domain [orders](../../domains/orders.md), owner team-checkout |" in page
    assert "| PII | customer.email, customer.name |" in page
    assert page.count("```json") == 3  # the three catalog examples of v1


def test_consumer_page_names_handler_queue_dlq_alarms_and_target(site: Path):
    page = (site / "consumers/payments/ledger.md").read_text()
    assert "| handler | `handlers/ledger/handler.py` |" in page
    assert (
        "| prod | `prod-payments-ledger.fifo` | `prod-payments-ledger-dlq.fifo` | "
        "`prod-payments-ledger-dlq.fifo-visible-messages`, `prod-payments-ledger.fifo-oldest-message-age` | "
        "`prod-payments-events.fifo` | Lambda `prod-payments-ledger` |"
    ) in page
    stock = (site / "consumers/inventory/reserve-stock.md").read_text()
    assert "| timeout | 20s |" in stock and "| tables | `reservations` |" in stock
    assert "| prod | `prod-inventory-reserve-stock` | `prod-inventory-reserve-stock-role` | " in stock
    push = (site / "consumers/users/crm-sync.md").read_text()
    assert "| delivery | push: SNS invokes Lambda asynchronously (2 retries" in push
    assert "| prod | - (push) | `prod-users-crm-sync-dlq` (on-failure destination) |" in push


def test_topology_diagram(site: Path):
    index = (site / "index.md").read_text()
    assert "```mermaid\nflowchart LR\n" in index
    assert '  producer_orders -->|"order.cancelled, order.created"| topic_orders' in index
    assert '  topic_orders -->|"order.created"| consumer_notifications_send_email' in index
    assert '<pre class="mermaid">flowchart LR' in (site / "index.html").read_text()


def test_every_markdown_link_resolves(site: Path):
    checked = 0
    for page in site.rglob("*.md"):
        for target in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            assert (page.parent / target).resolve().is_file(), f"{page.relative_to(site)} -> {target}"
            checked += 1
    assert checked > 50


def test_build_is_deterministic_and_replaces_the_previous_site(project: Path, site: Path, tmp_path: Path):
    again = tmp_path / "again"
    assert docs(project, again).exit_code == 0
    files = sorted(p.relative_to(site) for p in site.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for relative in files:
        assert (again / relative).read_bytes() == (site / relative).read_bytes(), relative
    (again / "stale.md").write_text("from an old build")
    assert docs(project, again).exit_code == 0
    assert not (again / "stale.md").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["again"], "no staging or retired folder is left behind"


def test_emitting_handlers_are_producers(tmp_path: Path):
    project = copy_project(tmp_path)
    inventory = project / "catalog/inventory.yaml"
    text = inventory.read_text()
    inventory.write_text(
        text.replace(
            "    handler: reserve_stock\n", "    handler: reserve_stock\n    emits: [orders/order.cancelled]\n"
        )
    )
    assert docs(project, project / "site").exit_code == 0
    page = (project / "site/events/orders/order.cancelled.md").read_text()
    assert "; handler of [inventory/reserve-stock](../../consumers/inventory/reserve-stock.md) |" in page
    assert (
        '  consumer_inventory_reserve_stock -.->|"order.cancelled"| topic_orders'
        in (project / "site/index.md").read_text()
    )


def test_a_large_catalog_shows_domains_on_the_index_and_consumers_on_domain_pages(tmp_path: Path):
    from bench.catalog_gen import generate
    from eventform.authoring.docs import DETAIL_LIMIT, topology
    from eventform.catalog.loader import load

    generated = generate(tmp_path, events=120, events_per_domain=40, environments=("prod",))
    catalog, _ = load(generated.root)
    assert len(catalog.consumers) > DETAIL_LIMIT
    index = topology(catalog)
    assert '  topic_domain000 -->|"40 consumers"| consumers_domain001' in index
    assert "consumer_" not in index and index.count("-->") == 3  # one edge per (topic, consuming domain)
    detail = topology(catalog, "domain001")
    assert detail.count("-->") > 40 and "consumer_domain001_" in detail


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (".", "the site folder would contain the project"),
        ("catalog", "is not empty and was not written by eventform docs"),
        ("catalog/orders.yaml", "is a file"),
    ],
)
def test_bad_out_is_refused_and_nothing_changes(tmp_path: Path, out: str, message: str):
    project = copy_project(tmp_path)
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    result = docs(project, project / out)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split()) and "fix:" in result.output
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


def test_invalid_catalog_writes_no_site(tmp_path: Path):
    project = copy_project(tmp_path)
    orders = project / "catalog/orders.yaml"
    orders.write_text(orders.read_text().replace("owner: team-checkout", "owner: team-checkout\nowner_typo: x"))
    result = docs(project, project / "site")
    assert result.exit_code == 1 and "orders.yaml" in result.output and "Nothing was written" in result.output
    assert not (project / "site").exists()


def require_chromium() -> None:
    """Chromium is required: `make setup` installs it (make browser); under CI its absence is a failure."""
    if CHROMIUM.is_file() and NODE.is_file():
        return
    message = f"{CHROMIUM} or {NODE} is missing: run `make browser` (apt-get install chromium) and `make setup`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_site_in_headless_chromium(site: Path, project: Path):
    require_chromium()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    run = subprocess.run(
        [str(NODE), str(ROOT / "tests/browser/check_site.mjs"), str(site), str(SCREENSHOT)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
        env={**os.environ, "CHROMIUM": str(CHROMIUM)},
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    pages = {entry["page"]: entry for entry in report["pages"]}
    catalog, _ = load(project)
    assert len(pages) == 1 + len(catalog.domains) + len(catalog.events) + len(catalog.consumers)
    for name, entry in pages.items():
        assert entry["title"].endswith("- eventform"), name
        assert entry["consoleErrors"] == [] and entry["pageErrors"] == [], (name, entry)
        assert entry["failedRequests"] == [] and entry["brokenLinks"] == [], (name, entry)
        assert entry["svgs"] == entry["diagrams"], f"{name}: a mermaid diagram did not render"
    assert pages["index.html"]["svgs"] == 1 and pages["index.html"]["links"] > 20
    assert sum(entry["diagrams"] for entry in pages.values()) == 6  # the index and one per domain
    assert SCREENSHOT.stat().st_size > 10_000
    print(f"screenshot of the docs index: {SCREENSHOT}")
