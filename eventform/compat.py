"""Schema compatibility inside one event version: which edits break consumers or producers.

Events are immutable facts read by consumers the producer does not know: within a published version only additive
changes are allowed (a new optional field, a wider type or enum). Anything else needs version N+1. This module is
pure (no I/O) so that ``eventform diff`` and the catalog lint can share it: ``breaking_changes(old, new)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ChangeKind = Literal[
    "removed-field",
    "changed-type",
    "narrowed-enum",
    "added-enum",
    "changed-const",
    "added-required",
    "closed-object",
    "added-field",
    "widened-enum",
    "widened-type",
    "relaxed-required",
]
_MISSING = object()
BREAKING: frozenset[str] = frozenset(
    {"removed-field", "changed-type", "narrowed-enum", "added-enum", "changed-const", "added-required", "closed-object"}
)


@dataclass(frozen=True)
class Change:
    """One difference between two schemas of the same event version, at a dotted field path ('' = the payload)."""

    path: str
    kind: ChangeKind
    detail: str

    @property
    def breaking(self) -> bool:
        return self.kind in BREAKING

    def __str__(self) -> str:
        return f"{self.path or '(payload)'}: {self.detail}"


def _types(schema: dict[str, Any]) -> frozenset[str] | None:
    """Declared JSON types; None means any type. ``integer`` is a subset of ``number``."""
    declared = schema.get("type")
    if declared is None:
        return None
    return frozenset([declared] if isinstance(declared, str) else declared)


def _covers(wider: frozenset[str] | None, narrower: frozenset[str] | None) -> bool:
    if wider is None:
        return True
    if narrower is None:
        return False
    expanded = set(wider) | ({"integer"} if "number" in wider else set())
    return narrower <= expanded


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def compare(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[Change]:
    """Every change from ``old`` to ``new`` (breaking and additive), sorted by path for stable reports."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    changes: list[Change] = []
    old_types, new_types = _types(old), _types(new)
    if old_types != new_types:
        if _covers(new_types, old_types):
            changes.append(Change(path, "widened-type", f"type {_show(old_types)} -> {_show(new_types)}"))
        else:
            changes.append(Change(path, "changed-type", f"type {_show(old_types)} -> {_show(new_types)}"))
    changes.extend(_enum_changes(old, new, path))
    if "const" in new and old.get("const", _MISSING) != new["const"]:
        changes.append(Change(path, "changed-const", f"const {old.get('const', '(none)')!r} -> {new['const']!r}"))

    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name in sorted(set(old_props) - set(new_props)):
        changes.append(Change(_join(path, name), "removed-field", "field removed"))
    for name in sorted(set(new_props) - set(old_props)):
        changes.append(Change(_join(path, name), "added-field", "optional field added"))
    for name in sorted(set(old_props) & set(new_props)):
        changes.extend(compare(old_props[name], new_props[name], _join(path, name)))

    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name in sorted(new_required - old_required):
        changes.append(Change(_join(path, name), "added-required", "field became required"))
    for name in sorted(old_required - new_required):
        if name in new_props:
            changes.append(Change(_join(path, name), "relaxed-required", "field became optional"))
    if old.get("additionalProperties", True) is not False and new.get("additionalProperties", True) is False:
        changes.append(Change(path, "closed-object", "additionalProperties set to false"))

    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        changes.extend(compare(old["items"], new["items"], f"{path}[]"))
    # Added-field entries nested under a removed parent would be noise: compare() only recurses into shared fields.
    return sorted(changes, key=lambda c: (c.path, c.kind))



def _enum_changes(old: dict[str, Any], new: dict[str, Any], path: str) -> list[Change]:
    if "enum" not in new and "enum" not in old:
        return []
    if "enum" not in new:
        return [Change(path, "widened-enum", "enum removed (any value allowed)")]
    if "enum" not in old:
        return [Change(path, "added-enum", f"values restricted to {new['enum']!r}")]
    removed = [v for v in old["enum"] if v not in new["enum"]]
    added = [v for v in new["enum"] if v not in old["enum"]]
    changes = []
    if removed:
        changes.append(Change(path, "narrowed-enum", f"enum values removed: {removed!r}"))
    if added:
        changes.append(Change(path, "widened-enum", f"enum values added: {added!r}"))
    return changes


def _show(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Only the changes that require publishing a new version."""
    return [change for change in compare(old, new) if change.breaking]


__all__ = ["BREAKING", "Change", "breaking_changes", "compare"]
