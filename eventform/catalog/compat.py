"""Schema compatibility against a git base ref: a published event version is a contract.

Inside an existing version, removing a field, changing a type, narrowing an enum or adding a required field breaks
consumers that were written against it: such a change must be published as version N+1. Adding an optional field is
fine. ``eventform lint --base origin/main`` compares every version's schema with the one at the base ref.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventform.catalog.errors import Problem
from eventform.catalog.model import Catalog


def _types(schema: dict[str, Any]) -> set[str] | None:
    found = schema.get("type")
    if found is None:
        return None
    return {found} if isinstance(found, str) else set(found)


def _choices(schema: dict[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


@dataclass(frozen=True)
class Change:
    """One difference between two schemas of the same version at ``path``; ``breaking`` means "publish N+1"."""

    path: str
    kind: str
    detail: str
    breaking: bool

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def compare(base: Any, head: Any, where: str = "") -> list[Change]:
    """Every change from ``base`` to ``head``, breaking and additive, in a stable order.

    The one walk behind both ``eventform lint --base`` (breaking only) and ``eventform diff`` (both kinds)."""
    if not isinstance(base, dict) or not isinstance(head, dict):
        return []
    here = where or "(root)"
    changes: list[Change] = []
    base_types, head_types = _types(base), _types(head)
    if base_types is not None and base_types != head_types:
        detail = f"type changed from {sorted(base_types)} to {sorted(head_types or [])}"
        changes.append(Change(here, "changed-type", detail, True))
    base_choices, head_choices = _choices(base), _choices(head)
    if base_choices is not None:
        removed = [c for c in base_choices if head_choices is not None and c not in head_choices]
        added = [c for c in head_choices or [] if c not in base_choices]
        if removed:
            detail = f"enum narrowed: {', '.join(map(json.dumps, removed))} no longer allowed"
            changes.append(Change(here, "narrowed-enum", detail, True))
        if added:
            changes.append(Change(here, "widened-enum", f"enum widened: {', '.join(map(json.dumps, added))}", False))
    elif head_choices is not None:
        detail = f"values restricted to {', '.join(map(json.dumps, head_choices))}"
        changes.append(Change(here, "added-enum", detail, True))
    base_required, head_required = set(base.get("required", [])), set(head.get("required", []))
    for name in sorted(head_required - base_required):
        changes.append(Change(f"{where}.{name}" if where else name, "added-required", "field became required", True))
    base_properties, head_properties = base.get("properties", {}), head.get("properties", {})
    for name in sorted(base_properties):
        location = f"{where}.{name}" if where else name
        if name not in head_properties:
            changes.append(Change(location, "removed-field", "field removed", True))
        else:
            changes.extend(compare(base_properties[name], head_properties[name], location))
    for name in sorted(set(head_properties) - set(base_properties)):
        if name not in head_required:
            changes.append(Change(f"{where}.{name}" if where else name, "added-field", "optional field added", False))
    for name in sorted((base_required - head_required) & set(head_properties)):
        changes.append(Change(f"{where}.{name}" if where else name, "relaxed-required", "field became optional", False))
    if isinstance(base.get("items"), dict):
        changes.extend(compare(base["items"], head.get("items"), f"{here}[]"))
    return changes


def breaking_changes(base: Any, head: Any, where: str = "") -> list[tuple[str, str]]:
    """(location, what changed) for every incompatible change from ``base`` to ``head``; additive changes pass."""
    return [(change.path, change.detail) for change in compare(base, head, where) if change.breaking]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)


def compatibility_problems(root: Path, catalog: Catalog, base_ref: str) -> list[Problem]:
    """Compare every event version's schema with its text at ``base_ref``; versions new since then are free."""
    verify = _git(root, "rev-parse", "--verify", "--quiet", f"{base_ref}^{{commit}}")
    if verify.returncode != 0:
        return [
            Problem(
                root,
                "--base",
                f"{base_ref!r} is not a commit of the git repository at {root}",
                "fetch the base branch first (git fetch origin main) or name an existing ref",
            )
        ]
    toplevel = Path(_git(root, "rev-parse", "--show-toplevel").stdout.strip()).resolve()
    problems: list[Problem] = []
    for event in catalog.events:
        next_version = event.latest.number + 1
        for version in event.versions:
            relative = version.schema_path.resolve().relative_to(toplevel).as_posix()
            shown = _git(root, "show", f"{base_ref}:{relative}")
            if shown.returncode != 0:
                continue  # the version is new since the base ref
            try:
                base_schema = json.loads(shown.stdout)
            except ValueError:
                continue
            for location, change in breaking_changes(base_schema, version.schema):
                problems.append(
                    Problem(
                        version.schema_path,
                        location,
                        f"{change} inside published version {version.number} of {event.qualified_name} "
                        f"(compared with {base_ref})",
                        f"publish version {next_version}: add {next_version} to versions, write "
                        f"v{next_version}.schema.json and examples, and restore v{version.number} as it was",
                    )
                )
    return problems


__all__ = ["Change", "breaking_changes", "compare", "compatibility_problems"]
