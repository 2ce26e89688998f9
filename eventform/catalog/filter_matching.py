"""Amazon SNS subscription filter policies as SNS applies them (the SNS developer guide), stdlib only.

SNS filtering shares EventBridge's grammar and matching (aws/event-ruler), so :data:`SNS` is this language's table
for the shared validator (:mod:`eventform.catalog.operators`) and matching reuses
:mod:`eventform.catalog.rule_matching`. SNS adds its own limits (5 keys, 150 combinations, numbers within +/-1e9 with
5 decimals, 256 KB, no nesting under MessageAttributes) and its attribute typing: a String attribute never equals a
numeric policy value and vice versa, Binary attributes are invisible, String.Array attributes are lists.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from eventform.catalog import operators, rule_matching
from eventform.catalog.operators import Branch, Language, PatternError, Problem

SCOPES = ("MessageAttributes", "MessageBody")
MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_POLICY_BYTES = 256 * 1024
NUMERIC_LIMIT = Decimal(10) ** 9
NUMERIC_DECIMALS = 5


def number_limit(number: Any) -> tuple[str, str] | None:
    """SNS compares numbers within -1e9..1e9 with five digits of accuracy after the decimal point."""
    try:
        exact = Decimal(str(number))
    except InvalidOperation:
        return None
    if not exact.is_finite() or abs(exact) > NUMERIC_LIMIT:
        return (f"number {number} is outside -1,000,000,000..1,000,000,000", "SNS compares numbers in that range only")
    exponent = exact.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > NUMERIC_DECIMALS:
        return (f"number {number} has more than {NUMERIC_DECIMALS} decimal digits", "round it to 5 decimals")
    return None


SNS = Language(
    noun="filter policy",
    operators={
        "prefix": "write prefix: <string> or prefix: {equals-ignore-case: <string>}",
        "suffix": "write suffix: <string> or suffix: {equals-ignore-case: <string>}",
        "equals-ignore-case": "write equals-ignore-case: <string>",
        "exists": "write exists: true or exists: false",
        "cidr": "write cidr: 10.0.0.0/24 (an IPv4 or IPv6 network, prefix length below 32 / 128)",
        "numeric": 'write numeric: [">=", 10], numeric: ["=", 5] or numeric: [">", 0, "<=", 100] (within +/-1e9, '
        "5 decimals)",
        "anything-but": "write anything-but: <value>, anything-but: [values of one type] or anything-but: "
        "{prefix|suffix|equals-ignore-case: ...}",
    },
    anything_but=frozenset({"prefix", "suffix", "equals-ignore-case"}),
    wording={
        **operators.STRUCTURE,
        "unknown": ("unknown filter operator {op!r}", "use one of: {operators}"),
        "not_list": ("values must be a list, got {value!r}", "write `{key}: [{value!r}]` (SNS matches lists)"),
        "or_list": ("$or takes a list of at least two policies", "list the alternatives: $or: [{{...}}, {{...}}]"),
    },
    unsupported={"wildcard": "wildcard is an EventBridge operator; SNS filter policies do not support it"},
    number_limit=number_limit,
)


def compile_policy(policy: Any) -> list[Branch]:
    return operators.compile_pattern(policy, SNS, "filter")


def combinations(branches: list[Branch]) -> int:
    """Total combinations: the product of the value-list lengths of each $or branch, summed over the branches."""
    total = 0
    for branch in branches:
        product = 1
        for matchers in branch.values():
            product *= len(matchers)
        total += product
    return total


def syntax_problems(policy: Any, scope: str = "MessageAttributes", path: str = "filter") -> list[Problem]:
    """(location, message, fix) for every documented reason SNS refuses ``policy`` with FilterPolicyScope=``scope``."""
    if scope not in SCOPES:
        return [(path, f"unknown FilterPolicyScope {scope!r}", "use MessageAttributes or MessageBody")]
    problems = operators.syntax_problems(policy, SNS, path)
    size = len(json.dumps(policy, default=str).encode("utf-8"))
    if size > MAX_POLICY_BYTES:
        problems.append((path, f"the filter policy is {size} bytes, over 256 KB", "split the subscription"))
    if not isinstance(policy, dict) or problems:
        return problems
    if scope == "MessageAttributes":
        for key, value in policy.items():
            if key != operators.OR_KEY and isinstance(value, dict):
                problems.append(
                    (
                        f"{path}.{key}",
                        "message attributes are flat: a nested filter policy needs FilterPolicyScope MessageBody",
                        "flatten the key or filter on the message body",
                    )
                )
    branches = compile_policy(policy)
    keys = {name for branch in branches for name in branch}
    if len(keys) > MAX_KEYS:
        problems.append(
            (
                path,
                f"the filter policy has {len(keys)} keys ({', '.join(sorted(keys))}); SNS allows {MAX_KEYS}",
                "drop keys or split the consumer",
            )
        )
    total = combinations(branches)
    if total > MAX_COMBINATIONS:
        problems.append(
            (
                path,
                f"the filter policy has {total} value combinations; SNS allows {MAX_COMBINATIONS}",
                "list fewer values per key (the product over keys, summed over $or alternatives, counts)",
            )
        )
    return problems


def _attribute_value(attribute: Any) -> tuple[bool, Any]:
    """Typed value of one SNS message attribute; Binary (and malformed) attributes are invisible to filtering."""
    if not isinstance(attribute, dict):
        return False, None
    data_type = str(attribute.get("DataType", attribute.get("Type", "")))
    raw = attribute.get("StringValue", attribute.get("Value"))
    if data_type.startswith("String.Array"):
        try:
            parsed = json.loads(raw, parse_float=Decimal)  # type: ignore[arg-type]  # None: TypeError, caught
        except (TypeError, ValueError):
            return False, None
        return True, parsed if isinstance(parsed, list) else [parsed]
    base = data_type.split(".", 1)[0]
    if base == "String":
        return raw is not None, raw
    if base == "Number":
        try:
            return True, Decimal(str(raw))
        except InvalidOperation:
            return False, None
    return False, None


def attributes_as_event(attributes: dict[str, Any]) -> dict[str, Any]:
    """MessageAttributes ({"DataType", "StringValue"} or {"Type", "Value"}) as a flat document of typed values."""
    event: dict[str, Any] = {}
    for name, attribute in attributes.items():
        present, value = _attribute_value(attribute)
        if present:
            event[name] = value
    return event


def matches(policy: dict[str, Any], scope: str, attributes: dict[str, Any], body: Any) -> bool:
    """True if SNS delivers the message to a subscription with this filter policy and FilterPolicyScope."""
    branches = compile_policy(policy)
    if scope == "MessageAttributes":
        return rule_matching.matches_compiled(branches, attributes_as_event(attributes))
    if scope == "MessageBody":
        if isinstance(body, str):
            try:
                body = json.loads(body, parse_float=Decimal)
            except ValueError:
                return False
        return isinstance(body, dict) and rule_matching.matches_compiled(branches, body)
    raise ValueError(f"unknown FilterPolicyScope {scope!r}")


__all__ = ["SCOPES", "SNS", "PatternError", "attributes_as_event", "combinations", "matches", "syntax_problems"]
