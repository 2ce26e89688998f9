"""EventBridge patterns: the matcher on every operator the catalog may use, load-time syntax checks, the envelope
the publisher sends, and input transformers rendered as EventBridge renders them (tests/conformance holds the corpus
that pins the semantics to aws/event-ruler and the AWS guides).

The expected outcomes are the ones AWS documents for content filtering
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eventform.catalog import filters, patterns
from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.runtime.publisher import Publisher

ROOT = Path(__file__).resolve().parents[3]

ORDER = {
    "order_id": "ord_1001",
    "country": "DE",
    "channel": "Web",
    "total": 39.5,
    "email": "anna@example.com",
    "shipping": {"method": "standard"},
    "tags": ["gift", "first-order"],
    "coupon": None,
}


def event(**overrides: object) -> dict:
    return patterns.envelope("com.example.orders", "order.created", {**ORDER, **overrides})


def data(**conditions: object) -> dict:
    return {"detail": {"data": conditions}}


# (operator, pattern on the payload, payloads it must match, payloads it must not match)
OPERATORS = [
    ("exact", data(country=["DE", "AT"]), [{}, {"country": "AT"}], [{"country": "de"}, {"country": "FR"}]),
    ("exact number", data(total=[39.5]), [{}], [{"total": 39}, {"total": "39.5"}]),
    ("exact in array", data(tags=["gift"]), [{}], [{"tags": ["other"]}]),
    ("null", data(coupon=[None]), [{}], [{"coupon": "X"}]),
    ("prefix", data(order_id=[{"prefix": "ord_"}]), [{}], [{"order_id": "ORD_1"}, {"order_id": "x_ord_"}]),
    (
        "prefix ignoring case",
        data(order_id=[{"prefix": {"equals-ignore-case": "ORD_"}}]),
        [{}, {"order_id": "Ord_7"}],
        [{"order_id": "x"}],
    ),
    ("suffix", data(email=[{"suffix": "@example.com"}]), [{}], [{"email": "anna@example.org"}]),
    (
        "suffix ignoring case",
        data(email=[{"suffix": {"equals-ignore-case": "@EXAMPLE.COM"}}]),
        [{}],
        [{"email": "anna@example.org"}],
    ),
    ("numeric >=", data(total=[{"numeric": [">=", 39.5]}]), [{}, {"total": 1000}], [{"total": 39.49}]),
    (
        "numeric range",
        data(total=[{"numeric": [">", 0, "<=", 100]}]),
        [{}, {"total": 100}],
        [{"total": 0}, {"total": 100.01}, {"total": "50"}],
    ),
    ("numeric =", data(total=[{"numeric": ["=", 39.5]}]), [{}], [{"total": 40}]),
    (
        "anything-but value",
        data(country=[{"anything-but": "US"}]),
        [{}],
        [{"country": "US"}],
    ),
    (
        "anything-but list",
        data(country=[{"anything-but": ["US", "CA"]}]),
        [{}, {"country": "FR"}],
        [{"country": "CA"}],
    ),
    (
        "anything-but prefix",
        data(order_id=[{"anything-but": {"prefix": "test_"}}]),
        [{}],
        [{"order_id": "test_1"}],
    ),
    ("exists", data(coupon=[{"exists": True}]), [{}], []),
    ("exists false", data(gift_note=[{"exists": False}]), [{}], [{"gift_note": "hi"}]),
    (
        "equals-ignore-case",
        data(channel=[{"equals-ignore-case": "WEB"}]),
        [{}, {"channel": "web"}],
        [{"channel": "app"}],
    ),
    (
        "wildcard",
        data(email=[{"wildcard": "*@example.*"}]),
        [{}, {"email": "x@example.org"}],
        [{"email": "x@example"}, {"email": "x@other.com"}],
    ),
    ("nested field", data(shipping={"method": ["standard"]}), [{}], [{"shipping": {"method": "express"}}]),
    (
        "$or",
        {"detail": {"data": {"$or": [{"total": [{"numeric": [">=", 1000]}]}, {"shipping": {"method": ["express"]}}]}}},
        [{"total": 5000}, {"shipping": {"method": "express"}}],
        [{}],
    ),
]


@pytest.mark.parametrize(("name", "pattern", "matching", "not_matching"), OPERATORS, ids=[o[0] for o in OPERATORS])
def test_the_matcher_follows_aws_on_every_operator(
    name: str, pattern: dict, matching: list[dict], not_matching: list[dict]
) -> None:
    assert patterns.syntax_problems(pattern) == [], name  # every case is a pattern the loader accepts
    for overrides in matching:
        assert patterns.matches(pattern, event(**overrides)), (name, overrides)
    for overrides in not_matching:
        assert not patterns.matches(pattern, event(**overrides)), (name, overrides)


def test_a_missing_field_matches_only_exists_false() -> None:
    without_coupon = patterns.envelope("com.example.orders", "order.created", {"order_id": "ord_1"})
    assert not patterns.matches(data(coupon=[{"anything-but": "X"}]), without_coupon)
    assert not patterns.matches(data(coupon=[None]), without_coupon)
    assert patterns.matches(data(coupon=[{"exists": False}]), without_coupon)


def test_the_generated_source_and_detail_type_select_the_event() -> None:
    pattern = patterns.rule_pattern("com.example.orders", ["order.created"], data(country=["DE"]))
    assert pattern["source"] == ["com.example.orders"] and pattern["detail-type"] == ["order.created"]
    assert patterns.matches(pattern, event())
    other = patterns.envelope("com.example.orders", "order.cancelled", ORDER)
    assert not patterns.matches(pattern, other)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (data(country=[{"startswith": "D"}]), "unknown pattern operator 'startswith'"),
        (data(total=[{"numeric": [">", 100, "<", 5]}]), "empty or reversed"),
        (data(total=[{"numeric": ["~", 5]}]), "bad numeric argument"),
        (data(country="DE"), "values must be a list"),
        (data(country=[]), "an empty value list matches nothing"),
        (data(email=[{"wildcard": "a**b"}]), "bad wildcard"),
        (data(coupon=[{"exists": "yes"}]), "bad exists argument"),
        (data(country=[{"anything-but": ["US", 1]}]), "bad anything-but argument"),
        ({"detail": {"$or": [{"data": {"country": ["DE"]}}]}}, "$or takes a list of at least two patterns"),
        ({"source": ["x"]}, "eventform already matches source"),
        ({"payload": {"x": ["y"]}}, "'payload' is not a field of the EventBridge envelope"),
    ],
)
def test_syntax_problems_name_the_place_and_the_fix(pattern: dict, message: str) -> None:
    problems = patterns.syntax_problems(pattern)
    assert any(message in text for _, text, _ in problems), problems
    assert all(fix for _, _, fix in problems)


def test_the_envelope_is_what_the_publisher_puts_on_the_bus() -> None:
    catalog, _ = load(ROOT)
    fixed = datetime(2025, 1, 1, tzinfo=UTC)
    publisher = Publisher(catalog, "dev", bus_names={"orders": "dev-orders"}, clock=lambda: fixed)
    sent = []

    class Events:
        def put_events(self, Entries: list[dict]) -> dict:
            sent.extend(Entries)
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in Entries]}

    publisher.events = Events()
    example = catalog.event("orders/order.created").latest.examples[0]
    publisher.put_events([("orders/order.created", example)])
    ours = patterns.envelope("com.example.orders", "order.created", example)
    assert sent[0]["Source"] == ours["source"] and sent[0]["DetailType"] == ours["detail-type"]
    detail = json.loads(sent[0]["Detail"])
    assert set(ours["detail"]) <= set(detail) and detail["data"] == ours["detail"]["data"]
    assert set(detail) - set(ours["detail"]) <= {"dataschema", "traceparent"}  # no pattern may need them


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("$.detail.data.order_id", None),
        ("$.detail.data.customer.email", None),
        ("$.detail.data.items[0].sku", None),
        ("$.detail.dataversion", None),
        ("$.detail", None),
        ("$.time", None),
        ("$.detail.data.nope", "no field of the event's schema is there"),
        ("$.detail.order_id", "not a field of the CloudEvents envelope"),
        ("$.detail.time.zone", "is a string and has no fields"),
        ("$.payload", "is not a field of the EventBridge envelope"),
        ("detail.x", "is not a JSONPath"),
    ],
)
def test_transformer_paths_are_checked_against_the_schema(path: str, problem: str | None) -> None:
    catalog, _ = load(ROOT)
    schema = catalog.event("orders/order.created").latest.schema
    found = patterns.envelope_path_problem(path, schema)
    assert (found is None) if problem is None else (problem in (found or "")), found


def test_input_transformer_renders_like_eventbridge() -> None:
    rendered = patterns.render_input(
        event(),
        None,
        {"order": "$.detail.data.order_id", "total": "$.detail.data.total", "gone": "$.detail.data.nothing"},
        '{"text": "Order <order> (<total>)", "total": <total>, "missing": <gone>, "rule": "<aws.events.rule-name>"}',
    )
    assert json.loads(rendered) == {"text": "Order ord_1001 (39.5)", "total": 39.5, "missing": None, "rule": "<rule>"}
    # EventBridge writes JSON compactly (the corpus' "aws.events.event.json" renders, tests/conformance/transformer)
    assert patterns.render_input(event(), "$.detail.data.shipping", None, None) == '{"method":"standard"}'


def test_fields_inside_arrays_of_objects_match_like_eventbridge() -> None:
    """EventBridge matches a field inside an array of objects against every element's value, keeping the fields of
    one element together (aws/event-ruler's array consistency)."""
    event = {
        "source": "com.example.orders",
        "detail-type": "order.created",
        "detail": {"data": {"items": [{"sku": "A-1", "qty": 1}, {"sku": "B-2", "qty": 5, "options": [{"c": "red"}]}]}},
    }

    def on_items(condition: dict) -> bool:
        return patterns.matches({"detail": {"data": {"items": condition}}}, event)

    assert on_items({"sku": ["B-2"]}) and not on_items({"sku": ["C-3"]})
    # Conditions on two fields of an array must hold in the same element: A-1 has qty 1, so no match. moto (and this
    # test before) said yes; ruler says no (tests/conformance/eventbridge/ruler_readme_semantics.json, section "JSON
    # Array Matching (array consistency)", readme-0490..0497).
    assert not on_items({"sku": [{"prefix": "A-"}], "qty": [{"numeric": [">", 3]}]})
    assert on_items({"sku": [{"prefix": "B-"}], "qty": [{"numeric": [">", 3]}]})
    assert on_items({"options": {"c": ["red"]}}) and not on_items({"options": {"c": ["blue"]}})
    assert patterns.matches({"detail": {"data": {"items": {"sku": [{"exists": True}]}}}}, event)


def _edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


TEMPLATE = """template: '{"kind": "<type>", "country": "<country>", "at": "<at>"}'"""


@pytest.mark.parametrize(
    ("template", "message"),
    [
        # EventBridge refuses a placeholder as an object key (InputTransformer API reference; transformer corpus)
        ("""template: '{<type>: "<country>"}'""", "placeholder <type> used as an object key"),
        # inside quotes a value is inserted raw, unescaped: the event's JSON breaks the string (transformer corpus)
        ("""template: '{"kind": "<type>", "event": "<aws.events.event.json>"}'""", "would send invalid JSON"),
    ],
)
def test_a_transformer_aws_refuses_or_that_renders_invalid_json_is_a_load_error(
    project_copy: Path, template: str, message: str
) -> None:
    _edit(project_copy, "catalog/users.yaml", TEMPLATE, template)
    with pytest.raises(CatalogError, match=message) as refused:
        load(project_copy)
    assert all(problem.fix for problem in refused.value.problems)


def test_a_plain_text_template_is_accepted_for_an_sns_target(project_copy: Path) -> None:
    """SNS delivers any text: an alert sentence without JSON quotes is what the topic's subscribers receive."""
    quoted = """template: '"Order <order> needs review (total <total>)"'"""
    _edit(project_copy, "catalog/payments.yaml", quoted, "template: 'Order <order> needs review (total <total>)'")
    catalog, _ = load(project_copy)
    large = next(c for c in catalog.consumers if c.qualified_name == "payments/large-orders")
    assert any(t.kind == "sns" and t.input_transformer for t in large.route.targets)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"country": [{"wildcard": "D*"}]}, "SNS filter policies do not support it"),
        ({"total": [{"numeric": [">", 0.123456]}]}, "more than 5 decimal digits"),
        ({"total": [{"numeric": [">", 2_000_000_000]}]}, "outside -1,000,000,000..1,000,000,000"),
        ({"country": [str(n) for n in range(151)]}, "151 value combinations"),
        ({"a": ["x"], "b": ["x"], "c": ["x"], "d": ["x"], "e": ["x"], "f": ["x"]}, "6 keys"),
        ({"shipping": {"method": ["express"]}}, "needs FilterPolicyScope MessageBody"),
    ],
)
def test_filter_policies_sns_refuses_are_reported(policy: dict, message: str) -> None:
    problems = filters.syntax_problems(policy, "filter", "attributes")
    assert any(message in text for _, text, _ in problems), problems


def test_sns_matching_follows_the_developer_guide() -> None:
    """Typed attributes (SNS API shape): a string policy value never matches a Number attribute (sns corpus)."""
    price = {"price": {"DataType": "Number", "StringValue": "210.75"}}
    assert not filters.matches({"price": ["210.75"]}, "attributes", price, "{}")
    assert filters.matches({"price": [{"numeric": [">", 200]}]}, "attributes", price, "{}")
    assert filters.matches({"data": {"country": ["DE"]}}, "body", {}, json.dumps({"data": {"country": "DE"}}))
