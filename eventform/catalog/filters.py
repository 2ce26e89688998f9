"""SNS subscription filter policies: syntax checks at load time and the policy eventform generates.

A consumer's subscription to a topic always filters on the event types it consumes from that topic (so it never
receives, say, ``order.cancelled`` when it asked for ``order.created``); the catalog's ``filter`` adds conditions.
"""

from __future__ import annotations

from typing import Any

# Operators SNS accepts inside a filter policy value list.
OPERATORS = frozenset({"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "cidr"})
NUMERIC_COMPARATORS = frozenset({"=", "<", "<=", ">", ">="})
MAX_ATTRIBUTE_KEYS = 5  # SNS: at most 5 attribute names per filter policy


def syntax_problems(policy: Any, path: str = "filter") -> list[tuple[str, str, str]]:
    """Return (location, message, fix) for each syntax error; an empty list means the policy is well formed."""
    problems: list[tuple[str, str, str]] = []
    if not isinstance(policy, dict) or not policy:
        return [(path, "a filter policy is a non-empty mapping", "write `key: [value, ...]` pairs")]
    for key, value in policy.items():
        where = f"{path}.{key}"
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                problems.append((where, "$or takes a list of at least two policies", "list the alternatives"))
            else:
                for index, alternative in enumerate(value):
                    problems.extend(syntax_problems(alternative, f"{where}[{index}]"))
        elif isinstance(value, dict):
            problems.extend(syntax_problems(value, where))
        elif isinstance(value, list):
            if not value:
                problems.append((where, "an empty value list matches nothing", "list at least one value"))
            for index, item in enumerate(value):
                problems.extend(_value_problems(item, f"{where}[{index}]"))
        else:
            problems.append(
                (where, f"values must be a list, got {value!r}", f"write `{key}: [{value!r}]` (SNS matches lists)")
            )
    return problems


def _value_problems(item: Any, where: str) -> list[tuple[str, str, str]]:
    if item is None or isinstance(item, str | int | float | bool):
        return []
    if not isinstance(item, dict) or len(item) != 1:
        return [(where, f"unsupported value {item!r}", "use a string, a number or one operator object")]
    ((operator, argument),) = item.items()
    if operator not in OPERATORS:
        return [(where, f"unknown filter operator {operator!r}", f"use one of: {', '.join(sorted(OPERATORS))}")]
    if operator == "numeric":
        if not isinstance(argument, list) or len(argument) not in (2, 4):
            return [(where, "numeric takes [op, n] or [op, n, op, n]", 'write numeric: [">=", 10]')]
        comparators, numbers = argument[0::2], argument[1::2]
        bad = [c for c in comparators if c not in NUMERIC_COMPARATORS]
        if bad or not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
            return [(where, f"bad numeric condition {argument!r}", 'write numeric: [">", 0, "<=", 100]')]
    if operator == "exists" and not isinstance(argument, bool):
        return [(where, "exists takes true or false", "write exists: true")]
    return []


def attribute_keys(policy: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for key, value in policy.items():
        if key == "$or":
            for alternative in value:
                keys |= attribute_keys(alternative)
        else:
            keys.add(key)
    return keys


def subscription_policy(event_types: list[str], extra: dict[str, Any] | None) -> dict[str, Any]:
    """The filter policy of one subscription: the consumed types from that topic plus the catalog's filter."""
    policy: dict[str, Any] = {"type": sorted(event_types)}
    if extra:
        policy.update(extra)
    return policy
