"""Schema compatibility against a git base ref: a published event version is a contract.

Inside an existing version, removing a field, changing a type, narrowing an enum or adding a required field breaks
consumers that were written against it: such a change must be published as version N+1. Adding an optional field is
fine. ``eventform lint --base origin/main`` compares every version's schema with the one at the base ref.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from eventform.errors import Problem
from eventform.model import Catalog


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


def breaking_changes(base: Any, head: Any, where: str = "") -> list[tuple[str, str]]:
    """(location, what changed) for every incompatible change from ``base`` to ``head``; additive changes pass."""
    if not isinstance(base, dict) or not isinstance(head, dict):
        return []
    here = where or "(root)"
    changes: list[tuple[str, str]] = []
    base_types, head_types = _types(base), _types(head)
    if base_types is not None and base_types != head_types:
        changes.append((here, f"type changed from {sorted(base_types)} to {sorted(head_types or [])}"))
    base_choices, head_choices = _choices(base), _choices(head)
    if base_choices is not None:
        removed = [c for c in base_choices if head_choices is not None and c not in head_choices]
        if removed:
            changes.append((here, f"enum narrowed: {', '.join(map(json.dumps, removed))} no longer allowed"))
    elif head_choices is not None:
        changes.append((here, f"values restricted to {', '.join(map(json.dumps, head_choices))}"))
    added_required = sorted(set(head.get("required", [])) - set(base.get("required", [])))
    for name in added_required:
        changes.append((f"{where}.{name}" if where else name, "field became required"))
    base_properties, head_properties = base.get("properties", {}), head.get("properties", {})
    for name in sorted(base_properties):
        location = f"{where}.{name}" if where else name
        if name not in head_properties:
            changes.append((location, "field removed"))
        else:
            changes.extend(breaking_changes(base_properties[name], head_properties[name], location))
    if isinstance(base.get("items"), dict):
        changes.extend(breaking_changes(base["items"], head.get("items"), f"{here}[]"))
    return changes


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


__all__ = ["breaking_changes", "compatibility_problems"]
