"""EventBridge event patterns and input transformers: load-time checks, the envelope, matching and rendering.

How a catalog event looks on a bus is what :meth:`eventform.runtime.publisher.Publisher.put_events` sends: ``source`` =
the domain's CloudEvents source, ``detail-type`` = the event name, ``detail`` = the whole CloudEvents envelope, so
the payload is ``detail.data`` and the envelope's own fields (``dataversion``, ``correlationid``...) sit beside it.
A consumer's ``pattern`` adds conditions to the ``source``/``detail-type`` filter eventform generates, exactly as
``filter`` does for SNS.

Matching uses moto's implementation of EventBridge patterns (``moto.events.models.EventPattern``), a maintained
fake that AWS's own test suites rely on; ``tests/eventform/test_patterns.py`` pins its behaviour on every operator.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

# Every operator EventBridge accepts inside a pattern's value list.
OPERATORS = frozenset(
    {"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "wildcard", "cidr"}
)
NUMERIC_COMPARATORS = frozenset({"=", "<", "<=", ">", ">="})
# Top-level envelope fields a pattern may test; source and detail-type are generated from `events:`.
ENVELOPE_FIELDS = frozenset({"version", "id", "account", "time", "region", "resources", "detail"})
GENERATED_FIELDS = frozenset({"source", "detail-type"})
MAX_PATTERN_LENGTH = 4096  # PutRule: EventPattern is at most 4096 characters
# Placeholders EventBridge predefines in input templates.
PREDEFINED_PLACEHOLDERS = frozenset(
    {
        "aws.events.rule-arn",
        "aws.events.rule-name",
        "aws.events.event",
        "aws.events.event.json",
        "aws.events.event.ingestion-time",
    }
)
# Fields of the CloudEvents envelope that travels as ``detail`` (see eventform.runtime.publisher); ``data`` is the payload.
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
PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")
JSON_PATH = re.compile(r"^\$(\.[A-Za-z0-9_-]+|\[[0-9]+\])*$")

Problem = tuple[str, str, str]  # (location, message, fix)


# --------------------------------------------------------------------------------------------------------------
# Syntax
# --------------------------------------------------------------------------------------------------------------
def syntax_problems(pattern: Any, path: str = "pattern", top: bool = True) -> list[Problem]:
    """Return (location, message, fix) for each syntax error of an EventBridge pattern; [] if well formed."""
    if not isinstance(pattern, dict) or not pattern:
        return [(path, "a pattern is a non-empty mapping", "write `field: [value, ...]` pairs")]
    problems: list[Problem] = []
    for key, value in pattern.items():
        where = f"{path}.{key}"
        if top and key in GENERATED_FIELDS:
            problems.append(
                (where, f"eventform already matches {key} from the consumed events", f"remove `{key}`; list events")
            )
        elif top and key != "$or" and key not in ENVELOPE_FIELDS:
            problems.append(
                (
                    where,
                    f"{key!r} is not a field of the EventBridge envelope",
                    f"patterns start at the envelope: use detail (the payload) or {', '.join(sorted(ENVELOPE_FIELDS))}",
                )
            )
        elif key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                problems.append((where, "$or takes a list of at least two patterns", "list the alternatives"))
            else:
                for index, alternative in enumerate(value):
                    problems.extend(syntax_problems(alternative, f"{where}[{index}]", top))
        elif isinstance(value, dict):
            problems.extend(syntax_problems(value, where, top=False))
        elif isinstance(value, list):
            if not value:
                problems.append((where, "an empty value list matches nothing", "list at least one value"))
            for index, item in enumerate(value):
                problems.extend(_value_problems(item, f"{where}[{index}]"))
        else:
            problems.append((where, f"values must be a list, got {value!r}", f"write `{key}: [{value!r}]`"))
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value_problems(item: Any, where: str) -> list[Problem]:
    if item is None or isinstance(item, str | int | float | bool):
        return []
    if not isinstance(item, dict) or len(item) != 1:
        return [(where, f"unsupported value {item!r}", "use a string, a number, null or one operator object")]
    ((operator, argument),) = item.items()
    if operator not in OPERATORS:
        return [(where, f"unknown pattern operator {operator!r}", f"use one of: {', '.join(sorted(OPERATORS))}")]
    return _operator_problems(operator, argument, where)


def _operator_problems(operator: str, argument: Any, where: str) -> list[Problem]:
    bad = [(where, f"bad {operator} argument {argument!r}", _OPERATOR_FIX[operator])]
    if operator in ("prefix", "suffix"):
        if isinstance(argument, dict):
            ok = list(argument) == ["equals-ignore-case"] and isinstance(argument["equals-ignore-case"], str)
            return [] if ok else bad
        return [] if isinstance(argument, str) and argument else bad
    if operator == "equals-ignore-case":
        return [] if isinstance(argument, str) else bad
    if operator == "exists":
        return [] if isinstance(argument, bool) else bad
    if operator == "wildcard":
        ok = isinstance(argument, str) and "**" not in argument
        return [] if ok else [(where, f"bad wildcard {argument!r}", _OPERATOR_FIX["wildcard"])]
    if operator == "cidr":
        try:
            ipaddress.ip_network(argument)
        except (TypeError, ValueError):
            return bad
        return []
    if operator == "numeric":
        if not isinstance(argument, list) or len(argument) not in (2, 4):
            return bad
        comparators, numbers = argument[0::2], argument[1::2]
        if any(c not in NUMERIC_COMPARATORS for c in comparators) or not all(map(_is_number, numbers)):
            return bad
        if len(argument) == 4 and (
            comparators[0] not in (">", ">=") or comparators[1] not in ("<", "<=") or numbers[0] >= numbers[1]
        ):
            return [(where, f"numeric range {argument!r} is empty or reversed", 'write numeric: [">", 0, "<=", 100]')]
        return []
    # anything-but: a scalar, a list of scalars of one type, or one of prefix/suffix/equals-ignore-case/wildcard
    if isinstance(argument, str) or _is_number(argument):
        return []
    if isinstance(argument, list):
        kinds = {str if isinstance(a, str) else float if _is_number(a) else None for a in argument}
        return [] if argument and None not in kinds and len(kinds) == 1 else bad
    if isinstance(argument, dict) and len(argument) == 1:
        ((inner, value),) = argument.items()
        if inner in ("prefix", "suffix") and isinstance(value, str):
            return []
        if inner in ("equals-ignore-case", "wildcard") and (
            isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value))
        ):
            return []
    return bad


_OPERATOR_FIX = {
    "prefix": "write prefix: <string> or prefix: {equals-ignore-case: <string>}",
    "suffix": "write suffix: <string> or suffix: {equals-ignore-case: <string>}",
    "equals-ignore-case": "write equals-ignore-case: <string>",
    "exists": "write exists: true or exists: false",
    "wildcard": "write wildcard: <string with *>, never two * in a row",
    "cidr": "write cidr: 10.0.0.0/24 (an IPv4 or IPv6 network)",
    "numeric": 'write numeric: [">=", 10] or numeric: [">", 0, "<=", 100]',
    "anything-but": "write anything-but: [values of one type] or anything-but: {prefix|suffix|equals-ignore-case|"
    "wildcard: ...}",
}


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
    return set(PLACEHOLDER.findall(template))


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
        "detail": {
            "specversion": "1.0",
            "id": event_id,
            "source": source,
            "type": detail_type,
            "dataversion": version,
            "time": time,
            "correlationid": event_id,
            "datacontenttype": "application/json",
            PAYLOAD: payload,
        },
    }


def rule_pattern(source: str, detail_types: list[str], extra: dict[str, Any] | None) -> dict[str, Any]:
    """The pattern of one rule: the consumed events of one domain plus the consumer's own conditions."""
    pattern: dict[str, Any] = {"source": [source], "detail-type": sorted(detail_types)}
    if extra:
        pattern.update(extra)
    return pattern


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Does EventBridge deliver ``event`` to a rule with ``pattern``? (moto's matcher, on the event with arrays of
    objects flattened the way EventBridge reads them: moto alone does not look inside them)"""
    from moto.events.models import EventPattern

    return EventPattern.load(json.dumps(pattern)).matches_event(flatten_arrays(event))


def flatten_arrays(node: Any) -> Any:
    """EventBridge matches a field inside an array of objects against the values of that field in every element
    (``items.sku`` of ``[{sku: A}, {sku: B}]`` is ``[A, B]``), without keeping elements together."""
    if isinstance(node, dict):
        return {key: flatten_arrays(value) for key, value in node.items()}
    if isinstance(node, list) and any(isinstance(item, dict) for item in node):
        merged: dict[str, list[Any]] = {}
        for item in node:
            if not isinstance(item, dict):
                continue
            for key, value in flatten_arrays(item).items():
                merged.setdefault(key, []).extend(value if isinstance(value, list) else [value])
        return {
            key: values if not all(isinstance(v, dict) for v in values) else flatten_arrays(values)
            for key, values in merged.items()
        }
    return node


def _lookup(event: Any, path: str) -> Any:
    node = event
    for step in parse_json_path(path) or []:
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            node = node.get(step) if isinstance(node, dict) else None
    return node


def render_input(
    event: dict[str, Any], input_path: str | None, paths: dict[str, str] | None, template: str | None
) -> str:
    """What the target receives: the event, the value at ``input_path``, or the transformed template.

    Transformer rules as EventBridge applies them: a string value replaces its placeholder as is (the template
    supplies the quotes), other values as JSON; a missing value becomes ``null`` outside quotes and empty inside.
    """
    if input_path:
        return json.dumps(_lookup(event, input_path), sort_keys=True)
    if template is None:
        return json.dumps(event, sort_keys=True)
    values = {name: _lookup(event, path) for name, path in (paths or {}).items()}
    values["aws.events.event"] = event
    values["aws.events.event.json"] = event
    values["aws.events.rule-name"] = "<rule>"
    values["aws.events.rule-arn"] = "<rule-arn>"
    values["aws.events.event.ingestion-time"] = event.get("time")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        if isinstance(value, str):
            return value
        return "" if value is None and _inside_quotes(template, match.start()) else json.dumps(value, sort_keys=True)

    return PLACEHOLDER.sub(replace, template)


def _inside_quotes(text: str, position: int) -> bool:
    return text[:position].count('"') % 2 == 1


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
