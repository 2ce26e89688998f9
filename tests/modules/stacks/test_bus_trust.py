"""Partners cannot forge events (issue 16, finding 2): on a bus that admits other accounts, the bus policy lets them
put only the listed events of the domain's source, and every rule on it matches on ``account``, so an event put by
the partner (or any member of the organisation) with the domain's source reaches no rule unless the catalog trusts
that account for that event. Proven on the synthesized prod stacks with eventform's EventBridge matcher."""

from __future__ import annotations

import json

from cdktn_provider_aws.cloudwatch_event_bus_policy import CloudwatchEventBusPolicy
from cdktn_provider_aws.cloudwatch_event_rule import CloudwatchEventRule

from eventform.catalog import patterns
from eventform.catalog.loader import load
from tests.conftest import ROOT

PROD, PARTNER, ORG_MEMBER = "333333333333", "555555555555", "666666666666"
STACKS = ("prod-inventory", "prod-notifications", "prod-orders", "prod-payments", "prod-users")


def rules_on(stack, bus: str) -> dict[str, dict]:
    return {
        r["name"]: json.loads(r["event_pattern"])
        for s in STACKS
        for r in stack(s).resources(CloudwatchEventRule.TF_RESOURCE_TYPE).values()
        if r.get("event_bus_name") == bus
    }


CATALOG = load(ROOT, ["prod"])[0]


def examples(account: str, event: str) -> list[dict]:
    """Every catalog example of ``orders/<event>`` as EventBridge delivers it when ``account`` put it."""
    return [
        patterns.envelope("com.example.orders", event, payload, account=account)
        for payload in CATALOG.event(f"orders/{event}").latest.examples
    ]


def test_the_orders_bus_admits_the_partner_and_the_org_only_for_the_listed_events(stack) -> None:
    policy = json.loads(stack("prod-orders").only(CloudwatchEventBusPolicy.TF_RESOURCE_TYPE)["policy"])
    assert {s["Sid"] for s in policy["Statement"]} == {"AccountsPutEvents", "OrganizationPutsEvents"}
    for statement in policy["Statement"]:
        assert statement["Condition"]["StringEquals"]["events:source"] == "com.example.orders"
        assert statement["Condition"]["StringEquals"]["events:detail-type"] == ["order.created"]
    organisation = next(s for s in policy["Statement"] if s["Sid"] == "OrganizationPutsEvents")
    assert organisation["Condition"]["ForAnyValue:StringLike"] == {
        "aws:PrincipalOrgPaths": ["o-exampleorg01/r-ab12/ou-ab12-11111111/*"]
    }


def alternatives(pattern: dict) -> list[dict]:
    """The pattern's (detail-type, account) alternatives: one, or one per $or branch where eventform split a rule
    mixing events the partner may put with others (a consumer's own $or keeps account at the top)."""
    branches = pattern.get("$or", [])
    return branches if branches and all("account" in b for b in branches) else [pattern]


def test_every_rule_on_a_bus_that_admits_others_matches_on_account(stack) -> None:
    rules = rules_on(stack, "prod-orders")
    assert len(rules) >= 3  # release-stock, large-orders, customer-fanout
    for name, pattern in rules.items():
        for branch in alternatives(pattern):
            assert "account" in branch, f"{name} would take events from any account the bus admits"
            assert PROD in branch["account"] and ORG_MEMBER not in branch["account"]


def test_a_rule_mixing_admitted_and_other_events_trusts_the_partner_for_the_admitted_only(stack) -> None:
    archiver = next(p for r, p in rules_on(stack, "prod-orders").items() if "order-archiver" in r)
    assert archiver["$or"] == [
        {"detail-type": ["order.created"], "account": [PROD, PARTNER]},
        {"detail-type": ["order.cancelled"], "account": [PROD]},
    ]
    assert any(patterns.matches(archiver, e) for e in examples(PARTNER, "order.created"))
    assert not any(patterns.matches(archiver, e) for e in examples(PARTNER, "order.cancelled"))


def test_a_forged_event_from_the_partner_or_the_organisation_reaches_no_rule(stack) -> None:
    rules = rules_on(stack, "prod-orders")
    cancelled = [r for r, p in rules.items() if any("order.cancelled" in b["detail-type"] for b in alternatives(p))]
    assert cancelled  # inventory's release-stock
    for name in cancelled:  # the partner may not put order.cancelled: its forgery matches nothing
        assert any(patterns.matches(rules[name], e) for e in examples(PROD, "order.cancelled"))
        assert not any(patterns.matches(rules[name], e) for e in examples(PARTNER, "order.cancelled"))
    for name, pattern in rules.items():  # an organisation member is never trusted wholesale
        for event in (e for b in alternatives(pattern) for e in b["detail-type"]):
            assert not any(patterns.matches(pattern, e) for e in examples(ORG_MEMBER, event)), name


def test_the_partner_reaches_rules_for_the_events_it_may_put(stack) -> None:
    created = {
        r: p
        for r, p in rules_on(stack, "prod-orders").items()
        if any("order.created" in b["detail-type"] for b in alternatives(p))
    }
    assert created
    delivered = [
        r for r, p in created.items() if any(patterns.matches(p, e) for e in examples(PARTNER, "order.created"))
    ]
    branches = [b for p in created.values() for b in alternatives(p) if "order.created" in b["detail-type"]]
    assert delivered and all(PARTNER in b["account"] for b in branches)


def test_rules_on_a_bus_that_admits_nobody_are_unchanged(stack) -> None:
    for pattern in rules_on(stack, "prod-users").values():
        assert "account" not in pattern


def test_a_consumer_s_own_or_branches_each_go_under_both_trust_groups() -> None:
    from types import SimpleNamespace

    from modules.stacks.bus_wiring import _from_trusted_senders

    catalog, (prod,) = load(ROOT, ["prod"])
    stack = SimpleNamespace(catalog=catalog, environment=prod)
    own = [{"detail": {"data": {"country": ["DE"]}}}, {"detail": {"data": {"channel": ["web"]}}}]
    pattern = {"source": ["com.example.orders"], "detail-type": ["order.cancelled", "order.created"], "$or": own}
    split = _from_trusted_senders(stack, "orders", ("order.cancelled", "order.created"), pattern)  # type: ignore[arg-type]
    assert split["source"] == ["com.example.orders"] and "detail-type" not in split
    assert split["$or"] == [
        {**own[0], "detail-type": ["order.created"], "account": [PROD, PARTNER]},
        {**own[1], "detail-type": ["order.created"], "account": [PROD, PARTNER]},
        {**own[0], "detail-type": ["order.cancelled"], "account": [PROD]},
        {**own[1], "detail-type": ["order.cancelled"], "account": [PROD]},
    ]
    german = {**examples(PARTNER, "order.created")[0]}
    german["detail"] = {**german["detail"], "data": {**german["detail"]["data"], "country": "DE"}}
    forged = {**german, "detail-type": "order.cancelled"}
    assert patterns.matches(split, german) and not patterns.matches(split, forged)
