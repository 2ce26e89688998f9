"""EventBridge event patterns and input transformers: load-time checks, the envelope, matching and rendering.

How a catalog event looks on a bus is what :meth:`eventform.runtime.publisher.Publisher.put_events` sends: ``source`` =
the domain's CloudEvents source, ``detail-type`` = the event name, ``detail`` = the whole CloudEvents envelope, so
the payload is ``detail.data`` and the envelope's own fields (``dataversion``, ``correlationid``...) sit beside it.
A consumer's ``pattern`` adds conditions to the ``source``/``detail-type`` filter eventform generates, exactly as
``filter`` does for SNS.

Matching and refusals follow aws/event-ruler, the engine EventBridge runs (:mod:`eventform.catalog.rule_matching`);
rendering follows the input transformation guide (:mod:`eventform.catalog.transformers`). ``tests/conformance`` holds
the cases that pin both to AWS.
"""

from __future__ import annotations

import json
import re
from typing import Any

from eventform.catalog import rule_matching, transformers
from eventform.catalog.operators import Problem
from eventform.runtime import envelope as cloudevents

# Every operator EventBridge accepts inside a pattern's value list.
OPERATORS = frozenset(rule_matching.EVENTBRIDGE.operators)
# Top-level envelope fields a pattern may test; source and detail-type are generated from `events:`.
ENVELOPE_FIELDS = frozenset({"version", "id", "account", "time", "region", "resources", "detail"})
GENERATED_FIELDS = frozenset({"source", "detail-type"})
MAX_PATTERN_LENGTH = 4096  # PutRule: EventPattern is at most 4096 characters
# Placeholders EventBridge predefines in input templates.
PREDEFINED_PLACEHOLDERS = frozenset(transformers.PREDEFINED)
# Fields of the CloudEvents envelope that travels as ``detail`` (see eventform.runtime.publisher); ``data`` is the
# payload.
CLOUDEVENT_FIELDS = frozenset(
    {
        "specversion",
        "id",
        "source",
        "type",
        "dataversion",
        "time",
        "dataschema",
        "correlationid",
        "traceparent",
        "datacontenttype",
        "data",
    }
)
PAYLOAD = "data"
JSON_PATH = re.compile(r"^\$(\.[A-Za-z0-9_-]+|\[[0-9]+\])*$")


# --------------------------------------------------------------------------------------------------------------
# Syntax: what EventBridge refuses (rule_matching) plus eventform's own rules on top
# --------------------------------------------------------------------------------------------------------------
def syntax_problems(pattern: Any, path: str = "pattern", top: bool = True) -> list[Problem]:
    """(location, message, fix) for each reason the pattern cannot be used; [] if it can.

    Every refusal of EventBridge (aws/event-ruler's compiler, see :mod:`eventform.catalog.rule_matching`), the
    4096-character limit of PutRule and, for a consumer's pattern (``top``), eventform's envelope rules: source and
    detail-type are generated from ``events:``, and only fields of the EventBridge envelope may appear at the top.
    """
    problems = _envelope_problems(pattern, path) if top else []
    problems.extend(rule_matching.syntax_problems(pattern, path))
    if not problems and len(json.dumps(pattern)) > MAX_PATTERN_LENGTH:
        problems.append((path, f"the pattern is longer than the {MAX_PATTERN_LENGTH} characters EventBridge accepts",
                         "shorten it or split the consumer"))  # fmt: skip
    return problems


def _envelope_problems(pattern: Any, path: str) -> list[Problem]:
    if not isinstance(pattern, dict):
        return []
    problems: list[Problem] = []
    for key, value in pattern.items():
        where = f"{path}.{key}"
        if key in GENERATED_FIELDS:
            problems.append(
                (where, f"eventform already matches {key} from the consumed events", f"remove `{key}`; list events")
            )
        elif key == "$or" and isinstance(value, list):
            for index, alternative in enumerate(value):
                problems.extend(_envelope_problems(alternative, f"{where}[{index}]"))
        elif key != "$or" and key not in ENVELOPE_FIELDS:
            problems.append(
                (
                    where,
                    f"{key!r} is not a field of the EventBridge envelope",
                    f"patterns start at the envelope: use detail (the payload) or {', '.join(sorted(ENVELOPE_FIELDS))}",
                )
            )
    return problems


# --------------------------------------------------------------------------------------------------------------
# Fields a pattern tests, checked against the event's JSON Schema
# --------------------------------------------------------------------------------------------------------------
def detail_paths(pattern: dict[str, Any]) -> list[tuple[str, Any]]:
    """Dotted payload paths (below ``detail``) the pattern tests, with their value lists."""
    found: list[tuple[str, Any]] = []

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if key == "$or":
                for alternative in value:
                    walk(alternative, prefix)
            elif isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                found.append((f"{prefix}{key}", value))

    for key, value in pattern.items():
        if key == "detail" and isinstance(value, dict):
            walk(value, "")
        elif key == "$or":
            for alternative in value:
                found.extend(detail_paths(alternative))
    return found


def schema_node(schema: dict[str, Any], steps: list[str | int]) -> dict[str, Any] | None:
    """The sub-schema at ``steps`` (property names and array indexes), or None if no field can be there."""
    node: Any = schema
    for step in steps:
        if not isinstance(node, dict):
            return None
        if isinstance(step, int):
            node = node.get("items")
            continue
        properties = node.get("properties", {})
        if step in properties:
            node = properties[step]
        elif isinstance(node.get("items"), dict) and step in node["items"].get("properties", {}):
            node = node["items"]["properties"][step]  # patterns look through arrays of objects
        else:
            return None
    return node if isinstance(node, dict) else None


def detail_field_problem(steps: list[str | int], schema: dict[str, Any]) -> str | None:
    """None if ``detail.<steps>`` can hold a value: an envelope field, or a payload field the schema declares."""
    if not steps:
        return None
    head, rest = steps[0], steps[1:]
    if head == PAYLOAD:
        return None if schema_node(schema, rest) is not None else "no field of the event's schema is there"
    if head in CLOUDEVENT_FIELDS:
        return None if not rest else f"{head} is a string and has no fields"
    return f"{head!r} is not a field of the CloudEvents envelope; payload fields are under detail.data"


def parse_json_path(path: str) -> list[str | int] | None:
    """``$.detail.items[0].sku`` -> ['detail', 'items', 0, 'sku']; None if not a simple JSONPath."""
    if not JSON_PATH.match(path):
        return None
    return [int(step[1:-1]) if step.startswith("[") else step[1:] for step in re.findall(r"\.[^.\[]+|\[[0-9]+\]", path)]


def envelope_path_problem(path: str, schema: dict[str, Any]) -> str | None:
    """None if some event with this schema can have a value at ``path`` (a JSONPath on the envelope)."""
    steps = parse_json_path(path)
    if steps is None:
        return f"{path!r} is not a JSONPath like $.detail.field or $.detail.items[0].sku"
    if not steps:
        return None  # "$": the whole event
    head, rest = steps[0], steps[1:]
    if head in ("version", "id", "detail-type", "source", "account", "time", "region"):
        return None if not rest else f"{path!r}: {head} is a string and has no fields"
    if head == "resources":
        return None if len(rest) <= 1 and all(isinstance(s, int) for s in rest) else f"{path!r}: not in resources"
    if head != "detail":
        return f"{path!r} is not a field of the EventBridge envelope"
    problem = detail_field_problem(rest, schema)
    return None if problem is None else f"{path!r}: {problem}"


def placeholders(template: str) -> set[str]:
    return transformers.placeholders(template)  # one reading of <name> for checks, rendering and lint


# --------------------------------------------------------------------------------------------------------------
# The envelope, matching and rendering
# --------------------------------------------------------------------------------------------------------------
def envelope(
    source: str,
    detail_type: str,
    payload: dict[str, Any],
    *,
    version: int = 1,
    account: str = "111111111111",
    region: str = "eu-west-1",
) -> dict[str, Any]:
    """A catalog example as EventBridge delivers it after ``Publisher.put_events`` (fixed ids and times, so that
    what lint prints is deterministic)."""
    event_id = "00000000-0000-0000-0000-000000000000"
    time = "2025-01-01T00:00:00Z"
    return {
        "version": "0",
        "id": "11111111-1111-1111-1111-111111111111",
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time,
        "region": region,
        "resources": [],
        "detail": cloudevents.build(
            source=source, event_type=detail_type, version=version, data=payload, event_id=event_id, time=time
        ),
    }


def rule_pattern(source: str, detail_types: list[str], extra: dict[str, Any] | None) -> dict[str, Any]:
    """The pattern of one rule: the consumed events of one domain plus the consumer's own conditions."""
    pattern: dict[str, Any] = {"source": [source], "detail-type": sorted(detail_types)}
    if extra:
        pattern.update(extra)
    return pattern


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Does EventBridge deliver ``event`` to a rule with ``pattern``? (aws/event-ruler's semantics, see
    :mod:`eventform.catalog.rule_matching`; raises :class:`operators.PatternError` for a pattern AWS refuses)"""
    return rule_matching.matches(pattern, event)


def render_input(
    event: dict[str, Any],
    input_path: str | None,
    paths: dict[str, str] | None,
    template: str | None,
    *,
    rule_name: str = "<rule>",
    rule_arn: str = "<rule-arn>",
) -> str:
    """What the target receives, as EventBridge renders it: the whole event, the value at ``input_path``, or the
    input transformer's template (:func:`eventform.catalog.transformers.render`)."""
    if input_path:
        return transformers.json_text(transformers.lookup(event, input_path)[1])
    if template is None:
        return transformers.json_text(event)
    return transformers.render(paths or {}, template, event, rule_name=rule_name, rule_arn=rule_arn)


__all__ = [
    "CLOUDEVENT_FIELDS",
    "OPERATORS",
    "detail_field_problem",
    "detail_paths",
    "envelope",
    "envelope_path_problem",
    "matches",
    "placeholders",
    "render_input",
    "rule_pattern",
    "schema_node",
    "syntax_problems",
]
