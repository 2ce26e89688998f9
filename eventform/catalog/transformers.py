"""EventBridge input transformers: the text a target receives, and the templates AWS refuses.

Follows the input transformation guide (eb-transform-target-input) and the API reference of ``InputTransformer``:
in a JSON template (one surrounded by braces) a value outside quotes is JSON-encoded and a value inside quotes is
inserted raw, unescaped; a string template inserts raw text. eventform must predict the exact text, including
templates that render invalid JSON, so that a broken transformer is a load error rather than failed invocations.
Inferred, not documented: a missing path renders ``null`` outside quotes and nothing inside; an undefined
placeholder stays literal text.
"""

from __future__ import annotations

import json
import re
from typing import Any

Problem = tuple[str, str, str]
MAX_INPUT_PATHS = 100
MAX_TEMPLATE = 8192
PREDEFINED = (
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event",
    "aws.events.event.json",
    "aws.events.event.ingestion-time",
)
# InputPathsMap keys (the API's InputTransformerPathKey shape): 1..256 letters, digits, '_' and '-'.
PATH_KEY = re.compile(r"[A-Za-z0-9_\-]{1,256}")
# A placeholder is <key> or a predefined <aws.events...> name; anything else in angle brackets (<a/b>, <a b>) can
# name no variable and stays literal text. One definition for the loader's checks, the renderer and lint.
PLACEHOLDER = re.compile(r"<([A-Za-z0-9_\-]{1,256}|aws\.events(?:\.[a-z\-]+)+)>")
# Documented JSONPath subset: dot notation, dashes, underscores, alphanumerics, array indices, wildcards, slashes.
_PATH = re.compile(r"\$(?:\.(?:[A-Za-z0-9_\-/*]+|\*)|\[(?:\d+|\*)\])*")


def placeholders(template: str) -> set[str]:
    """Names of the placeholders of ``template`` (``<name>``), as EventBridge reads them."""
    return set(PLACEHOLDER.findall(template))


def is_json_template(template: str) -> bool:
    """The API reference applies JSON rules only to templates that are a JSON object (surrounded by braces)."""
    stripped = template.strip()
    return stripped.startswith("{") and stripped.endswith("}")


def _placeholders(template: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, name, inside_quotes) for each <name>; quote state tracks JSON string literals."""
    found, inside, escaped = [], False, False
    spans = {m.start(): m for m in PLACEHOLDER.finditer(template)}
    i = 0
    while i < len(template):
        if i in spans:
            m = spans[i]
            found.append((m.start(), m.end(), m.group(1), inside))
            i = m.end()
            continue
        ch = template[i]
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            inside = not inside
        i += 1
    return found


def template_problems(input_paths: dict[str, str], template: str) -> list[Problem]:
    """Refusals documented for InputTransformer: path count, reserved names, path syntax, length, object keys."""
    problems: list[Problem] = []
    if len(input_paths) > MAX_INPUT_PATHS:
        problems.append(
            (
                "InputPathsMap",
                f"{len(input_paths)} input paths, the maximum is {MAX_INPUT_PATHS}",
                "drop variables or use <aws.events.event.json>",
            )
        )
    for name, path in input_paths.items():
        loc = f"InputPathsMap.{name}"
        if name in PREDEFINED:
            problems.append((loc, f"{name} is a reserved predefined variable", "rename the variable"))
        elif name.upper().startswith("AWS."):
            problems.append((loc, 'variable names cannot start with "AWS."', "rename the variable"))
        elif not PATH_KEY.fullmatch(name):
            problems.append(
                (
                    loc,
                    f"variable name {name!r} is not 1 to 256 letters, digits, '_' or '-'",
                    "rename the variable (it is written <name> in the template)",
                )
            )
        if not isinstance(path, str) or not _PATH.fullmatch(path):
            problems.append(
                (
                    loc,
                    f"unsupported JSON path {path!r}",
                    "use dot notation such as $.detail.state (bracket notation only for indices)",
                )
            )
    if not 1 <= len(template) <= MAX_TEMPLATE:
        problems.append(
            ("InputTemplate", f"template length {len(template)} outside 1..{MAX_TEMPLATE}", "shorten the template")
        )
    if is_json_template(template):
        for _, end, name, inside in _placeholders(template):
            if not inside and template[end:].lstrip().startswith(":"):
                problems.append(
                    (
                        "InputTemplate",
                        f"placeholder <{name}> used as an object key",
                        "placeholders may only be JSON values",
                    )
                )
    return problems


def lookup(event: Any, path: str) -> tuple[bool, Any]:
    """(found, value) at a JSONPath of the documented subset; a wildcard collects matches into a list."""
    if path == "$":
        return True, event
    nodes = [event]
    for dot, bracket in re.findall(r"\.([^.\[]+)|\[(\d+|\*)\]", path[1:]):
        step = dot or bracket
        nxt: list[Any] = []
        for node in nodes:
            if step == "*":
                nxt.extend(node.values() if isinstance(node, dict) else node if isinstance(node, list) else [])
            elif isinstance(node, dict) and step in node:
                nxt.append(node[step])
            elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
                nxt.append(node[int(step)])
        nodes = nxt
    if not nodes:
        return False, None
    return True, nodes if "*" in path else nodes[0]


def json_text(value: Any) -> str:
    """A value as EventBridge writes JSON: compact, keys in the event's order, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _text(value: Any, quoted: bool) -> str:
    """Inside quotes: strings verbatim (AWS does not escape them); outside: the JSON encoding of the value."""
    if quoted and isinstance(value, str):
        return value
    return json_text(value)


def render(
    input_paths: dict[str, str],
    template: str,
    event: dict[str, Any],
    *,
    rule_arn: str = "",
    rule_name: str = "",
    ingestion_time: str | None = None,
) -> str:
    """Render the text EventBridge sends to the target.

    JSON templates: a value outside quotes is JSON-encoded (strings gain quotes), inside quotes it is inserted raw.
    String templates: every value is inserted raw. A path missing from the event renders as null outside quotes and
    as an empty string inside quotes or in string templates.
    """
    values: dict[str, tuple[bool, Any]] = {name: lookup(event, path) for name, path in input_paths.items()}
    values["aws.events.rule-arn"] = (True, rule_arn)
    values["aws.events.rule-name"] = (True, rule_name)
    values["aws.events.event.ingestion-time"] = (True, ingestion_time or event.get("time", ""))
    values["aws.events.event"] = (True, {k: v for k, v in event.items() if k != "detail"})
    values["aws.events.event.json"] = (True, event)
    json_mode = is_json_template(template)
    out, pos = [], 0
    for start, end, name, inside in _placeholders(template):
        if name not in values:
            continue  # undefined placeholders are left as literal text
        out.append(template[pos:start])
        found, value = values[name]
        quoted = inside or not json_mode
        if not found:
            out.append("" if quoted else "null")
        elif not json_mode and isinstance(value, str):
            out.append(value)
        else:
            out.append(_text(value, quoted))
        pos = end
    out.append(template[pos:])
    return "".join(out)


def is_json(rendered: str) -> bool:
    """Whether a rendered input is valid JSON (targets such as Lambda and SQS expect it to be)."""
    try:
        json.loads(rendered)
    except ValueError:
        return False
    return True
