"""Schema compatibility inside one event version (eventform/catalog/compat.py, shared by `lint --base` and `diff`):
one case per rule, breaking and additive."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from eventform.catalog.compat import breaking_changes, compare

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def schema() -> dict[str, Any]:
    return json.loads((ROOT / "catalog/orders/order.created/v1.schema.json").read_text())


def kinds(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(c.path, c.kind, c.breaking) for c in compare(old, new)]


def test_identical_schemas_have_no_changes(schema):
    assert compare(schema, copy.deepcopy(schema)) == []


def test_removed_field_is_breaking(schema):
    new = copy.deepcopy(schema)
    del new["properties"]["customer"]["properties"]["name"]
    assert kinds(schema, new) == [("customer.name", "removed-field", True)]
    assert breaking_changes(schema, new) == [("customer.name", "field removed")]


def test_removed_required_field_is_breaking(schema):
    new = copy.deepcopy(schema)
    del new["properties"]["channel"]
    new["required"].remove("channel")
    assert ("channel", "field removed") in breaking_changes(schema, new)


def test_changed_type_is_breaking(schema):
    new = copy.deepcopy(schema)
    new["properties"]["total"]["type"] = "string"
    assert kinds(schema, new) == [("total", "changed-type", True)]
    # Consumers written against integers break on 1.5 as much as on "1": any type change is a new version.
    wider = copy.deepcopy(schema)
    wider["properties"]["items"]["items"]["properties"]["quantity"]["type"] = "number"
    assert kinds(schema, wider) == [("items[].quantity", "changed-type", True)]


def test_narrowed_enum_is_breaking_and_widened_is_not(schema):
    new = copy.deepcopy(schema)
    new["properties"]["channel"]["enum"] = ["web", "app"]
    assert kinds(schema, new) == [("channel", "narrowed-enum", True)]
    wider = copy.deepcopy(schema)
    wider["properties"]["channel"]["enum"].append("phone")
    assert kinds(schema, wider) == [("channel", "widened-enum", False)]
    assert breaking_changes(schema, wider) == []


def test_added_required_field_is_breaking_and_optional_is_not(schema):
    optional = copy.deepcopy(schema)
    optional["properties"]["coupon"] = {"type": "string"}
    assert kinds(schema, optional) == [("coupon", "added-field", False)]
    assert breaking_changes(schema, optional) == []
    required = copy.deepcopy(optional)
    required["required"].append("coupon")
    assert breaking_changes(schema, required) == [("coupon", "field became required")]


def test_relaxing_a_required_field_is_compatible(schema):
    new = copy.deepcopy(schema)
    new["required"].remove("channel")
    assert kinds(schema, new) == [("channel", "relaxed-required", False)]


def test_restricting_an_open_field_to_values_is_breaking():
    old = {"type": "object", "properties": {"a": {"type": "string"}}}
    new = {"type": "object", "properties": {"a": {"type": "string", "enum": ["x"]}}}
    assert kinds(old, new) == [("a", "added-enum", True)]
    assert str(compare(old, new)[0]) == 'a: values restricted to "x"'
