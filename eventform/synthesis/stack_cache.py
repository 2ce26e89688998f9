"""A cache of synthesized stacks under ``.cache/synth/``: a stack whose inputs did not change is not built again.

A stack's key is a SHA-256 over everything its output can depend on: the user-written inputs (every file under
``catalog/``, ``environments/`` and ``handlers/``, by path and content), the Lambda packages' hashes, the stack's
name and the local endpoint, and the code that builds it (every file of ``eventform/`` and ``modules/``, the Python
version and the installed versions of the CDK Terrain, jsii and AWS binding packages). Any change to any of them is
a new key, so an entry is never used after the code changed. An entry is one folder per key holding the stack's
folder and its manifest entry, written into a temporary folder and renamed into place (a killed writer leaves no
half entry). ``eventform diff --base`` keeps there the synthesis of each base commit it compared with, keyed on the
commit, the environments and the tools (the base is built by its own code). Safe to delete at any time;
``EVENTFORM_SYNTH_CACHE=0`` turns it off (the test suite does, except where it tests it or reads the run's shared
synthesis).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import sys
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from eventform.synthesis.toolchain import switched_off

CACHE_VARIABLE = "EVENTFORM_SYNTH_CACHE"  # "0": never read nor write the cache
FOLDER = Path(".cache") / "synth"
INPUTS = ("catalog", "environments", "handlers")
CODE_PACKAGES = ("eventform", "modules")
TOOL_DISTRIBUTIONS = ("cdktn", "cdktn-provider-aws", "constructs", "jsii")
SKIPPED = {"__pycache__", ".pytest_cache"}
ENTRY = "manifest-entry.json"


def enabled(requested: bool | None = None) -> bool:
    if requested is not None:
        return requested
    return not switched_off(CACHE_VARIABLE)


def _digest_tree(digest: Any, folder: Path, label: str) -> None:
    """Every file under ``folder`` (sorted), by relative path and content; a missing folder counts as empty."""
    if not folder.is_dir():
        digest.update(f"{label}: none\n".encode())
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not SKIPPED & set(path.relative_to(folder).parts) and path.suffix != ".pyc":
            digest.update(f"{label}/{path.relative_to(folder).as_posix()}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())


def tools_version() -> str:
    """The Python and the installed CDK Terrain, jsii and AWS binding packages, as one line."""
    versions = [f"python {sys.version}"]
    for name in TOOL_DISTRIBUTIONS:
        try:
            versions.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    return "; ".join(versions)


@cache
def code_version() -> str:
    """The code and tools that build stacks, as one hash (computed once per process)."""
    digest = hashlib.sha256(f"{tools_version()}\n".encode())
    for package in CODE_PACKAGES:
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        for location in sorted(locations):
            _digest_tree(digest, Path(location), package)
    return digest.hexdigest()


def inputs_version(root: Path) -> str:
    """The user-written inputs of the project at ``root``, as one hash."""
    digest = hashlib.sha256()
    for folder in INPUTS:
        _digest_tree(digest, root / folder, folder)
    return digest.hexdigest()


def stack_key(inputs: str, stack: str, packages: Iterable[str], local_endpoint: str | None) -> str:
    text = json.dumps(
        {
            "code": code_version(),
            "inputs": inputs,
            "stack": stack,
            "packages": sorted(packages),
            "endpoint": local_endpoint,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def selection_key(inputs: str, environments: list[str] | None, stacks: list[str] | None, endpoint: str | None) -> str:
    """One synthesis's inputs and selection, known before the catalog is loaded (see :func:`seen`)."""
    text = json.dumps(
        {"code": code_version(), "inputs": inputs, "envs": environments, "stacks": stacks, "endpoint": endpoint},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def seen(root: Path, key: str) -> bool:
    """Whether a synthesis of this :func:`selection_key` completed before, so its stacks are likely all cached (a
    hint only: workers are not started ahead for it; the stacks' own keys still decide what is copied)."""
    return (root / FOLDER / "selections" / key).is_file()


def remember(root: Path, key: str) -> None:
    with contextlib.suppress(OSError):
        (root / FOLDER / "selections").mkdir(parents=True, exist_ok=True)
        (root / FOLDER / "selections" / key).touch()


def entry_path(root: Path, key: str) -> Path:
    return root / FOLDER / key[:2] / key


def restore(root: Path, key: str, staging: Path, stack: str) -> dict[str, Any] | None:
    """Copy the cached stack into ``staging/stacks/<stack>`` and return the manifest it was synthesized with,
    holding only this stack (e.g. ``{"stacks": {stack: {...}}, "version": "0.24.0"}``); None when not cached."""
    entry = entry_path(root, key)
    try:
        manifest = json.loads((entry / ENTRY).read_text())
        if not isinstance(manifest, dict) or set(manifest.get("stacks", {})) != {stack}:
            raise ValueError(f"{entry / ENTRY} is not the manifest of {stack}")
        shutil.copytree(entry / "stack", staging / "stacks" / stack)
    except (OSError, ValueError):
        shutil.rmtree(staging / "stacks" / stack, ignore_errors=True)
        if entry.exists():  # damaged: removed, so that this synthesis stores a good one
            shutil.rmtree(entry, ignore_errors=True)
        return None
    return manifest


def store(root: Path, key: str, stack_dir: Path, manifest: dict[str, Any]) -> None:
    """Add a freshly synthesized stack and its manifest (holding only it) to the cache; best effort (a read-only or
    full disk only loses the entry)."""
    entry = entry_path(root, key)
    if entry.exists():
        return
    with contextlib.suppress(OSError):
        entry.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=entry.parent))
        try:
            shutil.copytree(stack_dir, temporary / "stack")
            (temporary / ENTRY).write_text(json.dumps(manifest, sort_keys=True))
            temporary.rename(entry)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)


def base_synthesis(root: Path, commit: str, environments: list[str] | None) -> Path:
    """Where ``eventform diff --base`` keeps the synthesis of a base commit (made by that commit's own code, so the
    commit, the environments asked for and the tools are the whole key)."""
    text = json.dumps({"commit": commit, "environments": sorted(environments or []), "tools": tools_version()})
    return root / FOLDER / "base" / hashlib.sha256(text.encode()).hexdigest()


def store_tree(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` through a temporary folder and a rename; best effort, like :func:`store`."""
    if target.exists():
        return
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{target.name[:12]}-", dir=target.parent))
        try:
            shutil.copytree(source, temporary / "out")
            (temporary / "out").rename(target)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)


__all__ = [
    "CACHE_VARIABLE",
    "base_synthesis",
    "code_version",
    "enabled",
    "inputs_version",
    "remember",
    "restore",
    "seen",
    "selection_key",
    "stack_key",
    "store",
    "store_tree",
    "tools_version",
]
