"""HTTP ingestion endpoints in the catalog: what the sample declares, the draft-4 request model each event gets, and
the bad-input corpus of ``ingestion:`` (each mistake stops with file, line and fix)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from eventform.catalog.ingestion import draft4_model, endpoints_of, model_name
from eventform.catalog.loader import load
from tests.eventform.catalog.section_cases import Case, assert_reported
from tests.eventform.catalog.test_bad_input import edit, line_containing, project  # noqa: F401 (fixture)

ORDERS = "catalog/orders.yaml"
IAM = "auth: {type: iam, partners: [marketplace]}"
JWT = "auth:\n      type: jwt\n      scopes: [orders/ingest]\n      issuers:\n" + "".join(
    f"        {env}: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_{env.title()}Pool1\n"
    for env in ("dev", "staging", "prod", "local")
)


def test_the_sample_endpoint(project_root: Path) -> None:
    catalog = load(project_root)[0]
    (endpoint,) = catalog.domain("orders").ingestion
    assert (endpoint.qualified_name, endpoint.events, endpoint.into) == (
        "orders/partner-webhook",
        ("order.created",),
        "bus",
    )
    assert (endpoint.auth.kind, endpoint.auth.partners) == ("iam", ("marketplace",))
    assert (endpoint.max_body, endpoint.inspection_limit) == (32 * 1024, "KB_32")
    assert (endpoint.throttle.rate, endpoint.throttle.burst) == (25.0, 50)
    assert endpoints_of(catalog, "orders/order.created") == (endpoint,)
    assert endpoints_of(catalog, "orders/order.cancelled") == ()


def test_every_sample_schema_converts_and_keeps_its_examples_valid(project_root: Path) -> None:
    catalog = load(project_root)[0]
    for event in catalog.events:
        for version in event.versions:
            model = draft4_model(version.schema)
            assert model["$schema"] == "http://json-schema.org/draft-04/schema#" and "$id" not in model
            Draft4Validator.check_schema(model)
            for example in version.examples:
                assert not list(Draft4Validator(model).iter_errors(example)), event.qualified_name


def test_the_draft4_model_rewrites_what_draft4_spells_differently() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.com/x.json",
        "type": "object",
        "$defs": {"money": {"type": "number", "exclusiveMinimum": 0}},
        "properties": {"kind": {"const": "a"}, "total": {"$ref": "#/$defs/money"}, "note": {"examples": ["x"]}},
    }
    model = draft4_model(schema)
    assert model["definitions"] == {"money": {"type": "number", "minimum": 0, "exclusiveMinimum": True}}
    assert model["properties"] == {
        "kind": {"enum": ["a"]},
        "total": {"$ref": "#/definitions/money"},
        "note": {},
    }
    validator = Draft4Validator(model)
    assert validator.is_valid({"kind": "a", "total": 1}) and not validator.is_valid({"kind": "a", "total": 0})
    with pytest.raises(ValueError, match="'if' at /properties/kind"):
        draft4_model({"properties": {"kind": {"if": {}, "then": {}}}})
    with pytest.raises(ValueError, match="a request model holds one document"):
        draft4_model({"$ref": "https://example.com/other.json"})
    assert model_name("order.created", 2) == "OrderCreatedV2"
    assert model_name("stock.level_changed", 1) == "StockLevelChangedV1"


def test_a_jwt_endpoint_names_each_environments_pool_and_scopes(project: Path) -> None:  # noqa: F811
    edit(project, ORDERS, IAM, JWT)
    catalog, environments = load(project)
    (endpoint,) = catalog.domain("orders").ingestion
    assert endpoint.auth.kind == "jwt" and endpoint.auth.scopes == ("orders/ingest",)
    prod = next(e for e in environments if e.name == "prod")
    assert (
        endpoint.auth.user_pool_arn(prod) == "arn:aws:cognito-idp:eu-west-1:333333333333:userpool/eu-west-1_ProdPool1"
    )


# --------------------------------------------------------------------------------------------------------------
# The bad-input corpus of ingestion:
# --------------------------------------------------------------------------------------------------------------
def orders(old: str, new: str) -> Callable[[Path], object]:
    return lambda root: edit(root, ORDERS, old, new)


def schema_with_if(root: Path) -> None:
    path = root / "catalog/orders/order.created/v1.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["channel"] |= {"if": {"const": "store"}, "then": {"type": "string"}}
    path.write_text(json.dumps(schema, indent=2))


def a_large_example(root: Path) -> None:
    path = root / "catalog/orders/order.created/v1.examples.json"
    examples = json.loads(path.read_text())
    examples.append({**examples[0], "customer": {**examples[0]["customer"], "name": "x" * 40_000}})
    path.write_text(json.dumps(examples, indent=2))


def endpoint_of(domain: str, event: str, without_bus: bool = False) -> Callable[[Path], object]:
    def add(root: Path) -> None:
        path = root / f"catalog/{domain}.yaml"
        text = path.read_text()
        if without_bus:  # every sample domain with events has a bus: take it away (other problems follow, too)
            text = "\n".join(line for line in text.splitlines() if not line.startswith("bus:")) + "\n"
        path.write_text(
            text
            + "\ningestion:\n  feed:\n    description: a partner posts them\n"
            + f"    events: [{event}]\n    auth: {{type: iam}}\n"
        )

    return add


CASES = [
    Case(
        "ingestion-unknown-event",
        orders("events: [order.created]            #", "events: [order.shipped]            #"),
        "orders has no event 'order.shipped'",
        "use one of: order.cancelled, order.created",
        "events: [order.shipped]",
    ),
    Case(
        "ingestion-body-limit-too-large",
        orders("max_body: 32KB", "max_body: 128KB"),
        "outside what the endpoint's web ACL can enforce",
        "between 1KB and 64KB",
        "max_body: 128KB",
    ),
    Case(
        "ingestion-example-over-the-limit",
        a_large_example,
        "over max_body (32768): the endpoint would refuse it",
        "raise max_body",
        "max_body: 32KB",
    ),
    Case(
        "ingestion-audience",
        orders(IAM, JWT + "      audience: [partner-app]\n"),
        "cannot check a token's aud",
        "require scopes",
        "audience: [partner-app]",
    ),
    Case(
        "ingestion-jwt-without-scopes",
        orders(IAM, JWT.replace("      scopes: [orders/ingest]\n", "")),
        "a jwt endpoint needs scopes",
        "add scopes:",
        ("partner-webhook:", "auth:"),
    ),
    Case(
        "ingestion-jwt-without-an-environments-issuer",
        orders(
            IAM, JWT.replace("        local: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_LocalPool1\n", "")
        ),
        "no issuer for environment local",
        "add local: https://cognito-idp",
        "issuers:",
    ),
    Case(
        "ingestion-issuer-not-cognito",
        orders(
            IAM, JWT.replace("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_DevPool1", "https://id.example.com")
        ),
        "is not a Cognito user pool issuer URL",
        "write the pool's issuer",
        "dev: https://id.example.com",
    ),
    Case(
        "ingestion-iam-with-scopes",
        orders(IAM, "auth: {type: iam, scopes: [orders/ingest]}"),
        "scopes belongs to auth type jwt",
        "set type: jwt",
        "auth: {type: iam, scopes: [orders/ingest]}",
    ),
    Case(
        "ingestion-unknown-partner",
        orders(IAM, "auth: {type: iam, partners: [warehouse]}"),
        "environment dev declares no partner 'warehouse'",
        "add warehouse under partners: of environments/dev.yaml",
        "auth: {type: iam, partners: [warehouse]}",
    ),
    Case(
        "ingestion-domain-without-bus",
        endpoint_of("payments", "payment.authorized", without_bus=True),
        "payments has no bus for the endpoint to put its events on",
        "add bus: {} to catalog/payments.yaml",
        "  feed:",
        file="payments.yaml",
    ),
    Case(
        "ingestion-event-not-on-the-bus",
        endpoint_of("inventory", "stock.reserved"),
        "inventory/stock.reserved does not travel on the bus",
        "add bus to the via: of stock.reserved",
        "events: [stock.reserved]",
        file="inventory.yaml",
    ),
    Case(
        "ingestion-schema-not-in-draft4",
        schema_with_if,
        "which JSON Schema draft 4 does not have",
        "API Gateway validates bodies with JSON Schema draft 4",
        "events: [order.created]            #",
    ),
    Case(
        "ingestion-endpoint-name",
        orders("  partner-webhook:\n", "  Partner_Webhook:\n"),
        "is not an endpoint name: 2 to 40 characters",
        "rename it",
        "Partner_Webhook:",
    ),
    Case(
        "ingestion-throttle-without-burst",
        orders("throttle: {rate: 25, burst: 50}", "throttle: {rate: 25}"),
        "burst",
        "",
        "throttle: {rate: 25}",
    ),
]


def test_the_corpus_covers_each_mistake_once() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 12


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_ingestion_input_is_reported_with_file_place_and_fix(case: Case, project: Path) -> None:  # noqa: F811
    assert_reported(case, project)
