"""Events: the CloudEvents dataschema is a URI, and an example is publishable exactly when the publisher says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load_catalog
from eventform.runtime.publisher import MAX_MESSAGE_BYTES, Publisher, PublishError
from tests.conftest import copy_project

EXAMPLES = "catalog/users/user.registered/v1.examples.json"
SCHEMA = "catalog/users/user.registered/v1.schema.json"


@pytest.fixture
def project(project_root: Path, tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def _rewrite(project: Path, relative: str, change) -> None:
    path = project / relative
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def test_dataschema_is_the_schema_id_or_a_generated_urn(project: Path) -> None:
    catalog = load_catalog(project / "catalog")
    registered = catalog.event("users/user.registered")
    assert registered.dataschema(1) == "https://schemas.example.com/users/user.registered/v1.json"
    _rewrite(project, SCHEMA, lambda schema: schema.pop("$id"))
    registered = load_catalog(project / "catalog").event("users/user.registered")
    assert registered.dataschema(1) == "urn:eventform:schema:users:user.registered:v1"
    _, envelope = Publisher(catalog, "dev").envelope("users/user.registered", registered.latest.examples[0])
    assert envelope["dataschema"].startswith("https://")  # the publisher takes it from the same place


def _example_with_name_of(project: Path, length: int) -> dict:
    example: dict = {}

    def grow(examples: list) -> None:
        examples[0]["name"] = "x" * length
        example.update(examples[0])

    _rewrite(project, EXAMPLES, grow)
    return example


@pytest.mark.parametrize("spare", [600, 0])
def test_lint_and_publisher_draw_the_256_kb_line_in_the_same_place(project: Path, spare: int) -> None:
    """Largest payload that fits, found with the publisher; lint accepts it and refuses one byte more."""
    catalog = load_catalog(project / "catalog")
    publisher = Publisher(catalog, "dev", topic_arns={"users": "arn"}, bus_names={"users": "x" * 10 + "-users"})
    base = dict(catalog.event("users/user.registered").latest.examples[0])
    traceparent = "00-" + "0" * 32 + "-" + "0" * 16 + "-01"

    def fits(length: int) -> bool:
        event, envelope = publisher.envelope(
            "users/user.registered", {**base, "name": "x" * length}, traceparent=traceparent
        )
        try:
            publisher.sns_message(event, envelope)
            publisher.bus_entry(event, envelope)
        except PublishError:
            return False
        return True

    low, high = 0, MAX_MESSAGE_BYTES
    while low < high:  # the largest length that fits
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    assert MAX_MESSAGE_BYTES - 1024 < low < MAX_MESSAGE_BYTES
    _example_with_name_of(project, low - spare)
    load_catalog(project / "catalog")  # fits: no problem
    _example_with_name_of(project, low + 1)
    with pytest.raises(CatalogError, match="example 0 is too large to publish"):
        load_catalog(project / "catalog")


def test_camel_case_payload_fields_serve_as_group_keys_attributes_filters_and_patterns(project: Path) -> None:
    """Payloads are the producers' JSON, often camelCase: order_id -> orderId, currency -> currencyCode."""
    import re

    for path in [*(project / "catalog").rglob("*.json"), *(project / "catalog").glob("*.yaml")]:
        text = re.sub(r"\border_id\b", "orderId", path.read_text())
        path.write_text(re.sub(r"\bcurrency\b", "currencyCode", text))
    payments = project / "catalog/payments.yaml"
    text = payments.read_text()
    text = text.replace(
        "    handler: ledger\n", "    handler: ledger\n    filter: {currencyCode: [EUR, USD, GBP, CHF]}\n", 1
    )
    text = text.replace(
        "        - detail: {data: {shipping: {method: [express]}}}",
        "        - detail: {data: {shipping: {method: [express]}}}\n"
        "        - detail: {data: {orderId: [{wildcard: 'ord_*_vip'}]}}",
        1,
    )
    payments.write_text(text)
    catalog = load_catalog(project / "catalog")
    captured = catalog.event("payments/payment.captured")
    assert captured.message_group == "orderId" and captured.attributes == ("currencyCode",)
    ledger = next(c for c in catalog.consumers if c.name == "ledger")
    assert ledger.filter == {"currencyCode": ["EUR", "USD", "GBP", "CHF"]}
    publisher = Publisher(catalog, "dev", topic_arns={"payments": "arn"})
    event, envelope = publisher.envelope("payments/payment.captured", captured.latest.examples[0])
    message = publisher.sns_message(event, envelope)
    assert message["MessageGroupId"] == captured.latest.examples[0]["orderId"]
    assert "currencyCode" in message["MessageAttributes"]
