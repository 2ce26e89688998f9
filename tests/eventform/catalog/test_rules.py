"""Catalog rules in eventform lint: PII needs customer-managed keys; published schema versions stay compatible."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.catalog.compat import breaking_changes
from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.cli.main import app
from tests.conftest import copy_project

runner = CliRunner()
SCHEMA = "catalog/orders/order.created/v1.schema.json"


@pytest.fixture
def project(project_root: Path, tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(project), *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(project: Path) -> Path:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "base")
    return project


def change_schema(project: Path, change) -> None:
    path = project / SCHEMA
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema, indent=2))


def test_pii_in_a_service_managed_prod_is_an_error(project: Path) -> None:
    path = project / "environments" / "prod.yaml"
    path.write_text(path.read_text().replace("encryption: customer-managed", "encryption: service-managed"))
    with pytest.raises(CatalogError) as caught:
        load(project)
    (problem,) = caught.value.problems
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("encryption:"))
    assert problem.file.name == "prod.yaml" and problem.location == "encryption" and problem.line == line
    assert "orders/order.created (customer.email, customer.name)" in problem.message
    assert "customer-managed" in problem.fix


def test_pii_in_service_managed_dev_is_fine(project: Path) -> None:
    catalog, environments = load(project)  # dev and local are service-managed in the sample catalog
    managed = {e.name: e.encryption for e in environments}
    assert managed["dev"] == managed["local"] == "service-managed" and managed["prod"] == "customer-managed"
    assert catalog.event("orders/order.created").pii  # the rule had PII to refuse, and did not for dev


def _each(key: str, change):
    """Apply ``change`` to every example payload (a dict) or to each example's ``key`` sub-object."""

    def apply(examples: list[dict]) -> None:
        for example in examples:
            change(example[key] if key else example)

    return apply


def _items(change):
    return _each("", lambda e: [change(item) for item in e["items"]])


BREAKING = {
    "removed": (  # a field no catalog target or filter reads (currency feeds the authorize-payment workflow)
        lambda s: s["properties"].pop("items") and s["required"].remove("items"),
        _each("", lambda e: e.pop("items")),
        "items",
        "field removed",
    ),
    "type": (
        lambda s: s["properties"]["total"].update(type="string"),
        _each("", lambda e: e.update(total=str(e["total"]))),
        "total",
        "type changed",
    ),
    "enum": (
        lambda s: s["properties"]["channel"].update(enum=["web", "app"]),
        _each("", lambda e: e.update(channel="web")),
        "channel",
        "enum narrowed",
    ),
    "required": (
        lambda s: s["required"].append("since") or s["properties"].update(since={"type": "string"}),
        _each("", lambda e: e.update(since="2020")),
        "since",
        "field became required",
    ),
    "nested-required": (
        lambda s: s["properties"]["customer"]["required"].append("name"),
        _each("customer", lambda c: c.setdefault("name", "N. N.")),
        "customer.name",
        "field became required",
    ),
    "array-item-field": (
        lambda s: (
            s["properties"]["items"]["items"]["properties"].pop("sku")
            and s["properties"]["items"]["items"]["required"].remove("sku")
        ),
        _items(lambda item: item.pop("sku")),
        "items[].sku",
        "field removed",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKING))
def test_breaking_changes_say_publish_next_version(repo: Path, case: str) -> None:
    change, fix_examples, location, what = BREAKING[case]
    change_schema(repo, change)
    examples_path = repo / SCHEMA.replace("schema.json", "examples.json")
    examples = json.loads(examples_path.read_text())
    fix_examples(examples)
    examples_path.write_text(json.dumps(examples))
    assert runner.invoke(app, ["lint", "--root", str(repo)]).exit_code == 0  # valid on its own...
    result = runner.invoke(app, ["lint", "--root", str(repo), "--base", "main"])
    assert result.exit_code == 1, result.output  # ...but not compatible with what was published
    output = " ".join(result.output.split())
    assert "v1.schema.json" in output and what in output and f"at {location}:" in output
    assert "publish version 2" in output


def test_additive_optional_fields_are_compatible(repo: Path) -> None:
    change_schema(repo, lambda s: s["properties"].update(gift_note={"type": "string"}))
    change_schema(repo, lambda s: s["properties"]["channel"].update(enum=["web", "app", "store", "phone"]))
    result = runner.invoke(app, ["lint", "--root", str(repo), "--base", "main"])
    assert result.exit_code == 0, result.output


def test_a_new_version_may_change_anything(repo: Path) -> None:
    folder = repo / "catalog" / "orders" / "order.created"
    v2 = json.loads((folder / "v1.schema.json").read_text())
    v2["properties"].pop("channel")
    v2["required"].remove("channel")
    (folder / "v2.schema.json").write_text(json.dumps(v2))
    examples = json.loads((folder / "v1.examples.json").read_text())
    (folder / "v2.examples.json").write_text(
        json.dumps([{k: v for k, v in e.items() if k != "channel"} for e in examples])
    )
    catalog = repo / "catalog" / "orders.yaml"
    text = catalog.read_text()
    catalog.write_text(
        text.replace("versions: [1]\n    attributes: [country, channel]", "versions: [1, 2]\n    attributes: [country]")
    )
    result = runner.invoke(app, ["lint", "--root", str(repo), "--base", "main"])
    assert result.exit_code == 0, result.output


def test_unknown_base_ref_is_reported(repo: Path) -> None:
    result = runner.invoke(app, ["lint", "--root", str(repo), "--base", "no-such-branch"])
    assert result.exit_code == 1
    assert "'no-such-branch' is not a commit" in result.output


def test_breaking_changes_unit() -> None:
    base = {"type": "object", "properties": {"a": {"type": "string"}}, "required": []}
    assert breaking_changes(base, base) == []
    assert breaking_changes(base, {"type": "object", "properties": {}}) == [("a", "field removed")]
