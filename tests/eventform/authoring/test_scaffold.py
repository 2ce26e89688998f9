"""`eventform add`: scaffold -> lint passes -> synthesis has the new resources; bad input -> message + exit 1."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cdktn_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from cdktn_provider_aws.lambda_function import LambdaFunction
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktn_provider_aws.sqs_queue import SqsQueue
from typer.testing import CliRunner

from eventform.authoring import yamledit
from eventform.catalog.loader import load
from eventform.catalog.model import Consumer
from eventform.cli.main import app
from eventform.synthesis.app import synthesize
from tests.conftest import StackJson

runner = CliRunner()


def run(root: Path, *args: str):
    return runner.invoke(app, [*args, "--root", str(root)])


def consumer_named(root: Path, qualified: str) -> Consumer:
    return next(c for c in load(root)[0].consumers if c.qualified_name == qualified)


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_add_event_and_consumer_then_synthesize(project_copy: Path, tmp_path: Path):
    before = (project_copy / "catalog/orders.yaml").read_text()
    result = run(project_copy, "add", "event", "orders", "order.shipped", "--description", "The parcel left.")
    assert result.exit_code == 0, result.output
    assert "Next steps" in result.output and "v1.schema.json" in result.output
    after = (project_copy / "catalog/orders.yaml").read_text()
    added = "\n  order.shipped:\n    description: The parcel left.\n    versions: [1]\n"
    assert added in after, after
    # The existing text (comments, order, blank lines) is kept byte for byte around the inserted entry.
    assert after.replace(added, "\n", 1) == before or after.replace(added, "", 1) == before, after
    schema = json.loads((project_copy / "catalog/orders/order.shipped/v1.schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://schemas.example.com/orders/order.shipped/v1.json"
    assert json.loads((project_copy / "catalog/orders/order.shipped/v1.examples.json").read_text()) == [
        {"order_id": "order-0001"}
    ]

    result = run(project_copy, "add", "consumer", "inventory", "track-parcels", "--events", "orders/order.shipped")
    assert result.exit_code == 0, result.output
    catalog, _ = load(project_copy)
    assert catalog.consumers_of("orders/order.shipped")[0].qualified_name == "inventory/track-parcels"

    out = synthesize(project_copy, tmp_path / "out", ["dev"], ["dev-inventory", "dev-orders"]).outdir
    inventory = StackJson(out / "stacks/dev-inventory/cdk.tf.json")
    inventory.only(SqsQueue.TF_RESOURCE_TYPE, name="dev-inventory-track-parcels")
    inventory.only(SqsQueue.TF_RESOURCE_TYPE, name="dev-inventory-track-parcels-dlq")
    function = inventory.only(LambdaFunction.TF_RESOURCE_TYPE, function_name="dev-inventory-track-parcels")
    assert function["handler"] == "handlers.track_parcels.handler.lambda_handler"
    mappings = inventory.resources(LambdaEventSourceMapping.TF_RESOURCE_TYPE).values()
    (mapping,) = [m for m in mappings if "consumer-track-parcels-function" in m["function_name"]]
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    subscription = inventory.only(
        SnsTopicSubscription.TF_RESOURCE_TYPE, filter_policy=json.dumps({"type": ["order.shipped"]})
    )
    assert subscription["topic_arn"].endswith(":dev-orders-events")
    StackJson(out / "stacks/dev-orders/cdk.tf.json").only(SnsTopic.TF_RESOURCE_TYPE, name="dev-orders-events")


def test_add_event_to_a_domain_without_topic_adds_the_topic(project_copy: Path):
    before = (project_copy / "catalog/inventory.yaml").read_text()
    result = run(project_copy, "add", "event", "inventory", "stock.counted", "--topic")
    assert result.exit_code == 0, result.output
    catalog, _ = load(project_copy)
    assert catalog.domain("inventory").topic is not None
    assert "stock.counted" in [e.name for e in catalog.domain("inventory").events]
    text = (project_copy / "catalog/inventory.yaml").read_text()
    assert "# physical goods only" in text
    assert "\ntopic: {}" in text and "topic:" not in before
    sections = ("\nevents:", "\nconsumers:")
    assert sorted(sections, key=text.index) == sorted(sections, key=before.index)  # the existing order is kept


def test_fifo_event_inherits_the_message_group(project_copy: Path):
    result = run(project_copy, "add", "event", "payments", "payment.refunded")
    assert result.exit_code == 0, result.output
    event = load(project_copy)[0].event("payments/payment.refunded")
    assert event.message_group == "order_id" and "order_id" in event.latest.schema["required"]


def test_add_version_copies_the_previous_one(project_copy: Path):
    result = run(project_copy, "add", "event", "orders", "order.created", "--version", "2")
    assert result.exit_code == 0, result.output
    event = load(project_copy)[0].event("orders/order.created")
    assert [v.number for v in event.versions] == [1, 2]
    assert event.version(2).schema["$id"].endswith("/v2.json")
    assert "versions: [1, 2]" in (project_copy / "catalog/orders.yaml").read_text()


def test_add_domain(project_copy: Path):
    result = run(project_copy, "add", "domain", "shipping", "--owner", "team-logistics")
    assert result.exit_code == 0, result.output
    domain = load(project_copy)[0].domain("shipping")
    assert (domain.owner, domain.source, domain.topic) == ("team-logistics", "com.example.shipping", None)
    assert (project_copy / "catalog/shipping.yaml").read_text().startswith("# yaml-language-server: $schema=")


def test_handler_package_passes_its_own_test(project_copy: Path):
    result = run(
        project_copy,
        "add",
        "consumer",
        "inventory",
        "pick-items",
        "--events",
        "orders/order.created,orders/order.cancelled",
        "--filter",
        '{"country": ["DE"]}',
    )
    assert result.exit_code == 0, result.output
    package = project_copy / "handlers/pick_items"
    assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == [
        "__init__.py",
        "handler.py",
        "tests/__init__.py",
        "tests/test_handler.py",
    ]
    consumer = consumer_named(project_copy, "inventory/pick-items")
    assert consumer.handler == "pick_items"  # the default: the consumer's name as a Python package
    assert "    handler: pick_items\n" in (project_copy / "catalog/inventory.yaml").read_text()
    source = (package / "handler.py").read_text()
    assert '@app.on("orders/order.created")' in source and '@app.on("orders/order.cancelled")' in source
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "handlers/pick_items"],
        capture_output=True,
        text=True,
        cwd=project_copy,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "2 passed" in tested.stdout
    linted = subprocess.run(
        [str(Path(sys.executable).with_name("ruff")), "check", "--line-length", "120", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout
    formatted = subprocess.run(
        [str(Path(sys.executable).with_name("ruff")), "format", "--check", "--line-length", "120", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert formatted.returncode == 0, formatted.stdout  # generated code is already in the project's style


def test_an_existing_handler_is_reused(project_copy: Path):
    before = snapshot(project_copy / "handlers")
    result = run(
        project_copy,
        "add",
        "consumer",
        "inventory",
        "audit-orders",
        "--events",
        "orders/order.created",
        "--handler",
        "reserve_stock",
    )
    assert result.exit_code == 0, result.output
    assert "already exists: register a function" in " ".join(result.output.split())
    assert snapshot(project_copy / "handlers") == before
    assert consumer_named(project_copy, "inventory/audit-orders").handler == "reserve_stock"


BAD_INPUT = [
    (["add", "event", "nope", "thing.happened"], "unknown domain 'nope'"),
    (["add", "event", "orders", "ship.order"], "is not a past-tense fact"),
    (["add", "event", "orders", "Order-Shipped"], "bad event name"),
    (["add", "event", "orders", "order.created"], "already exists with versions [1]"),
    (["add", "event", "orders", "order.created", "--version", "1"], "already exists"),
    (["add", "event", "notifications", "email.bounced"], "has no SNS topic or EventBridge bus"),
    (["add", "event", "orders", "order.created", "--version", "2", "--bus"], "keeps its channels"),
    (["add", "consumer", "nope", "x-y", "--events", "orders/order.created"], "unknown domain 'nope'"),
    (["add", "consumer", "payments", "ledger", "--events", "payments/payment.captured"], "already exists"),
    (["add", "consumer", "inventory", "Bad_Name", "--events", "orders/order.created"], "bad consumer name"),
    (["add", "consumer", "inventory", "x-y", "--events", "orders/order.created,,"], "malformed --events"),
    (["add", "consumer", "inventory", "x-y", "--events", "order.created"], "malformed event reference"),
    (["add", "consumer", "inventory", "x-y", "--events", "orders/order.shipped"], "unknown event(s)"),
    (["add", "consumer", "inventory", "x-y", "--events", "orders/order.created", "--filter", "{"], "not valid JSON"),
    (["add", "domain", "orders", "--owner", "team-x"], "already exists"),
    (
        ["add", "consumer", "inventory", "x-y", "--events", "orders/order.created", "--filter", '{"country": ["JP"]}'],
        "no catalog example of orders/order.created passes the filter",
    ),
    (["add", "domain", "Bad", "--owner", "team-x"], "bad domain name"),
    (
        ["add", "consumer", "inventory", "x-y", "--events", "orders/order.created", "--handler", "x-y"],
        "bad handler name 'x-y'",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT, ids=[" ".join(a[:4]) for a, _ in BAD_INPUT])
def test_bad_input_is_refused_and_nothing_is_written(project_copy: Path, args: list[str], message: str):
    before = snapshot(project_copy)
    result = run(project_copy, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert snapshot(project_copy) == before


def test_lint_failure_rolls_back_every_file(project_copy: Path):
    before = snapshot(project_copy)
    # Valid syntax, but order.cancelled does not publish the attribute 'channel': only lint can tell.
    result = run(
        project_copy,
        "add",
        "consumer",
        "inventory",
        "x-y",
        "--events",
        "orders/order.cancelled",
        "--filter",
        '{"channel": ["web"]}',
        "--handler",
        "x_y",
    )
    assert result.exit_code == 1
    assert "does not publish the message attribute 'channel'" in result.output
    assert "rolled back" in result.output
    assert snapshot(project_copy) == before
    assert not (project_copy / "handlers/x_y").exists()


def test_insert_keeps_every_catalog_file_byte_for_byte():
    root = Path(__file__).resolve().parents[3]
    for path in sorted((root / "catalog").glob("*.yaml")):
        text = path.read_text()
        new = yamledit.insert_entry(text, "consumers", "zz-probe", {"description": "probe", "events": ["a/b.c"]})
        assert yamledit.plain(yamledit.load(new))["consumers"]["zz-probe"]["events"] == ["a/b.c"]
        opcodes = difflib.SequenceMatcher(a=text.splitlines(), b=new.splitlines()).get_opcodes()
        assert {tag for tag, *_ in opcodes} <= {"equal", "insert"}, f"{path.name}: only insertions expected"


def test_a_handler_for_two_domains_events_of_one_name_registers_both_qualified(tmp_path: Path):
    from eventform.authoring.files import Change
    from eventform.authoring.handler_scaffold import scaffold_handler

    (tmp_path / "handlers").mkdir()
    events = ["orders/order.created", "users/order.created"]
    package = scaffold_handler(tmp_path, "tracker", events, "shop", "tracker", change := Change(tmp_path))
    change.apply()
    text = (package / "handler.py").read_text()
    assert '@app.on("orders/order.created")\ndef on_orders_order_created(' in text
    assert '@app.on("users/order.created")\ndef on_users_order_created(' in text
    compile(text, "handler.py", "exec")  # two functions, two names: valid Python, no shadowing
