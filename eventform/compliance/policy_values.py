"""Read resource arguments the same way whichever parser produced them.

checkov's ``terraform_json`` parser wraps scalars in one-element lists (``{"name": ["q"]}``) and blocks in lists of
dicts; the synthesized JSON that eventform-side checks read has the plain values. Checks in ``policies/`` use these
helpers so the same rule holds for both, and for fixtures written either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

REFERENCE_PREFIX = "${"


def value(conf: dict[str, Any], key: str, default: Any = None) -> Any:
    """The argument ``key``: a one-element list (checkov's shape) is unwrapped."""
    found = conf.get(key, default)
    if isinstance(found, list) and len(found) == 1:
        return found[0]
    return found


def block(conf: dict[str, Any], key: str) -> dict[str, Any] | None:
    """A nested block (``retry_policy``, ``dead_letter_config``...), or None when absent or empty."""
    found = value(conf, key)
    if isinstance(found, list):
        found = found[0] if found else None
    return found if isinstance(found, dict) and found else None


def as_list(found: Any) -> list[Any]:
    if found is None:
        return []
    return list(found) if isinstance(found, list | tuple) else [found]


def document(conf: dict[str, Any], key: str = "policy") -> dict[str, Any] | None:
    """A JSON policy document argument, parsed; None when it is absent or not literal JSON (a reference)."""
    raw = value(conf, key)
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or raw.startswith(REFERENCE_PREFIX):
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def statements(policy: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    if not policy:
        return
    for statement in as_list(policy.get("Statement")):
        if isinstance(statement, dict):
            yield statement


def principals(statement: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(AWS principals, service principals) of a statement; ``"*"`` is an AWS principal."""
    principal = statement.get("Principal")
    if principal is None:
        return [], []
    if isinstance(principal, str):
        return [principal], []
    return [str(p) for p in as_list(principal.get("AWS"))], [str(p) for p in as_list(principal.get("Service"))]


def condition_keys(statement: dict[str, Any]) -> set[str]:
    """Condition keys of a statement, lower-cased (IAM condition keys are case-insensitive)."""
    keys: set[str] = set()
    for operator_body in (statement.get("Condition") or {}).values():
        if isinstance(operator_body, dict):
            keys.update(key.lower() for key in operator_body)
    return keys


def tags(conf: dict[str, Any]) -> dict[str, Any]:
    found = conf.get("tags")
    if isinstance(found, list):
        found = found[0] if found else {}
    return found if isinstance(found, dict) else {}


def is_reference(text: Any) -> bool:
    return isinstance(text, str) and text.startswith(REFERENCE_PREFIX)


__all__ = [
    "as_list",
    "block",
    "condition_keys",
    "document",
    "is_reference",
    "principals",
    "statements",
    "tags",
    "value",
]
