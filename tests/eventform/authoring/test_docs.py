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
from tests.eventform.authoring.bus_only import add_billing

ROOT = Path(__file__).resolve().parents[3]
NODE = node22(ROOT) or Path(shutil.which("node") or "node")
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT = ROOT / "reports/docs-index.png"
BUS_CONSUMER = "consumers/billing/dunning.html"
runner = CliRunner()


def docs(project: Path, out: Path):
    return runner.invoke(app, ["docs", "--out", str(out), "--root", str(project)])


def page_count(catalog) -> int:
    """The index, the cost page, and a page per domain, event, consumer, schedule, pipe and API-call rule."""
    extra = sum(len(d.schedules) + len(d.pipes) + len(d.api_calls) for d in catalog.domains)
    return 2 + len(catalog.domains) + len(catalog.events) + len(catalog.consumers) + extra


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project plus billing, a domain that publishes only on its bus (tests/.../bus_only.py)."""
    root = copy_project(tmp_path_factory.mktemp("docs-project"))
    add_billing(root)
    return root


@pytest.fixture(scope="module")
def site(project: Path) -> Path:
    out = project / "site"
    result = docs(project, out)
    assert result.exit_code == 0, result.output
    catalog, _ = load(project)
    assert f"{page_count(catalog)} pages (Markdown + HTML)" in result.output
    return out


def test_a_page_per_domain_event_and_consumer(site: Path, project: Path):
    pages = sorted(str(p.relative_to(site)) for p in site.rglob("*.md"))
    catalog, _ = load(project)
    assert len(pages) == page_count(catalog) == 39
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*.html")) == [p[:-3] + ".html" for p in pages]
    assert "events/orders/order.created.md" in pages and "consumers/payments/ledger.md" in pages
    assert {"schedules/inventory/nightly-recount.md", "pipes/payments/settle-captures.md"} <= set(pages)
    assert "api-calls/payments/ledger-table-deleted.md" in pages
    assert sorted(p.name for p in (site / "asyncapi").iterdir())[0] == "billing.asyncapi.json"
    vendored = (site / "assets/mermaid.min.js").read_bytes()
    assert vendored == (ROOT / "node_modules/mermaid/dist/mermaid.min.js").read_bytes()  # offline: no CDN


def test_event_page_shows_schema_pii_examples_producer_consumers_and_filters(site: Path):
    page = (site / "events/orders/order.created.md").read_text()
    assert "| `customer.email` | string | yes | **PII** | format `email` | PII |" in page
    assert '| `shipping.method` | enum | yes |  | one of `"standard"`, `"express"`, `"digital"` |  |' in page
    assert "[inventory/reserve-stock](../../consumers/inventory/reserve-stock.md): filter on body" in page
    assert "| producer | domain [orders](../../domains/orders.md), owner team-checkout; HTTP endpoint " in page
    assert "| PII | customer.email, customer.name |" in page
    assert page.count("```json") == 3  # the three catalog examples of v1
    # stream and table readers are consumers too
    assert "orders/order-metrics.md): Kinesis stream `orders/order-activity`" in page
    reserved = (site / "events/inventory/stock.reserved.md").read_text()
    assert "inventory/stock-availability.md): DynamoDB stream of table `reserve-stock/reservations`" in reserved


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
    assert '  producer_orders -->|"order.cancelled, order.created"| topic_orders_events' in index
    assert '  topic_orders_events -->|"order.created"| consumer_notifications_send_email' in index
    assert '<pre class="mermaid">flowchart LR' in (site / "index.html").read_text()


def test_a_bus_only_domain_shows_its_bus_and_what_it_publishes(site: Path):
    page = (site / "domains/billing.md").read_text()
    assert "only consumes" not in page and "SNS" not in page.split("## Events published")[0]
    assert "| publishes | 2 events on its EventBridge bus `{env}-billing` |" in page
    assert "### EventBridge bus `{env}-billing`" in page
    assert "| [invoice.issued](../events/billing/invoice.issued.md) | v1 |" in page
    assert "| [billing/dunning](../consumers/billing/dunning.md) | EventBridge rule | invoice.issued |" in page
    assert '  producer_billing -->|"invoice.issued, invoice.paid"| bus_billing_bus' in page
    event = (site / "events/billing/invoice.paid.md").read_text()
    assert "| channels | EventBridge bus `{env}-billing` |" in event
    inventory = (site / "domains/inventory.md").read_text()  # the sample's bus-only domain, with a schedule
    assert "| publishes | 1 event on its EventBridge bus `{env}-inventory` |" in inventory
    assert "- [nightly-recount](../schedules/inventory/nightly-recount.md): `cron(0 3 * * ? *)`" in inventory


def test_a_bus_consumer_page_shows_rule_pattern_targets_and_what_each_example_delivers(site: Path, project: Path):
    from eventform.catalog.buses import rendered_inputs

    page = (site / "consumers/billing/dunning.md").read_text()
    assert "SNS" not in page.split("## Targets")[0], "a bus consumer is no SNS subscriber"
    assert '| pattern | `{"detail": {"data": {"amount": [{"numeric": [">=", 100]}]}}}` |' in page
    assert "### EventBridge bus `{env}-billing`" in page and "`{env}-billing-dunning-from-billing`" in page
    assert '  "source": ["com.example.billing"],\n  "detail-type": ["invoice.issued"],' in page  # the whole pattern
    assert "| collections | sns | `collections (sns, in each environment's own account)` | input transformer:" in page
    assert "| prod | `arn:aws:sns:eu-west-1:333333333333:collections` |" in page  # resolved per environment
    assert "| queue | queue | the consumer's SQS queue `{env}-billing-dunning` (with its DLQ) |" in page
    catalog, _ = load(project)
    (text,) = [row[4] for row in rendered_inputs(catalog) if row[0] == "billing/dunning"]  # what lint --matrix prints
    assert text == '"Invoice inv-1 over 250 EUR"'
    assert (
        "| [billing/invoice.issued](../../events/billing/invoice.issued.md) | 0 | yes | "
        f"collections: `{text}`; queue: the whole event |"
    ) in page
    assert "| [billing/invoice.issued](../../events/billing/invoice.issued.md) | 1 | - | - |" in page
    assert (
        "| prod | `prod-billing-dunning` | `prod-billing-dunning-dlq`, delivery `prod-billing-dunning-delivery-dlq` |"
    ) in page
    assert "`rule prod-billing-dunning-from-billing on prod-billing` |" in page
    release = (site / "consumers/inventory/release-stock.md").read_text()  # push target: no queue at all
    assert "| prod | - | `prod-inventory-release-stock-delivery-dlq` |" in release
    assert "| batch size |" not in release, "EventBridge invokes the function: no event source mapping"


def test_topic_consumers_show_their_filter_policy_and_which_examples_pass(site: Path):
    page = (site / "consumers/notifications/send-email.md").read_text()
    assert "### SNS topic `{env}-orders-events`" in page and "### SNS topic `{env}-users-events`" in page
    assert '{"type": ["order.created"], "country": ["DE", "AT", "FR", "NL", "ES", "IT"]}' in page
    assert "| [orders/order.created](../../events/orders/order.created.md) | 2 | - |" in page  # a US order
    assert "| [orders/order.created](../../events/orders/order.created.md) | 0 | yes |" in page


def test_buckets_schedules_pipes_and_api_call_rules_have_pages(site: Path):
    payments = (site / "domains/payments.md").read_text()
    assert "### S3 bucket `{env}-payments-invoices-{account}-{region}`" in payments
    index_invoice = "| [payments/index-invoice](../consumers/payments/index-invoice.md) | S3 notification | created |"
    assert index_invoice in payments
    assert "### EventBridge default bus" not in payments  # not the domain's own channel
    assert "- [settle-captures](../pipes/payments/settle-captures.md): queue `settlement` -> stepfunctions" in payments
    removals = (site / "consumers/payments/invoice-removals.md").read_text()
    assert "### EventBridge default bus `default`" in removals
    assert '"detail": {"bucket": {"name": ["{env}-payments-invoices-{account}-{region}"]}}' in removals
    assert "`rule prod-payments-invoice-removals-from-objects on default` |" in removals
    schedule = (site / "schedules/inventory/nightly-recount.md").read_text()
    assert "| expression | `cron(0 3 * * ? *)` |" in schedule and "| flexible window | 15 minutes |" in schedule
    assert '"id": "<aws.scheduler.execution-id>",' in schedule and '"type": "stock.recount_requested"' in schedule
    assert (
        "| prod | `prod-inventory-nightly-recount` | `prod-inventory` | bus `prod-inventory` | "
        "`prod-inventory-schedule-nightly-recount` | `prod-inventory-schedules-delivery-dlq` |"
    ) in schedule
    pipe = (site / "pipes/payments/settle-captures.md").read_text()
    assert "| source | the queue of consumer [settlement](../../consumers/payments/settlement.md) |" in pipe
    assert '{"body": {"data": {"amount": [{"numeric": [">", 0]}]}}}' in pipe
    assert "| enrichment | `handlers/settlement_fees/handler.py`, invoked synchronously with each batch |" in pipe
    assert "| [payments/payment.captured](../../events/payments/payment.captured.md) | 0 | yes |" in pipe
    assert "| prod | `prod-payments-settle-captures` | queue `prod-payments-settlement.fifo` |" in pipe
    stream = (site / "pipes/users/marketing-signups.md").read_text()
    assert "| stream | starting position TRIM_HORIZON, 5 retries, records older than 1h dropped" in stream
    assert "`arn:aws:kinesis:eu-west-1:333333333333:stream/customer-events`" in stream
    alert = (site / "api-calls/payments/ledger-table-deleted.md").read_text()
    calls = '"detail": {"eventSource": ["dynamodb.amazonaws.com"], "eventName": ["DeleteBackup", "DeleteTable"]}'
    assert calls in alert
    assert "| prod | `prod-payments-ledger-table-deleted` | SNS `prod-platform-alarms` |" in alert


def test_index_topology_draws_buses_rules_pipes_and_schedules_as_what_they_are(site: Path):
    index = (site / "index.md").read_text()
    assert '    bus_orders_bus{{"bus {env}-orders"}}' in index  # a bus is a hexagon, a topic a subroutine box
    assert '    topic_payments_events[["SNS {env}-payments-events.fifo"]]' in index
    assert '  bus_orders_bus -->|"rule: order.created"| consumer_payments_large_orders' in index
    assert '  consumer_payments_large_orders -->|"risk-topic"| target_payments_large_orders_risk_topic' in index
    assert '  topic_users_events -->|"push: user.registered"| consumer_users_crm_sync' in index
    assert '    pipe_payments_settle_captures[/"pipe settle-captures + settlement_fees"/]' in index
    assert '  consumer_payments_settlement -->|"batch 10"| pipe_payments_settle_captures' in index
    assert '  schedule_inventory_nightly_recount -->|"stock.recount_requested"| bus_inventory_bus' in index
    assert '  bucket_payments_invoices_bucket -->|"removed, expired"| default_bus_default_bus' in index
    assert "topic_billing" not in index and "topic_inventory" not in index


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
        '  consumer_inventory_reserve_stock -.->|"order.cancelled"| topic_orders_events'
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
        [str(NODE), str(ROOT / "tests/browser/check_site.mjs"), str(site), str(SCREENSHOT), BUS_CONSUMER],
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
    assert len(pages) == page_count(catalog)
    for name, entry in pages.items():
        assert entry["title"].endswith("- eventform"), name
        assert entry["consoleErrors"] == [] and entry["pageErrors"] == [], (name, entry)
        assert entry["failedRequests"] == [] and entry["brokenLinks"] == [], (name, entry)
        assert entry["svgs"] == entry["diagrams"], f"{name}: a mermaid diagram did not render"
    assert pages["index.html"]["svgs"] == 1 and pages["index.html"]["links"] > 20
    assert sum(entry["diagrams"] for entry in pages.values()) == 7  # the index and one per domain
    bus_consumer = pages[BUS_CONSUMER]  # what a reader sees on a bus consumer's page: pattern, targets, deliveries
    assert {"Channels", "Targets", "What the catalog examples deliver"} <= set(bus_consumer["headings"])
    text = bus_consumer["text"]
    assert '"detail": {"data": {"amount": [{"numeric": [">=", 100]}]}}' in text  # the rule's pattern, in a code block
    assert "collections\tsns\tcollections (sns, in each environment's own account)" in text  # a row: name, type, where
    assert "prod\tarn:aws:sns:eu-west-1:333333333333:collections" in text  # resolved per environment
    assert 'collections: "Invoice inv-1 over 250 EUR"; queue: the whole event' in text  # rendered, as lint --matrix
    assert "rule prod-billing-dunning-from-billing on prod-billing" in text
    assert SCREENSHOT.stat().st_size > 10_000
    print(f"screenshot of the docs index: {SCREENSHOT}")


def test_the_domain_page_shows_its_workflows(site: Path):
    (page,) = [p for p in site.rglob("*.md") if p.stem == "payments" and "workflow" in p.read_text().lower()]
    text = page.read_text()
    assert "## Workflows" in text and "### authorize-payment (STANDARD)" in text
    assert "rule payments/authorize-orders" in text  # what starts it
    assert "| RequestAuthorization | Task | EmitAuthorized, AuthorizationFailed |" in text
    assert "| AuthorizationFailed | Fail | end |" in text

