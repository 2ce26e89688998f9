"""Environment and stack names given on the command line (or in EVENTFORM_ENV / EVENTFORM_STACK), checked before any
work starts: an unknown one is named as such, with the closest known name and the whole list.

The known names come from the files alone (``environments/<env>.yaml``, ``catalog/<domain>.yaml``; a stack is
``<env>-<domain>`` or ``<env>-platform``), so the check costs no catalog load and works on a catalog that does not
lint, where the loader's own message follows.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from eventform.catalog.errors import CatalogError, Problem

PLATFORM = "platform"


def environment_names(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "environments").glob("*.yaml"))


def stack_names(root: Path, environments: Iterable[str] | None = None) -> list[str]:
    """Every stack the project synthesizes (of ``environments`` only, when given), sorted."""
    domains = [PLATFORM, *sorted(p.stem for p in (root / "catalog").glob("*.yaml"))]
    envs = list(environments) if environments else environment_names(root)
    return sorted(f"{env}-{domain}" for env in envs for domain in domains)


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name most like ``name`` (a typo, a missing prefix), if any is close enough to suggest."""
    known = list(known)
    matches = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    endings = [k for k in known if k.endswith(f"-{name}") or k.startswith(f"{name}-")]  # `orders` for dev-orders
    return endings[0] if endings else None


def _fix(name: str, known: list[str], noun: str) -> str:
    guess = closest(name, known)
    listed = ", ".join(known) if known else "none"
    return (f"did you mean {guess!r}? " if guess else "") + f"known {noun}: {listed}"


def unknown_environments(root: Path, names: Iterable[str] | None, where: str = "--env") -> list[Problem]:
    known = environment_names(root)
    return [
        Problem(
            root / "environments" / f"{name}.yaml",
            where,
            f"unknown environment {name!r} (there is no environments/{name}.yaml)",
            _fix(name, known, "environments"),
        )
        for name in names or ()
        if name not in known
    ]


def unknown_stacks(root: Path, names: Iterable[str] | None, where: str = "--stack") -> list[Problem]:
    known = stack_names(root)
    return [
        Problem(
            root / "catalog",
            where,
            f"unknown stack {name!r} (stacks are <environment>-<domain> and <environment>-{PLATFORM})",
            _fix(name, known, "stacks"),
        )
        for name in names or ()
        if name not in known
    ]


def check(
    root: Path,
    environments: Iterable[str] | None = None,
    stacks: Iterable[str] | None = None,
    env_where: str = "--env",
    stack_where: str = "--stack",
) -> None:
    """Raise one :class:`CatalogError` naming every unknown environment and stack (nothing has started yet)."""
    problems = [*unknown_environments(root, environments, env_where), *unknown_stacks(root, stacks, stack_where)]
    if problems:
        raise CatalogError(problems)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 event``, ``2 events``, ``0 messages``: the count with the noun in the right number."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


__all__ = ["check", "closest", "environment_names", "plural", "stack_names", "unknown_environments", "unknown_stacks"]
