"""AsyncAPI export: every domain's document validates against the official AsyncAPI 3.0 JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from typer.testing import CliRunner

from eventform.authoring.asyncapi import _sns_policy_fits_binding, document
from eventform.catalog.loader import load
from eventform.cli.main import app
from tests.conftest import copy_project
from tests.eventform.authoring.bus_only import add_billing

ROOT = Path(__file__).resolve().parents[3]
# Installed by `make setup` from the npm package @asyncapi/specs (package-lock.json), never fetched at test time.
SPEC = ROOT / "node_modules/@asyncapi/specs/schemas/3.0.0-without-$id.json"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    if not SPEC.is_file():
        pytest.fail(f"{SPEC} is missing: run `make setup` (npm ci installs @asyncapi/specs)")
    return Draft7Validator(json.loads(SPEC.read_text()))


def resolve(doc: dict[str, Any], pointer: str) -> Any:
    node: Any = doc
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def test_every_domain_document_is_valid_asyncapi(tmp_path: Path, validator: Draft7Validator):
    result = CliRunner().invoke(app, ["export", "asyncapi", "--out", str(tmp_path), "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    catalog, _ = load(ROOT)
    files = sorted(tmp_path.glob("*.asyncapi.json"))
    assert [f.name.split(".")[0] for f in files] == sorted(d.name for d in catalog.domains)
    for path in files:
        doc = json.loads(path.read_text())
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
        assert problems == [], f"{path.name}: {problems[:5]}"
        for ref in refs(doc):
            resolve(doc, ref)  # every internal reference points at something


def test_orders_document_content():
    catalog, _ = load(ROOT)
    doc = document(catalog, catalog.domain("orders"))
    assert doc["asyncapi"] == "3.0.0"
    assert doc["channels"]["orders-events"]["address"] == "{env}-orders-events"
    assert doc["operations"]["publish.order.created.v1"]["action"] == "send"
    message = doc["components"]["messages"]["order.created.v1"]
    data = message["payload"]["schema"]["properties"]["data"]
    assert data["required"][0] == "order_id" and "$schema" not in data
    assert message["x-eventform-pii"] == ["customer.email", "customer.name"]
    notifications = document(catalog, catalog.domain("notifications"))
    assert sorted(notifications["channels"]) == ["orders-events", "users-events"]
    receive = notifications["operations"]["consume.send-email.orders"]
    policy = {"type": ["order.created"], "country": ["DE", "AT", "FR", "NL", "ES", "IT"]}  # as subscribed
    assert receive["action"] == "receive" and receive["x-eventform-filter"]["policy"] == policy
    (subscriber,) = receive["bindings"]["sns"]["consumers"]  # the official SNS binding
    assert subscriber == {
        "protocol": "sqs",
        "endpoint": {"name": "{env}-notifications-send-email"},
        "rawMessageDelivery": True,
        "filterPolicyScope": "MessageAttributes",
        "filterPolicy": policy,
    }


def test_handlers_and_emitted_events_are_described(tmp_path: Path, validator: Draft7Validator):
    project = copy_project(tmp_path)
    inventory = project / "catalog/inventory.yaml"
    emits = "    handler: reserve_stock\n    emits: [orders/order.cancelled]\n"
    inventory.write_text(inventory.read_text().replace("    handler: reserve_stock\n", emits))
    catalog, _ = load(project)
    doc = document(catalog, catalog.domain("inventory"))
    assert list(validator.iter_errors(doc)) == []
    assert (
        doc["operations"]["consume.reserve-stock.orders"]["x-eventform-handler"] == "handlers/reserve_stock/handler.py"
    )
    emit = doc["operations"]["emit.reserve-stock.order.cancelled"]
    assert emit["action"] == "send" and emit["channel"] == {"$ref": "#/channels/orders-events"}
    assert "order.cancelled.v1" in doc["channels"]["orders-events"]["messages"]
    for ref in refs(doc):
        resolve(doc, ref)


def test_out_that_is_a_file_is_refused(tmp_path: Path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    result = CliRunner().invoke(app, ["export", "asyncapi", "--out", str(target), "--root", str(ROOT)])
    assert result.exit_code == 1
    assert f"--out {target}: is a file" in " ".join(result.output.split()) and "fix:" in result.output
    assert target.read_text() == "not a folder"


def test_export_is_deterministic_and_the_validator_has_teeth(validator: Draft7Validator):
    first = document(load(ROOT)[0], load(ROOT)[0].domain("payments"))
    second = document(load(ROOT)[0], load(ROOT)[0].domain("payments"))
    assert json.dumps(first) == json.dumps(second)
    broken = {**first, "operations": {"x": {"action": "publish", "channel": {"$ref": "#/channels/payments-events"}}}}
    assert list(validator.iter_errors(broken)), "AsyncAPI 2 verbs are rejected by the 3.0 schema"


def test_a_bus_only_domain_has_its_bus_as_channel_and_rules_as_operations(tmp_path: Path, validator: Draft7Validator):
    project = copy_project(tmp_path)
    add_billing(project)
    catalog, _ = load(project)
    doc = document(catalog, catalog.domain("billing"))
    assert list(validator.iter_errors(doc)) == []
    assert list(doc["channels"]) == ["billing-bus"], "no SNS topic channel for a domain without a topic"
    bus = doc["channels"]["billing-bus"]
    assert bus["address"] == "{env}-billing" and bus["x-eventform-transport"] == "bus" and "bindings" not in bus
    assert sorted(bus["messages"]) == ["invoice.issued.v1.bus", "invoice.paid.v1.bus"]
    put = doc["operations"]["put-events.invoice.paid.v1"]
    assert put["action"] == "send" and put["channel"] == {"$ref": "#/channels/billing-bus"}
    message = doc["components"]["messages"]["invoice.issued.v1.bus"]
    schema = message["payload"]["schema"]
    assert schema["properties"]["detail-type"] == {"const": "invoice.issued"}  # EventBridge's event, not SNS's
    assert schema["properties"]["detail"]["properties"]["data"]["required"] == ["invoice_id", "amount"]
    assert "headers" not in message, "EventBridge has no message attributes"
    rule = doc["operations"]["consume.dunning.billing"]
    assert rule["action"] == "receive" and "bindings" not in rule
    assert rule["x-eventform-rule"]["name"] == "{env}-billing-dunning-from-billing"
    assert rule["x-eventform-rule"]["pattern"] == {
        "source": ["com.example.billing"],
        "detail-type": ["invoice.issued"],
        "detail": {"data": {"amount": [{"numeric": [">=", 100]}]}},
    }
    targets = {t["name"]: t for t in rule["x-eventform-rule"]["targets"]}
    assert targets["queue"] == {"name": "queue", "type": "queue", "queue": "{env}-billing-dunning"}
    assert targets["collections"]["input_transformer"]["template"] == '"Invoice <invoice> over <amount> EUR"'
    for ref in refs(doc):
        resolve(doc, ref)


def test_buckets_schedules_pipes_and_other_domains_buses(validator: Draft7Validator):
    catalog, _ = load(ROOT)
    payments = document(catalog, catalog.domain("payments"))
    assert list(validator.iter_errors(payments)) == []
    bucket = payments["channels"]["payments-invoices-bucket"]
    assert bucket["address"] == "{env}-payments-invoices-{account}-{region}"
    assert sorted(bucket["parameters"]) == ["account", "env", "region"]
    assert payments["channels"]["payments-events"]["bindings"]["sns"] == {
        "name": "{env}-payments-events.fifo",
        "ordering": {"type": "FIFO", "contentBasedDeduplication": False},
        "bindingVersion": "0.1.0",
    }
    notification = payments["operations"]["consume.index-invoice.invoices"]
    assert notification["x-eventform-notification"] == {
        "destination": "queue",
        "events": ["s3:ObjectCreated:*"],
        "prefix": "invoices/",
        "suffix": ".pdf",
    }
    removals = payments["operations"]["consume.invoice-removals.invoices"]
    assert removals["channel"] == {"$ref": "#/channels/default-bus"}
    assert payments["channels"]["default-bus"]["address"] == "default"
    assert removals["x-eventform-rule"]["pattern"]["detail-type"] == ["Object Deleted"]
    large = payments["operations"]["consume.large-orders.orders"]  # a rule on another domain's bus
    assert large["channel"] == {"$ref": "#/channels/orders-bus"}
    assert payments["channels"]["orders-bus"]["address"] == "{env}-orders"
    (pipe,) = payments["x-eventform-pipes"]
    assert pipe["source"] == {"kind": "queue", "reference": "settlement", "batch_size": 10}
    assert pipe["enrichment"] == "handlers/settlement_fees/handler.py" and pipe["target"]["kind"] == "stepfunctions"
    inventory = document(catalog, catalog.domain("inventory"))
    assert list(validator.iter_errors(inventory)) == []
    assert "inventory-events" not in inventory["channels"], "inventory publishes only on its bus"
    scheduled = inventory["operations"]["schedule.nightly-recount"]
    assert scheduled["channel"] == {"$ref": "#/channels/inventory-bus"}
    assert scheduled["x-eventform-schedule"]["expression"] == "cron(0 3 * * ? *)"
    users = document(catalog, catalog.domain("users"))
    push = users["operations"]["consume.crm-sync.users"]["bindings"]["sns"]["consumers"][0]
    assert push["protocol"] == "lambda" and push["rawMessageDelivery"] is False
    stock = document(catalog, catalog.domain("inventory"))["operations"]["consume.reserve-stock.orders"]
    assert "filterPolicy" in stock["bindings"]["sns"]["consumers"][0]  # nested body policy: the binding takes it
    for doc in (payments, inventory, users):
        for ref in refs(doc):
            resolve(doc, ref)


def test_policies_the_sns_binding_cannot_express_stay_in_the_extension(validator: Draft7Validator):
    numeric = {"type": ["order.created"], "total": [{"numeric": [">", 100]}]}
    either = {"type": ["order.created"], "$or": [{"country": ["DE"]}, {"channel": ["app"]}]}
    assert not _sns_policy_fits_binding(numeric) and not _sns_policy_fits_binding(either)
    assert _sns_policy_fits_binding({"type": ["a"], "data": {"x": [{"anything-but": ["y"]}]}})
    subscriber = {"protocol": "sqs", "endpoint": {"name": "q"}, "rawMessageDelivery": True, "filterPolicy": numeric}
    doc = {
        "asyncapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "channels": {"c": {"address": "a"}},
        "operations": {
            "o": {
                "action": "receive",
                "channel": {"$ref": "#/channels/c"},
                "bindings": {"sns": {"consumers": [subscriber]}},
            }
        },
    }
    assert list(validator.iter_errors(doc)), "the official binding refuses operator lists: hence the x- extension"
