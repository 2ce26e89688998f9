"""One validator per event version: lint (catalog examples, schedule payloads), the publisher, the handler runtime
and pipe enrichments (which the local rehearsal runs in process) give the same verdict for every payload, with JSON
Schema 2020-12 semantics.

The review found the publisher (jsonschema) accepting ``"a@b"`` for ``format: email`` while every consumer
(fastjsonschema, draft-07) refused it, and ``dependentRequired`` ignored by consumers."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.runtime import validation
from eventform.runtime.enrichment import Enricher
from eventform.runtime.handler import CloudEvent, EventHandler, EventValidationError
from eventform.runtime.publisher import Publisher, PublishError
from tests.conftest import copy_project

EVENT = "users/user.registered"
FOLDER = "catalog/users/user.registered"
BASE = {"user_id": "cus_1", "email": "ada@example.com", "country": "DE", "marketing_opt_in": True}
# (payload, valid under JSON Schema 2020-12 with eventform's format checks)
CASES = {
    "valid": (BASE, True),
    "email-without-a-dot-in-the-domain": ({**BASE, "email": "a@b"}, True),  # RFC 5321: a domain may be one label
    "email-without-an-at": ({**BASE, "email": "not-an-email"}, False),
    "email-with-a-space": ({**BASE, "email": "a b@example.com"}, False),
    "dependent-required-missing": ({**BASE, "referrer": "cus_2"}, False),
    "dependent-required-present": ({**BASE, "referrer": "cus_2", "referred_at": "2026-01-01T10:00:00Z"}, True),
    "date-time-malformed": ({**BASE, "referrer": "cus_2", "referred_at": "yesterday"}, False),
    "date-time-impossible": ({**BASE, "referrer": "cus_2", "referred_at": "2026-02-30T10:00:00Z"}, False),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project with user.registered v1 widened by two optional fields tied by ``dependentRequired``."""
    root = copy_project(tmp_path_factory.mktemp("validation"))
    path = root / FOLDER / "v1.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["referrer"] = {"type": "string"}
    schema["properties"]["referred_at"] = {"type": "string", "format": "date-time"}
    schema["dependentRequired"] = {"referrer": ["referred_at"]}
    path.write_text(json.dumps(schema))
    return root


def lint_verdict(project: Path, payload: dict) -> bool:
    (project / FOLDER / "v1.examples.json").write_text(json.dumps([payload]))
    try:
        load(project)
    except CatalogError as error:
        assert all("v1.examples.json" in str(problem.file) for problem in error.problems), error
        return False
    return True


def schedule_verdict(project: Path, payload: dict) -> bool:
    """A schedule that puts user.registered on the users bus with ``payload`` (checked when the catalog loads)."""
    (project / FOLDER / "v1.examples.json").write_text(json.dumps([BASE]))
    users = project / "catalog/users.yaml"
    original = users.read_text()
    schedule = (
        "\nschedules:\n  replay:\n    description: A test schedule.\n    expression: rate(1 hour)\n"
        f"    event: user.registered\n    payload: {json.dumps(payload)}\n"
    )
    users.write_text(original + schedule)
    try:
        load(project)
    except CatalogError as error:
        assert all(problem.location == "schedules.replay.payload" for problem in error.problems), error
        return False
    finally:
        users.write_text(original)
    return True


def enrichment_verdict(project: Path, payload: dict) -> bool:
    enricher = Enricher("users/marketing-signups", project / "catalog")
    enricher.on(EVENT)(lambda event: {})
    envelope = {"specversion": "1.0", "id": "e", "source": "com.example.users", "type": "user.registered"}
    try:
        enricher.enrich({"body": json.dumps({**envelope, "dataversion": 1, "data": payload})})
    except EventValidationError:
        return False
    return True


def publisher_verdict(project: Path, payload: dict) -> bool:
    (project / FOLDER / "v1.examples.json").write_text(json.dumps([BASE]))
    catalog, _ = load(project)
    try:
        Publisher(catalog, "dev").envelope(EVENT, payload)
    except PublishError:
        return False
    return True


def runtime_verdict(project: Path, payload: dict) -> bool:
    app = EventHandler("notifications/send-email", project / "catalog", idempotency_table="")
    app.on(EVENT)(lambda event: None)
    envelope = {"specversion": "1.0", "id": "e", "source": "com.example.users", "type": "user.registered"}
    try:
        app.handle(CloudEvent.from_dict({**envelope, "dataversion": 1, "data": payload}))
    except EventValidationError:
        return False
    return True


def reference_verdict(project: Path, payload: dict) -> bool:
    """jsonschema's Draft 2020-12 validator with eventform's format checks: the dialect's reference semantics."""
    schema = json.loads((project / FOLDER / "v1.schema.json").read_text())
    checker = jsonschema.FormatChecker(formats=())
    for name, check in validation.FORMATS.items():
        checker.checks(name)(check)
    return jsonschema.Draft202012Validator(schema, format_checker=checker).is_valid(payload)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lint_publisher_and_runtime_agree_with_2020_12(project: Path, case: str) -> None:
    payload, expected = CASES[case]
    verdicts = {
        "reference": reference_verdict(project, payload),
        "lint": lint_verdict(project, payload),
        "publisher": publisher_verdict(project, payload),
        "runtime": runtime_verdict(project, payload),
        "schedule": schedule_verdict(project, payload),
        "enrichment": enrichment_verdict(project, payload),
    }
    assert verdicts == dict.fromkeys(verdicts, expected)


def test_errors_name_the_path_never_the_value() -> None:
    schema = {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}}
    with pytest.raises(validation.SchemaValidationError) as caught:
        validation.compile_schema(schema)({"email": "secret-person"})
    assert caught.value.path == "email" and "secret-person" not in str(caught.value)


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"type": "object", "unevaluatedProperties": False}, "unevaluatedProperties"),
        ({"type": "array", "contains": {"type": "string"}, "minContains": 2}, "minContains"),
        ({"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}}, "$ref"),
        ({"type": "object", "properties": {"a": {"type": "string", "format": "iri"}}}, "format"),
    ],
)
def test_keywords_the_runtime_cannot_enforce_are_named(schema: dict, keyword: str) -> None:
    (problem,) = validation.schema_problems(schema)
    assert keyword in problem


def test_prefix_items_and_ref_siblings_keep_their_2020_12_meaning() -> None:
    schema = {
        "$defs": {"code": {"type": "string"}},
        "type": "object",
        "properties": {
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
            "code": {"$ref": "#/$defs/code", "minLength": 3},
        },
    }
    check = validation.compile_schema(schema)
    check({"pair": ["a", 1], "code": "abc"})
    for bad in ({"pair": ["a", 1, 2]}, {"pair": [1, "a"]}, {"code": "ab"}):
        assert not jsonschema.Draft202012Validator(schema).is_valid(bad)
        with pytest.raises(validation.SchemaValidationError):
            check(bad)
