"""The one payload validator: lint, the publisher, schedules, the handler runtime and the local rehearsal all compile
an event version's schema here, so a payload valid for one is valid for all.

Why fastjsonschema under a 2020-12 front: it is in Powertools' public Lambda layer (jsonschema is not, and its
``rpds-py`` dependency is native code) and validates a catalog payload in ~6 µs against jsonschema's ~90 µs, which
the handler benchmark's 5,000 msg/s needs. It implements draft-07, so each schema is rewritten to the draft-07
form with the same meaning (``dependentRequired``/``dependentSchemas`` -> ``dependencies``, ``prefixItems`` ->
``items`` + ``additionalItems``, ``$ref`` with sibling keywords -> ``allOf``); keywords with no draft-07 equivalent,
references outside the document and formats eventform does not check are refused when the catalog loads
(:func:`schema_problems`), never ignored. Formats are asserted with eventform's own checks (:data:`FORMATS`), the
same for every caller. Errors name the payload path and the rule, never the value (payloads carry PII).
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import fastjsonschema

__all__ = ["FORMATS", "SchemaValidationError", "Validator", "compile_schema", "schema_problems"]


class SchemaValidationError(ValueError):
    """A payload does not match its schema. ``path``: dotted payload path (``(root)`` for the payload itself)."""

    def __init__(self, path: str, rule: str) -> None:
        self.path, self.rule = path, rule
        super().__init__(f"at {path}: {rule}")


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
# RFC 5321 Mailbox: a dot-atom local part (RFC 5322 atext) @ a domain of one or more labels or an address literal.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    rf"@(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])$"
)
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")  # RFC 3339


def _email(value: str) -> bool:
    return len(value) <= 254 and bool(_EMAIL.match(value))


def _date_time(value: str) -> bool:
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00").replace(":60", ":59"))
    except ValueError:
        return False
    return True


def _date(value: str) -> bool:
    try:
        return len(value) == 10 and date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _uuid(value: str) -> bool:
    try:
        return len(value) == 36 and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _ip(version: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            return ipaddress.ip_address(value).version == version
        except ValueError:
            return False

    return check


def _hostname(value: str) -> bool:
    return len(value) <= 253 and bool(_HOSTNAME.match(value))


def _uri(value: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$", value))


# Format name -> check of a string. Non-strings pass, as JSON Schema's format assertions require.
FORMATS: dict[str, Callable[[str], bool]] = {
    "date": _date,
    "date-time": _date_time,
    "email": _email,
    "hostname": _hostname,
    "ipv4": _ip(4),
    "ipv6": _ip(6),
    "uri": _uri,
    "uuid": _uuid,
}

# 2020-12 keywords without a draft-07 equivalent, with what to write instead.
_UNSUPPORTED = {
    "unevaluatedProperties": 'use "additionalProperties"',
    "unevaluatedItems": 'use "items"',
    "minContains": 'use "contains" alone',
    "maxContains": 'use "contains" alone',
    "$dynamicRef": 'use "$ref" to "#/$defs/..."',
    "$dynamicAnchor": 'use "$ref" to "#/$defs/..."',
    "$anchor": 'use "$ref" to "#/$defs/..."',
    "$recursiveRef": 'use "$ref" to "#/$defs/..."',
}
# Keywords whose value is a map of names to subschemas, and those holding a subschema or a list of them.
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_VALUES = ("items", "additionalProperties", "propertyNames", "contains", "not", "if", "then", "else")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")


def _walk(node: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every subschema with its location (``properties.customer.properties.email``)."""
    if not isinstance(node, dict):
        return []
    found = [(path, node)]
    for key in _SCHEMA_MAPS:
        for name, sub in (node.get(key) or {}).items():
            found += _walk(sub, f"{path}.{key}.{name}".lstrip("."))
    for key in _SCHEMA_VALUES:
        found += _walk(node.get(key), f"{path}.{key}".lstrip("."))
    for key in _SCHEMA_LISTS:
        for index, sub in enumerate(node.get(key) or []):
            found += _walk(sub, f"{path}.{key}[{index}]".lstrip("."))
    return found


def schema_problems(schema: dict[str, Any]) -> list[str]:
    """What the validator could not enforce as 2020-12 means it, as ``'<where>: <problem>; <fix>'``; [] if none."""
    problems = []
    for where, node in _walk(schema, ""):
        at = where or "(root)"
        for keyword, fix in _UNSUPPORTED.items():
            if keyword in node:
                problems.append(f"{at}: keyword {keyword!r} is not enforced by eventform's validator; {fix}")
        reference = node.get("$ref")
        if isinstance(reference, str) and not reference.startswith("#"):
            problems.append(f"{at}: $ref {reference!r} leaves the schema; put the definition under $defs")
        if "$id" in node and where:
            problems.append(f"{at}: a nested $id is not supported; move the definition under $defs")
        fmt = node.get("format")
        if isinstance(fmt, str) and fmt not in FORMATS:
            problems.append(f"{at}: format {fmt!r} is not checked by eventform; use one of {', '.join(FORMATS)}")
    return problems


def _draft7(node: Any) -> Any:
    """The draft-07 form of a 2020-12 (sub)schema, with the same meaning (see the module docstring)."""
    if isinstance(node, list):
        return [_draft7(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$schema", "$id"):
            continue
        if key in _SCHEMA_MAPS:
            out[key] = {name: _draft7(sub) for name, sub in value.items()}
        elif key in ("enum", "const", "required", "examples", "default", "dependentRequired"):
            out[key] = value
        else:
            out[key] = _draft7(value)
    dependencies = {**out.pop("dependentRequired", {}), **out.pop("dependentSchemas", {})}
    if dependencies:
        out["dependencies"] = dependencies
    if "prefixItems" in out:
        rest = out.pop("items", True)
        out["items"] = out.pop("prefixItems")
        out["additionalItems"] = rest
    if "$ref" in out and len(out) > 1:  # draft-07 ignores keywords beside $ref; 2020-12 applies them
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def _dotted(path: list[Any]) -> str:
    parts = [str(part) for part in path[1:]]  # path[0] is fastjsonschema's name for the root, "data"
    return ".".join(parts) or "(root)"


class Validator:
    """One compiled event-version schema: call it with a payload; raises :class:`SchemaValidationError`."""

    def __init__(self, schema: dict[str, Any]) -> None:
        problems = schema_problems(schema)
        if problems:
            raise ValueError(f"schema cannot be enforced: {problems[0]}")
        draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", **_draft7(schema)}
        self._check = fastjsonschema.compile(draft7, formats=FORMATS)

    def __call__(self, payload: Any) -> None:
        try:
            self._check(payload)
        except fastjsonschema.JsonSchemaValueException as error:
            rule = error.message.removeprefix(error.name or "").strip()  # "must be email": the rule, not the value
            raise SchemaValidationError(_dotted(list(error.path or ["data"])), rule) from None

    def is_valid(self, payload: Any) -> bool:
        try:
            self(payload)
        except SchemaValidationError:
            return False
        return True


_COMPILED: dict[str, Validator] = {}  # canonical schema text -> its validator, for this process's lifetime


def compile_schema(schema: dict[str, Any]) -> Validator:
    """Compile once per distinct schema in a process (a few ms: the catalog, its example checks, every publisher and
    the schedules share it), then validate in microseconds."""
    key = json.dumps(schema, sort_keys=True, default=str)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = Validator(schema)
    return compiled
