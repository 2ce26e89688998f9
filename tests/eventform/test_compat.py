"""Compatibility rules inside one event version: one case per rule, breaking and additive."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from eventform.compat import breaking_changes, compare

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def schema() -> dict[str, Any]:
    return json.loads((ROOT / "catalog/orders/order.created/v1.schema.json").read_text())


def kinds(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.path, c.kind) for c in compare(old, new)]


def test_identical_schemas_have_no_changes(schema):
    assert compare(schema, copy.deepcopy(schema)) == []


def test_removed_field_is_breaking(schema):
    new = copy.deepcopy(schema)
    del new["properties"]["customer"]["properties"]["name"]
    assert [(c.path, c.kind) for c in breaking_changes(schema, new)] == [("customer.name", "removed-field")]


def test_removed_required_field_is_breaking(schema):
    new = copy.deepcopy(schema)
    del new["properties"]["channel"]
    new["required"].remove("channel")
    assert ("channel", "removed-field") in [(c.path, c.kind) for c in breaking_changes(schema, new)]


def test_changed_type_is_breaking_and_widening_is_not(schema):
    new = copy.deepcopy(schema)
    new["properties"]["total"]["type"] = "string"
    assert [(c.path, c.kind) for c in breaking_changes(schema, new)] == [("total", "changed-type")]
    wider = copy.deepcopy(schema)
    wider["properties"]["items"]["items"]["properties"]["quantity"]["type"] = "number"
    assert kinds(schema, wider) == [("items[].quantity", "widened-type")]
    assert breaking_changes(schema, wider) == []


def test_narrowed_enum_is_breaking_and_widened_is_not(schema):
    new = copy.deepcopy(schema)
    new["properties"]["channel"]["enum"] = ["web", "app"]
    assert [(c.path, c.kind) for c in breaking_changes(schema, new)] == [("channel", "narrowed-enum")]
    wider = copy.deepcopy(schema)
    wider["properties"]["channel"]["enum"].append("phone")
    assert kinds(schema, wider) == [("channel", "widened-enum")]


def test_added_required_field_is_breaking_and_optional_is_not(schema):
    optional = copy.deepcopy(schema)
    optional["properties"]["coupon"] = {"type": "string"}
    assert kinds(schema, optional) == [("coupon", "added-field")]
    assert breaking_changes(schema, optional) == []
    required = copy.deepcopy(optional)
    required["required"].append("coupon")
    assert [(c.path, c.kind) for c in breaking_changes(schema, required)] == [("coupon", "added-required")]


def test_closing_an_open_object_is_breaking():
    old = {"type": "object", "properties": {"a": {"type": "string"}}}
    new = {**old, "additionalProperties": False}
    assert [c.kind for c in breaking_changes(old, new)] == ["closed-object"]
    assert str(breaking_changes(old, new)[0]) == "(payload): additionalProperties set to false"
