"""AsyncAPI export: every domain's document validates against the official AsyncAPI 3.0 JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from typer.testing import CliRunner

from eventform.authoring.asyncapi import document
from eventform.catalog.loader import load
from eventform.cli.main import app
from tests.conftest import copy_project

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
    assert receive["action"] == "receive" and receive["x-eventform-filter"]["policy"] == {
        "country": ["DE", "AT", "FR", "NL", "ES", "IT"]
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
