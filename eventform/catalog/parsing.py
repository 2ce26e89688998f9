"""The parsing base every catalog reader shares: YAML with line numbers, the problem collector, schema checks of
our own files, durations. It imports nothing of the readers, so any reader can use it."""

from __future__ import annotations

import datetime
import difflib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from eventform.catalog.errors import CatalogError, Problem

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


SECRET_LIKE = ("SECRET", "PASSWORD", "TOKEN", "PRIVATE_KEY", "API_KEY", "CREDENTIAL")
# Values that are credentials whatever the variable is called: AWS access keys, Stripe/GitHub/Slack tokens, JWTs,
# PEM keys, and long unbroken high-entropy strings (random API keys).
SECRET_VALUE = re.compile(
    r"^(A[KS]IA[0-9A-Z]{16}|(sk|rk|pk)_(live|test)_\w{10,}|gh[pousr]_\w{30,}|xox[abpr]-[\w-]{10,}"
    r"|eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]+)$|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)


def looks_secret(name: str, value: str) -> bool:
    """A catalog environment variable that must live in Secrets Manager: by its name, or by its value."""
    if any(marker in name.upper() for marker in SECRET_LIKE) or SECRET_VALUE.search(value):
        return True
    if len(value) < 32 or any(c.isspace() for c in value) or "/" in value or "@" in value or "." in value:
        return False  # paths, addresses, URLs and sentences are not keys
    counts = Counter(value)
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    classes = sum(any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit))
    return entropy > 4.0 and classes >= 2


# --------------------------------------------------------------------------------------------------------------
# YAML with positions
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class YamlDocument:
    """Plain data plus the 1-based line of every key and item: errors point at lines, models get plain dicts.

    Parsed with PyYAML's C loader (the catalog of a large organisation has thousands of entries; a round-trip
    parser is several times slower), duplicate keys are refused rather than silently overwritten.
    """

    data: Any
    lines: dict[tuple[Any, ...], int]


class DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line = key, line


def parse_yaml(text: str) -> YamlDocument:
    loader = yaml.CSafeLoader(text)
    try:
        root = loader.get_single_node()
        lines: dict[tuple[Any, ...], int] = {}

        def build(node: yaml.Node, path: tuple[Any, ...]) -> Any:
            if isinstance(node, yaml.MappingNode):
                result: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    key = loader.construct_object(key_node, deep=True)
                    if key in result:
                        raise DuplicateKey(key, key_node.start_mark.line + 1)
                    lines[(*path, key)] = key_node.start_mark.line + 1
                    result[key] = build(value_node, (*path, key))
                return result
            if isinstance(node, yaml.SequenceNode):
                items = []
                for index, item in enumerate(node.value):
                    lines[(*path, index)] = item.start_mark.line + 1
                    items.append(build(item, (*path, index)))
                return items
            value = loader.construct_object(node, deep=True)
            if isinstance(value, datetime.date):  # an unquoted 2027-01-31: JSON Schema validates text, not dates
                return value.isoformat()[:10]
            return value

        if root is None:
            return YamlDocument(None, {})
        lines[()] = root.start_mark.line + 1
        return YamlDocument(build(root, ()), lines)
    finally:
        loader.dispose()


def line_of(document: YamlDocument, path: Iterable[Any]) -> int | None:
    """1-based line of the node at ``path`` (keys and indexes), or of its nearest existing parent."""
    steps = tuple(path)
    for length in range(len(steps), -1, -1):
        line = document.lines.get(steps[:length])
        if line is not None:
            return line
    return None


def to_plain(document: YamlDocument) -> Any:
    return document.data


class Collector:
    """Gathers problems for one run; ``check()`` raises them all at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: Path, location: str, message: str, fix: str, line: int | None = None) -> None:
        self.problems.append(Problem(file=file, location=location, message=message, fix=fix, line=line))

    def check(self) -> None:
        if self.problems:
            raise CatalogError(self.problems)


class EntryReport:
    """Problems of one catalog entry (a pipe, a stream, a consumer's source): the location and the line come from
    the same key path, under ``where``; ``count`` tells the caller whether the entry is usable."""

    def __init__(self, path: Path, document: Any, out: Collector, where: list[Any]) -> None:
        self.path, self.document, self.out, self.where = path, document, out, where
        self.count = 0

    def add(self, keys: list[Any], message: str, fix: str) -> None:
        location = ".".join(str(k) for k in [*self.where, *keys])
        self.out.add(self.path, location, message, fix, line_of(self.document, [*self.where, *keys]))
        self.count += 1


def refuse_keys(
    out: Collector,
    path: Path,
    document: Any,
    where: list[str],
    spec: dict[str, Any],
    keys: tuple[str, ...],
    message: str,
    fix: str,
) -> bool:
    """Report each of ``keys`` present in ``spec`` (``message`` names it as ``{key}``); True when none was."""
    present = [key for key in keys if key in spec]
    for key in present:
        out.add(path, ".".join([*where, key]), message.format(key=key), fix, line_of(document, [*where, key]))
    return not present


def first_tab_indent(text: str) -> int | None:
    """1-based line of the first line indented with a tab (YAML forbids tabs in indentation), or None."""
    for number, line in enumerate(text.splitlines(), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            return number
    return None


def read_yaml(path: Path, out: Collector) -> YamlDocument | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        out.add(path, "", f"cannot read the file: {error.strerror}", "check the path and permissions")
        return None
    try:
        document = parse_yaml(text)
    except DuplicateKey as error:
        out.add(path, "", str(error), "each name may appear once; merge or rename the entries", error.line)
        return None
    except ValueError as error:  # a scalar YAML resolves but cannot build, e.g. the date 2027-02-30
        out.add(
            path,
            "",
            f"a value cannot be read: {error}",
            "quote dates ('2027-06-30') and check that the day exists",
        )
        return None
    except yaml.MarkedYAMLError as error:
        tab = first_tab_indent(text)
        if tab is not None:
            out.add(
                path,
                "",
                "not valid YAML: a tab character indents this line; YAML indents with spaces only",
                "replace the tabs at the start of the lines with spaces (2 per level), and set your editor to "
                "insert spaces in YAML files",
                tab,
            )
            return None
        mark = error.problem_mark or error.context_mark
        out.add(
            path,
            "",
            f"not valid YAML: {error.problem or error.context}",
            "fix the YAML syntax (indentation, quotes, colons)",
            mark.line + 1 if mark else None,
        )
        return None
    if not isinstance(document.data, dict):
        out.add(path, "", "the file must be a YAML mapping", "start from an existing file in the same folder")
        return None
    return document


def read_json(path: Path, out: Collector) -> Any | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        out.add(
            path,
            f"line {error.lineno} column {error.colno}",
            f"not valid JSON: {error.msg}",
            "fix the JSON syntax (trailing commas and single quotes are not JSON)",
            error.lineno,
        )
    except OSError as error:
        out.add(path, "", f"cannot read the file: {error.strerror}", "check the path and permissions")
    return None


# --------------------------------------------------------------------------------------------------------------
# JSON Schema validation of our own files
# --------------------------------------------------------------------------------------------------------------
@cache
def schema_text(name: str) -> str:
    return resources.files("eventform.catalog.schemas").joinpath(name).read_text(encoding="utf-8")


@cache
def validator(name: str) -> Draft202012Validator:
    registry: Registry = Registry()
    others = (
        "catalog.schema.json",
        "environment.schema.json",
        "streams.schema.json",
        "delivery_streams.schema.json",
        "workflows.schema.json",
        "ingestion.schema.json",
    )
    for other in others:
        contents = json.loads(schema_text(other))
        registry = registry.with_resource(contents["$id"], Resource.from_contents(contents))
        registry = registry.with_resource(other, Resource.from_contents(contents))
    return Draft202012Validator(json.loads(schema_text(name)), registry=registry)


def fix_for(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"remove the unknown key or use one of: {', '.join(allowed)}" if allowed else "remove the key"
    if error.validator == "required":
        return "add the missing key"
    if error.validator in ("enum", "const"):
        choices = error.validator_value if error.validator == "enum" else [error.validator_value]
        return f"use one of: {', '.join(map(str, choices))}"
    if error.validator == "pattern" and "propertyNames" in error.schema_path:
        return (
            "event names are dotted lower-case words (order.created); domain and consumer names use "
            "lower-case letters, digits and '-'"
        )
    if error.validator == "pattern":
        return f"the value must match {error.validator_value}"
    if error.validator == "propertyNames":
        return "names use lower-case letters, digits and '-' (domains, consumers) or dotted words (events)"
    if error.validator in ("minimum", "maximum"):
        return f"use a value within the allowed range ({error.validator}: {error.validator_value})"
    if error.validator == "type":
        return f"use a value of type {error.validator_value}"
    if error.validator in ("anyOf", "oneOf"):
        return "see the schema's description of this field (your editor shows it through the $schema comment)"
    return "see the field's description in the schema"


def _rule_of(error: jsonschema.ValidationError) -> dict[str, Any] | None:
    """The ``x-rule`` annotation (the rule in words) of the failing field, if the schema states one."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    return schema if "x-rule" in schema else None


def _chosen_alternative(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    for errors in branches.values():
        if not any(e.validator in ("const", "enum") and len(e.relative_path) == 1 for e in errors):
            return errors
    return [jsonschema.exceptions.best_match(error.context or ())]


def _schema_problem(error: jsonschema.ValidationError, document: Any) -> list[tuple[str, str, str, int | None]]:
    """(location, message, fix, line) for one validation error: the rule in words where the schema states it,
    unknown keys at their own line, names at the name's line."""
    location = ".".join(map(str, error.absolute_path))
    line = line_of(document, error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        found = []
        for key in sorted(set(error.instance) - set(allowed), key=str):
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            choices = f"use one of: {', '.join(allowed)}" if allowed else "remove it"
            found.append(
                (
                    ".".join([*map(str, error.absolute_path), str(key)]),
                    f"unknown key {key!r}",
                    f"{hint}{choices}" if allowed else "remove the key",
                    line_of(document, [*error.absolute_path, key]),
                )
            )
        return found
    if "propertyNames" in error.schema_path:  # the failing name: point at its own line
        location = ".".join([*map(str, error.absolute_path), str(error.instance)])
        line = line_of(document, [*error.absolute_path, error.instance])
    rule = _rule_of(error)
    if rule is None and error.validator in ("oneOf", "anyOf") and error.context:
        # no rule in words for the alternatives as a whole: report what is wrong in the alternative the value
        # chose (the one whose const/enum discriminator, e.g. backend type: s3, it matches)
        return [p for e in _chosen_alternative(error) for p in _schema_problem(e, document)]
    if rule is not None:
        message = f"{error.instance!r} is not {rule['x-rule']}"
        return [(location, message, rule.get("x-fix", f"write {rule['x-rule']}"), line)]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [(location, f"the required key {missing!r} is missing", f"add `{missing}:`", line)]
    return [(location, error.message, fix_for(error), line)]


def schema_problems(document: Any, schema_name: str, path: Path, out: Collector) -> bool:
    plain = to_plain(document)
    errors = sorted(validator(schema_name).iter_errors(plain), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        for location, message, fix, line in _schema_problem(error, document):
            out.add(path, location, message, fix, line)
    return not errors


def parse_duration(value: int | str) -> int:
    if isinstance(value, int):
        return value
    return int(value[:-1]) * DURATION_UNITS[value[-1]]
