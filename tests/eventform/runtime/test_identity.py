"""Event identity in the handler runtime: an event is ``<domain>/<event>`` plus its domain's ``source``.

Each test reproduces a defect of the review (issue 22, issue 16 item 3): two domains sharing an event name, a forged
envelope choosing a looser schema (and poisoning the validator cache), ``dataversion`` that is not an integer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventform.local.runner import LambdaContext
from eventform.runtime.handler import CloudEvent, EventHandler, EventValidationError, UnknownEventError
from eventform.runtime.records import sqs_event

ROOT = Path(__file__).resolve().parents[3]
ORDER = json.loads((ROOT / "catalog/orders/order.created/v1.examples.json").read_text())[0]


def _schema(required: list[str], properties: dict) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": required,
        "properties": properties,
    }


def two_domains(root: Path) -> Path:
    """A catalog folder (repository layout) where orders and users both define ``order.created``."""
    catalog = root / "catalog"
    for domain, schema in (
        ("orders", _schema(["total"], {"total": {"type": "number", "minimum": 0}})),
        ("users", _schema(["user_id"], {"user_id": {"type": "string"}})),
    ):
        folder = catalog / domain / "order.created"
        folder.mkdir(parents=True)
        (folder / "v1.schema.json").write_text(json.dumps(schema))
        (catalog / f"{domain}.yaml").write_text(f"domain: {domain}\nsource: com.example.{domain}\n")
    return catalog


def envelope(source: str, type_: str, data: dict, event_id: str = "e-1", **extra) -> dict:
    return {"specversion": "1.0", "id": event_id, "source": source, "type": type_, "dataversion": 1, "data": data} | (
        extra
    )


def test_two_domains_sharing_an_event_name_reach_their_own_function_and_schema(tmp_path: Path) -> None:
    app = EventHandler("shop/tracker", two_domains(tmp_path), idempotency_table="")
    seen: list[tuple[str, CloudEvent]] = []
    app.on("orders/order.created")(lambda event: seen.append(("orders", event)))
    app.on("users/order.created")(lambda event: seen.append(("users", event)))
    context = LambdaContext("tracker")
    users_event = envelope("com.example.users", "order.created", {"user_id": "u-1"}, "u-e")
    orders_event = envelope("com.example.orders", "order.created", {"total": 3}, "o-e")
    for body in (users_event, orders_event):
        app.lambda_handler({"detail-type": "order.created", "source": body["source"], "detail": body}, context)
    assert [(domain, event.id) for domain, event in seen] == [("users", "u-e"), ("orders", "o-e")]
    with pytest.raises(EventValidationError, match="total"):  # each is validated against its own domain's schema
        app.handle(CloudEvent.from_dict(envelope("com.example.orders", "order.created", {"user_id": "u-1"})))


def test_the_runtime_names_the_qualified_event_it_refuses(tmp_path: Path) -> None:
    app = EventHandler("shop/tracker", two_domains(tmp_path), idempotency_table="")
    app.on("orders/order.created")(lambda event: None)
    with pytest.raises(UnknownEventError, match=r"does not consume order\.created from com\.example\.users"):
        app.handle(CloudEvent.from_dict(envelope("com.example.users", "order.created", {"user_id": "u-1"})))


def test_a_bare_event_name_is_refused_at_registration(tmp_path: Path) -> None:
    app = EventHandler("shop/tracker", two_domains(tmp_path), idempotency_table="")
    with pytest.raises(ValueError, match=r"orders/order\.created"):
        app.on("order.created")


def forged_cases() -> list:
    """Envelopes a partner (or a bug) could put on a bus the consumer listens to, each with a payload the genuine
    schema refuses."""
    object_data = {"bucket": "prod-orders-x", "key": "k", "reason": "PutObject", "quantity": -1_000_000}
    orders = "com.example.orders"
    return [
        pytest.param(envelope("aws.s3", "order.created", object_data, "f-1"), id="aws.s3-source-with-an-order-type"),
        pytest.param(envelope("com.example.users", "order.created", {**ORDER}, "f-2"), id="another-domain's-source"),
        pytest.param(envelope(orders, "object.created", object_data, "f-3"), id="an-object-type"),
        pytest.param(envelope(orders, "order.created", ORDER, "f-4", dataversion="1"), id="version-str"),
        pytest.param(envelope(orders, "order.created", ORDER, "f-5", dataversion=True), id="version-bool"),
        pytest.param(envelope(orders, "order.created", ORDER, "f-6", dataversion=7), id="no-such-version"),
    ]


@pytest.mark.parametrize("forged", forged_cases())
def test_a_forged_envelope_is_refused_and_does_not_poison_later_events(forged: dict) -> None:
    app = EventHandler("inventory/reserve-stock", ROOT / "catalog", idempotency_table="")
    seen: list[str] = []
    app.on("orders/order.created")(lambda event: seen.append(event.id))
    app.on("object.created")(lambda event: seen.append(event.id))
    genuine = envelope("com.example.orders", "order.created", ORDER, "genuine")
    records = [
        {"MessageId": name, "ReceiptHandle": "r", "Body": json.dumps(body), "Attributes": {}}
        for name, body in (("forged", forged), ("genuine", genuine))
    ]
    for _ in range(2):  # the second batch: nothing the forged envelope did may outlive its own record
        response = app.lambda_handler(sqs_event(records, "arn:q", "us-east-1"), LambdaContext("f"))
        assert response == {"batchItemFailures": [{"itemIdentifier": "forged"}]}
    assert seen == ["genuine", "genuine"]


def test_the_validator_cache_is_bounded_by_what_the_consumer_declares() -> None:
    app = EventHandler("inventory/reserve-stock", ROOT / "catalog", idempotency_table="")
    app.on("orders/order.created")(lambda event: None)
    for version in range(2, 200):  # versions nobody declared: refused, never compiled nor cached
        with pytest.raises(UnknownEventError):
            app.handle(
                CloudEvent.from_dict(envelope("com.example.orders", "order.created", ORDER, dataversion=version))
            )
    assert app.declared.validator_count == 1  # order.created v1, compiled when it was registered


def test_zip_layout_reads_the_domain_source_from_the_bundled_manifest(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    folder = schemas / "users" / "order.created"
    folder.mkdir(parents=True)
    (folder / "v1.schema.json").write_text(json.dumps(_schema(["user_id"], {"user_id": {"type": "string"}})))
    (schemas / "users" / "domain.json").write_text(json.dumps({"source": "com.example.users"}))
    app = EventHandler("shop/tracker", schemas, idempotency_table="")
    seen: list[str] = []
    app.on("users/order.created")(lambda event: seen.append(event.id))
    app.handle(CloudEvent.from_dict(envelope("com.example.users", "order.created", {"user_id": "u"}, "z")))
    assert seen == ["z"]
