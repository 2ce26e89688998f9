"""The record of schemas that passed the metaschema check: skipped when known, same verdict and message always."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from eventform.catalog import schema_checks
from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load_catalog
from tests.conftest import copy_project

SCHEMA = "catalog/users/user.registered/v1.schema.json"


@pytest.fixture
def project(project_root: Path, tmp_path: Path) -> Path:
    return copy_project(tmp_path)


@pytest.fixture(autouse=True)
def record_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(schema_checks.CACHE_VARIABLE, "1")  # the suite turns it off (tests/conftest.py)


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every schema the real metaschema check runs on, in order."""
    calls: list[dict] = []
    real = Draft202012Validator.check_schema

    def counting(schema: dict) -> None:
        calls.append(schema)
        real(schema)

    monkeypatch.setattr(schema_checks.Draft202012Validator, "check_schema", counting)
    return calls


def _schema_count(project: Path) -> int:
    return len(list((project / "catalog").rglob("*.schema.json")))


def test_a_second_load_skips_the_schemas_that_passed(project: Path, checked: list[dict]) -> None:
    load_catalog(project / "catalog")
    assert len(checked) == _schema_count(project)
    record = json.loads((project / schema_checks.FILE).read_text())
    assert len(record["passed"]) == len({json.dumps(s, sort_keys=True) for s in checked})
    checked.clear()
    load_catalog(project / "catalog")
    assert checked == []
    edited = project / SCHEMA
    schema = json.loads(edited.read_text())
    schema["description"] = "changed"
    edited.write_text(json.dumps(schema))
    load_catalog(project / "catalog")
    assert checked == [schema]  # only the changed schema is checked again


def test_a_failing_schema_is_never_recorded_and_fails_with_the_same_message(
    project: Path, checked: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = project / SCHEMA
    schema = json.loads(edited.read_text())
    schema["properties"]["email"]["minLength"] = "three"
    edited.write_text(json.dumps(schema))
    messages = []
    for setting in ("1", "1", "0"):
        monkeypatch.setenv(schema_checks.CACHE_VARIABLE, setting)
        with pytest.raises(CatalogError) as error:
            load_catalog(project / "catalog")
        messages.append(str(error.value))
    assert "not a valid JSON Schema" in messages[0]
    assert messages[0] == messages[1] == messages[2]
    assert checked.count(schema) == 3


def test_a_damaged_or_foreign_record_is_ignored_and_rewritten(project: Path, checked: list[dict]) -> None:
    record = project / schema_checks.FILE
    record.parent.mkdir(parents=True, exist_ok=True)
    for text in ("{not json", json.dumps({"checker": "jsonschema==0.1", "passed": ["x"]})):
        record.write_text(text)
        checked.clear()
        load_catalog(project / "catalog")
        assert len(checked) == _schema_count(project)
        assert json.loads(record.read_text())["checker"] == schema_checks._checker_version()


def test_turned_off_it_checks_every_schema_and_writes_nothing(
    project: Path, checked: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(schema_checks.CACHE_VARIABLE, "0")
    for _ in range(2):
        load_catalog(project / "catalog")
    assert len(checked) == 2 * _schema_count(project)
    assert not (project / schema_checks.FILE).exists()
