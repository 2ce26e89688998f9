"""`eventform add event --bus`, `add consumer --via bus --pattern / --push` and `add schedule`: each lints, its
generated handler test passes for the way the handler is reached, and bad input is refused with nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.catalog.loader import load
from eventform.cli.main import app
from tests.eventform.authoring.test_scaffold import snapshot

runner = CliRunner()
LARGE = '{"detail": {"data": {"total": [{"numeric": [">=", 10]}]}}}'


def run(root: Path, *args: str):
    return runner.invoke(app, [*args, "--root", str(root)])


def test_add_event_on_the_bus_adds_the_bus(project_copy: Path) -> None:
    path = project_copy / "catalog/notifications.yaml"
    before = path.read_text()
    result = run(project_copy, "add", "event", "notifications", "email.bounced", "--bus")
    assert result.exit_code == 0, result.output
    catalog, _ = load(project_copy)
    domain = catalog.domain("notifications")
    assert domain.bus is not None and domain.topic is None
    assert catalog.event("notifications/email.bounced").via == ("bus",)
    text = path.read_text()
    assert text.startswith(before.split("consumers:")[0]) and "bus: {}  # an EventBridge bus" in text


def test_add_event_on_topic_and_bus(project_copy: Path) -> None:
    result = run(project_copy, "add", "event", "notifications", "email.bounced", "--bus", "--topic")
    assert result.exit_code == 0, result.output
    catalog, _ = load(project_copy)
    assert catalog.event("notifications/email.bounced").via == ("topic", "bus")
    assert catalog.domain("notifications").topic is not None


def test_a_bus_only_domain_publishes_new_events_on_its_bus(project_copy: Path) -> None:
    """inventory has a bus and no topic: no flag needed."""
    result = run(project_copy, "add", "event", "inventory", "stock.counted")
    assert result.exit_code == 0, result.output
    assert load(project_copy)[0].event("inventory/stock.counted").via == ("bus",)


def test_bus_and_push_consumers_and_their_generated_tests(project_copy: Path) -> None:
    """One consumer per delivery: an EventBridge rule with a pattern filling the queue, a rule pushing to the handler,
    SNS pushing to the function; each generated handler test passes as generated."""
    added = [
        ("inventory", "big-orders", "orders/order.created", "--via", "bus", "--pattern", LARGE),
        ("inventory", "count-audit", "inventory/stock.recount_requested", "--via", "bus", "--push"),
        ("notifications", "cancel-push", "orders/order.cancelled", "--push"),
    ]
    for domain, name, events, *options in added:
        result = run(project_copy, "add", "consumer", domain, name, "--events", events, *options)
        assert result.exit_code == 0, result.output
    consumers = {c.qualified_name: c for c in load(project_copy)[0].consumers}
    big = consumers["inventory/big-orders"]
    assert big.route is not None and big.route.pattern == json.loads(LARGE)
    assert [t.name for t in big.route.targets] == ["queue"]
    audit = consumers["inventory/count-audit"]
    assert audit.route is not None and [(t.name, t.kind) for t in audit.route.targets] == [("push", "lambda")]
    assert consumers["notifications/cancel-push"].delivery == "push"
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "handlers/big_orders",
         "handlers/count_audit", "handlers/cancel_push"],
        capture_output=True, text=True, cwd=project_copy, check=False, timeout=300,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "6 passed" in tested.stdout
    assert "takes the pushed event" in (project_copy / "handlers/cancel_push/handler.py").read_text()


def test_add_schedule_sends_the_first_example_by_default(project_copy: Path) -> None:
    result = run(
        project_copy, "add", "schedule", "inventory", "hourly-recount", "--expression", "rate(1 hour)",
        "--event", "stock.recount_requested", "--timezone", "Europe/Berlin",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    catalog, _ = load(project_copy)
    schedule = next(s for s in catalog.domain("inventory").schedules if s.name == "hourly-recount")
    assert schedule.expression == "rate(1 hour)" and schedule.timezone == "Europe/Berlin"
    assert schedule.payload == catalog.event("inventory/stock.recount_requested").latest.examples[0]


def test_add_schedule_invoking_a_consumers_handler(project_copy: Path) -> None:
    result = run(
        project_copy, "add", "schedule", "inventory", "release-daily", "--expression", "rate(1 day)",
        "--consumer", "release-stock", "--event", "orders/order.cancelled",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    schedule = next(s for s in load(project_copy)[0].domain("inventory").schedules if s.name == "release-daily")
    assert schedule.consumer == "release-stock"


BAD = [
    (["consumer", "inventory", "x-y", "--events", "orders/order.created", "--via", "sqs"], "bad --via 'sqs'"),
    (
        ["consumer", "inventory", "x-y", "--events", "orders/order.created", "--via", "bus", "--filter", "{}"],
        "a consumer via bus is selected by an EventBridge pattern",
    ),
    (
        ["consumer", "inventory", "x-y", "--events", "orders/order.created", "--pattern", LARGE],
        "it needs --via bus",
    ),
    (
        ["consumer", "inventory", "x-y", "--events", "orders/order.created", "--via", "bus", "--pattern", "{"],
        "--pattern is not valid JSON",
    ),
    (
        [
            "consumer",
            "inventory",
            "x-y",
            "--events",
            "orders/order.created",
            "--via",
            "bus",
            "--pattern",
            '{"source": ["x"]}',
        ],
        "--pattern",
    ),
    (
        ["consumer", "inventory", "x-y", "--events", "payments/payment.captured", "--via", "bus"],
        "does not travel on its domain's bus",
    ),
    (
        [
            "consumer",
            "inventory",
            "x-y",
            "--events",
            "orders/order.created",
            "--via",
            "bus",
            "--pattern",
            '{"detail": {"data": {"total": [{"numeric": [">", 1000000]}]}}}',
        ],
        "the pattern matches none of the catalog examples",
    ),
    (["schedule", "inventory", "x-y", "--expression", "rate(1 day)"], "needs --event"),
    (["schedule", "inventory", "Bad", "--expression", "rate(1 day)", "--event", "x.y"], "bad schedule name"),
    (
        ["schedule", "inventory", "x-y", "--expression", "rate(1 day)", "--event", "stock.vanished"],
        "unknown event 'stock.vanished'",
    ),
    (
        ["schedule", "orders", "x-y", "--expression", "rate(1 day)", "--event", "payments/payment.captured"],
        "must be an event of orders with bus in its via",
    ),
    (
        ["schedule", "inventory", "x-y", "--expression", "rate(1 day)", "--consumer", "nope"],
        "inventory has no consumer 'nope'",
    ),
    (
        [
            "schedule",
            "inventory",
            "nightly-recount",
            "--expression",
            "rate(1 day)",
            "--event",
            "stock.recount_requested",
        ],
        "already exists",
    ),
    (
        [
            "schedule",
            "inventory",
            "x-y",
            "--expression",
            "rate(1 day)",
            "--event",
            "stock.recount_requested",
            "--payload",
            "[1]",
        ],
        "--payload is not a JSON object",
    ),
    (
        ["schedule", "inventory", "x-y", "--expression", "every day", "--event", "stock.recount_requested"],
        "Lint failed after the change",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a[:2] + a[-2:]) for a, _ in BAD])
def test_bad_input_is_refused_and_nothing_is_written(project_copy: Path, args: list[str], message: str) -> None:
    before = snapshot(project_copy)
    result = run(project_copy, "add", *args)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split()), result.output
    assert "fix:" in result.output
    assert snapshot(project_copy) == before
