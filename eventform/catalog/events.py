"""Events and their versions: past-tense names, JSON Schemas (2020-12) and the examples that must validate."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from eventform.catalog.model import (
    Catalog,
    Event,
    EventVersion,
    Topic,
)
from eventform.catalog.parsing import Collector, line_of, read_json
from eventform.catalog.schema_checks import PassedSchemas
from eventform.catalog.service_levels import build_volume
from eventform.catalog.tense import past_tense_problem
from eventform.runtime.publisher import MAX_MESSAGE_BYTES, Publisher, PublishError
from eventform.runtime.validation import SchemaValidationError, compile_schema, schema_problems

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# RFC 3986 absolute URI: a scheme, a colon, no whitespace (CloudEvents: dataschema is a URI)
ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")


# Top-level fields of the CloudEvents envelope a body-scope filter may test.
ENVELOPE_FIELDS = frozenset(
    {
        "id",
        "source",
        "type",
        "specversion",
        "time",
        "dataschema",
        "datacontenttype",
        "subject",
        "data",
        "correlationid",
        "traceparent",
        "dataversion",
    }
)


def build_event(
    path: Path,
    document: Any,
    domain: str,
    name: str,
    spec: dict[str, Any],
    topic: Topic | None,
    out: Collector,
    checks: PassedSchemas | None = None,
) -> Event | None:
    where = ["events", name]
    line = line_of(document, where)
    location = f"events.{name}"
    ok = True
    tense = None if spec.get("fact") else past_tense_problem(name)
    if tense:
        out.add(path, location, f"event name {name!r} is not a past-tense fact", tense, line)
        ok = False
    if topic is None and "topic" in spec.get("via", ["topic"]):
        out.add(
            path,
            location,
            f"event {name!r} travels on the domain's topic, but the domain declares none",
            "add `topic: {}` to the domain",
            line,
        )
        ok = False
    fifo = bool(topic and topic.fifo) and "topic" in spec.get("via", ["topic"])  # only what the topic carries
    if fifo and "message_group" not in spec:
        out.add(
            path,
            location,
            f"event {name!r} is published on a FIFO topic without a message group field",
            "add message_group: <field> naming the aggregate id (e.g. order_id); never one global group",
            line,
        )
        ok = False
    if not fifo and "message_group" in spec:
        out.add(
            path,
            f"{location}.message_group",
            "message_group only applies to FIFO topics",
            "remove message_group or set topic.fifo: true",
            line_of(document, [*where, "message_group"]),
        )
        ok = False
    versions = []
    for number in sorted(spec["versions"]):
        version = _load_version(path, document, domain, name, number, spec, out, checks)
        if version:
            versions.append(version)
        else:
            ok = False
    if not ok:
        return None
    return Event(
        domain=domain,
        name=name,
        description=spec["description"],
        versions=tuple(versions),
        via=tuple(spec.get("via", ["topic"])),
        attributes=tuple(spec.get("attributes", [])),
        pii=tuple(spec.get("pii", [])),
        message_group=spec.get("message_group"),
        volume=build_volume(spec.get("volume")),
    )


def _schema_has_path(schema: dict[str, Any], dotted: str) -> bool:
    node: Any = schema
    for part in dotted.split("."):
        properties = node.get("properties", {}) if isinstance(node, dict) else {}
        if part not in properties:
            return False
        node = properties[part]
    return True


def _load_version(
    path: Path,
    document: Any,
    domain: str,
    name: str,
    number: int,
    spec: dict[str, Any],
    out: Collector,
    checks: PassedSchemas | None = None,
) -> EventVersion | None:
    folder = path.parent / domain / name
    schema_path = folder / f"v{number}.schema.json"
    examples_path = folder / f"v{number}.examples.json"
    line = line_of(document, ["events", name, "versions"])
    location = f"events.{name}.versions"
    relative_schema = (
        schema_path.relative_to(path.parent.parent) if path.parent.parent in schema_path.parents else schema_path
    )
    if not schema_path.is_file():
        out.add(
            path,
            location,
            f"version {number} of {name!r} has no schema file {relative_schema}",
            f"create it (`eventform add event {domain} {name} --version {number}` scaffolds one)",
            line,
        )
        return None
    schema = read_json(schema_path, out)
    if schema is None:
        return None
    if not isinstance(schema, dict) or schema.get("$schema") != SCHEMA_DIALECT:
        out.add(
            schema_path,
            "$schema",
            "event schemas must declare JSON Schema 2020-12",
            f'set "$schema": "{SCHEMA_DIALECT}"',
        )
        return None
    try:
        if checks is None:
            Draft202012Validator.check_schema(schema)
        else:  # skipped for a schema that passed before (schema_checks.py), with the same verdict
            checks.check(schema)
    except jsonschema.SchemaError as error:
        out.add(
            schema_path,
            "/".join(map(str, error.absolute_path)) or "(root)",
            f"not a valid JSON Schema: {error.message}",
            "fix the schema keyword named here",
        )
        return None
    schema_id = schema.get("$id")
    if schema_id is not None and not (isinstance(schema_id, str) and ABSOLUTE_URI.match(schema_id)):
        out.add(
            schema_path,
            "$id",
            f"$id {schema_id!r} is not an absolute URI: it becomes the CloudEvents dataschema, which must be one",
            f'write "$id": "https://schemas.example.com/{domain}/{name}/v{number}.json" (any scheme:... URI), or '
            f"remove $id (eventform then uses urn:eventform:schema:{domain}:{name}:v{number})",
        )
        return None
    if schema.get("type") != "object":
        out.add(schema_path, "type", "an event payload schema must describe an object", 'set "type": "object"')
        return None
    unenforceable = schema_problems(schema)  # lint, publisher and consumers share one validator: refuse, never ignore
    for problem in unenforceable:
        where, _, rest = problem.partition(": ")
        message, _, fix = rest.partition("; ")
        out.add(schema_path, where, message, fix)
    if unenforceable:
        return None
    ok = True
    for field_list in ("attributes", "pii"):
        for dotted in spec.get(field_list, []):
            if not _schema_has_path(schema, dotted):
                out.add(
                    path,
                    f"events.{name}.{field_list}",
                    f"{dotted!r} is not a property of {schema_path.name}",
                    f"add {dotted!r} to the schema's properties or remove it from {field_list}",
                    line_of(document, ["events", name, field_list]),
                )
                ok = False
    group = spec.get("message_group")
    if group and (not _schema_has_path(schema, group) or group.split(".")[0] not in schema.get("required", [])):
        out.add(
            path,
            f"events.{name}.message_group",
            f"message group field {group!r} must be a required property of {schema_path.name}",
            f"add {group!r} to the schema's properties and required list",
            line_of(document, ["events", name, "message_group"]),
        )
        ok = False
    if not examples_path.is_file():
        out.add(
            path,
            location,
            f"version {number} of {name!r} has no examples file {examples_path.name}",
            f"create {examples_path} holding a JSON array with at least one example payload",
            line,
        )
        return None
    examples = read_json(examples_path, out)
    if examples is None:
        return None
    if not isinstance(examples, list) or not examples:
        out.add(
            examples_path,
            "(root)",
            "examples must be a non-empty JSON array of payloads",
            "wrap the example in [ ... ]",
        )
        return None
    validator = compile_schema(schema)  # the validator the publisher and every consumer use
    for index, example in enumerate(examples):
        try:
            validator(example)
        except SchemaValidationError as error:
            out.add(
                examples_path,
                f"[{index}].{error.path}",
                f"example {index} does not match {schema_path.name}: {error.path} {error.rule}",
                "fix the example or the schema so that they agree",
            )
            ok = False
    if not ok:
        return None
    return EventVersion(
        number=number, schema_path=schema_path, schema=schema, examples_path=examples_path, examples=tuple(examples)
    )


# --------------------------------------------------------------------------------------------------------------
# Examples within what AWS accepts
# --------------------------------------------------------------------------------------------------------------
LONGEST_TRACEPARENT = "00-" + "0" * 32 + "-" + "0" * 16 + "-01"


def check_example_sizes(catalog: Catalog, out: Collector) -> None:
    """Every example must be publishable: the publisher's own envelope, SNS message (attributes included) and
    PutEvents entry around it stay within the 256 KB (262,144 bytes) SNS and EventBridge accept, which the
    publisher enforces with the same constant. Measured with the publisher itself, so lint and publish agree."""
    longest_env = "x" * 10  # environment names have at most 10 characters; the bus name is <env>-<domain>
    publisher = Publisher(
        catalog,
        "lint",
        topic_arns={d.name: "" for d in catalog.domains},
        bus_names={d.name: f"{longest_env}-{d.name}" for d in catalog.domains},
    )
    for event in catalog.events:
        for version in event.versions:
            for index, example in enumerate(version.examples):
                try:
                    _, envelope = publisher.envelope(
                        event.qualified_name, example, version=version.number, traceparent=LONGEST_TRACEPARENT
                    )
                    if "topic" in event.via:
                        publisher.sns_message(event, envelope)
                    if "bus" in event.via:
                        publisher.bus_entry(event, envelope)
                except PublishError as error:
                    out.add(
                        version.examples_path,
                        f"[{index}]",
                        f"example {index} is too large to publish: {error} (SNS and EventBridge accept "
                        f"{MAX_MESSAGE_BYTES} bytes, 256 KB, per message, envelope included; the publisher refuses "
                        "more)",
                        "keep the payload well under 256 KB: store large content in S3 and publish a reference "
                        "(bucket key, version, size)",
                    )
