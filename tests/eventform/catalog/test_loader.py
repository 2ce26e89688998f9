"""The sample catalog loads into the model the constructs rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventform.catalog.events import past_tense_problem
from eventform.catalog.loader import load
from eventform.catalog.parsing import parse_duration


@pytest.fixture(scope="module")
def loaded(project_root: Path):
    return load(project_root)


def test_sample_catalog_covers_the_source_material(loaded) -> None:
    catalog, environments = loaded
    assert {d.name for d in catalog.domains} == {"orders", "users", "notifications", "inventory", "payments"}
    assert {e.qualified_name for e in catalog.events} >= {
        "orders/order.created",
        "orders/order.cancelled",
        "users/user.registered",
    }
    assert {e.name for e in environments} == {"dev", "staging", "prod", "local"}
    send_email = catalog.domain("notifications").consumers[0]
    assert send_email.events == ("orders/order.created", "users/user.registered")
    assert send_email.source_domains() == ("orders", "users")


def test_fifo_consumers_are_derived_from_their_topic(loaded) -> None:
    catalog, _ = loaded
    ledger = next(c for c in catalog.consumers if c.name == "ledger")
    assert ledger.fifo is True
    # every event its FIFO topic carries (a workflow's task event travels on no topic)
    assert all(e.message_group == "order_id" for e in catalog.domain("payments").events if "topic" in e.via)
    assert not next(c for c in catalog.consumers if c.name == "send-email").fifo


def test_per_environment_overrides_merge_over_defaults(loaded) -> None:
    catalog, environments = loaded
    by_name = {e.name: e for e in environments}
    send_email = next(c for c in catalog.consumers if c.name == "send-email")
    assert send_email.queue_for(by_name["prod"]).max_receive_count == 8
    assert send_email.queue_for(by_name["dev"]).max_receive_count == 5
    assert send_email.queue_for(by_name["prod"]).retention == 7 * 86400  # environment default
    assert send_email.queue_for(by_name["dev"]).visibility_timeout == 60


def test_examples_and_schemas_are_loaded_per_version(loaded) -> None:
    catalog, _ = loaded
    created = catalog.event("orders/order.created")
    assert created.latest.number == 1
    assert created.latest.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert len(created.latest.examples) >= 2
    assert created.pii == ("customer.email", "customer.name")


def test_only_selected_environments_are_returned(project_root: Path) -> None:
    _, environments = load(project_root, ["prod"])
    assert [e.name for e in environments] == ["prod"]
    assert environments[0].backend.type == "s3" and environments[0].customer_managed_keys


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("order.created", True),
        ("payment.captured", True),
        ("order.items_added", True),
        ("email.sent", True),
        ("invoice.paid", True),
        ("create.order", False),
        ("order.create", False),
        ("order.feed", False),
        ("invoice.overdue", True),  # adjectives and participles that state a fact
        ("parcel.lost", True),
        ("parcel.shipped", True),
        ("stock.low", True),
        ("account.inactive", True),
        ("cart.checked_out", True),  # a phrasal verb: the verb before the particle decides
        ("stock.sold_out", True),
        ("user.signed_up", True),
        ("cart.check_out", False),
        ("invoice.overdue_notice", False),
    ],
)
def test_past_tense_rule(name: str, ok: bool) -> None:
    assert (past_tense_problem(name) is None) == ok


def test_past_tense_rule_suggests_the_fact_and_the_marker() -> None:
    assert "'order.created'" in (past_tense_problem("create.order") or "")
    assert "'invoice.sparsed'" not in (past_tense_problem("stock.sparse") or "")
    assert "mark the event `fact: true`" in (past_tense_problem("stock.sparse") or "")
    assert "'order.created'" in (past_tense_problem("order.create") or "")


def test_an_event_marked_as_a_fact_skips_the_past_tense_check(project_copy: Path) -> None:
    orders = project_copy / "catalog/orders.yaml"
    orders.write_text(orders.read_text().replace("  order.cancelled:\n", "  order.amiss:\n    fact: true\n", 1))
    (project_copy / "catalog/orders/order.cancelled").rename(project_copy / "catalog/orders/order.amiss")
    for path in (project_copy / "catalog").glob("*.yaml"):
        path.write_text(path.read_text().replace("orders/order.cancelled", "orders/order.amiss"))
    catalog, _ = load(project_copy)
    assert catalog.event("orders/order.amiss").name == "order.amiss"


@pytest.mark.parametrize(("text", "seconds"), [(30, 30), ("45s", 45), ("15m", 900), ("12h", 43200), ("4d", 345600)])
def test_durations(text: int | str, seconds: int) -> None:
    assert parse_duration(text) == seconds
