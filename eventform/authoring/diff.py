"""``eventform diff --base <ref>``: what a change to the catalog does, as Markdown for a pull-request comment.

Three views: the catalog (every kind of entry, :mod:`eventform.authoring.catalog_diff`), schema compatibility inside
existing versions (:mod:`eventform.catalog.compat`: breaking edits mean "publish version N+1"), and per stack the
Terraform resources created, changed, replaced or destroyed, from comparing the synthesized JSON of both revisions. The
base revision is exported with ``git archive`` into a temporary directory (no worktree is registered) and synthesized by
its own code in a subprocess, in parallel with the working tree, so module changes show up too; that synthesis is
kept under ``.cache/synth/base/`` (keyed on the commit, environments and tools) and reused by the next diff against
the same commit.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from eventform.authoring.catalog_diff import Line, SchemaChange, catalog_changes
from eventform.authoring.cost import cost_changes
from eventform.authoring.diff_report import (
    COMMENT_LIMIT,
    FORCES_REPLACEMENT,
    Report,
    ResourceChange,
    StackChanges,
    render_comment,
    render_markdown,
)
from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.synthesis import stack_cache
from eventform.synthesis.app import synthesize


class DiffError(Exception):
    """The base revision cannot be read or synthesized."""


# ------------------------------------------------------------------------------------------------------------
# The base revision
# ------------------------------------------------------------------------------------------------------------
def export_revision(root: Path, ref: str, into: Path) -> str:
    """Write the tree of ``ref`` into ``into`` (``git archive``); return the full commit id."""

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)

    resolved = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if resolved.returncode != 0:
        inside = git("rev-parse", "--is-inside-work-tree").returncode == 0
        raise DiffError(f"unknown git revision {ref!r}" if inside else f"{root} is not inside a git repository")
    commit = resolved.stdout.decode().strip()
    archive = git("archive", "--format=tar", commit)
    if archive.returncode != 0:
        raise DiffError(f"git archive {ref} failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return commit


BASE_SYNTH = (
    "import sys\nfrom pathlib import Path\nfrom eventform.synthesis.app import synthesize\n"
    "envs = sys.argv[3].split(',') if sys.argv[3] else None\n"
    "synthesize(Path(sys.argv[1]), Path(sys.argv[2]), envs)\n"
)


def _start_base_synthesis(base: Path, out: Path, environments: list[str] | None) -> subprocess.Popen[str]:
    """Synthesize the base with its own code (PYTHONPATH first), in a subprocess running beside the head's."""
    from eventform.synthesis.toolchain import ensure_jsii_node

    ensure_jsii_node()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(base), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env[stack_cache.CACHE_VARIABLE] = "0"  # its whole output is kept instead (keyed on the commit), not its stacks
    return subprocess.Popen(
        [sys.executable, "-c", BASE_SYNTH, str(base), str(out), ",".join(environments or [])],
        cwd=base,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


# ------------------------------------------------------------------------------------------------------------
# Terraform changes
# ------------------------------------------------------------------------------------------------------------
def _strip_metadata(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_metadata(v) for k, v in node.items() if not k.startswith("//")}
    if isinstance(node, list):
        return [_strip_metadata(v) for v in node]
    return node


def stack_resources(stack_dir: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """``type.name`` -> (type, arguments) of one synthesized stack, without cdktn's metadata."""
    path = stack_dir / "cdk.tf.json"
    if not path.is_file():
        return {}
    config = json.loads(path.read_text())
    return {
        f"{kind}.{name}": (kind, _strip_metadata(arguments))
        for kind, items in config.get("resource", {}).items()
        for name, arguments in items.items()
    }


def compare_stacks(base_out: Path, head_out: Path) -> list[StackChanges]:
    """Per stack (sorted), the resource changes between two ``cdktf.out`` directories; unchanged stacks omitted."""

    def names(out: Path) -> set[str]:
        stacks = out / "stacks"
        return {p.name for p in stacks.iterdir() if p.is_dir()} if stacks.is_dir() else set()

    result = []
    for stack in sorted(names(base_out) | names(head_out)):
        old = stack_resources(base_out / "stacks" / stack)
        new = stack_resources(head_out / "stacks" / stack)
        changes: list[ResourceChange] = []
        for address in sorted(set(new) - set(old)):
            changes.append(ResourceChange("create", address))
        for address in sorted(set(old) - set(new)):
            changes.append(ResourceChange("destroy", address))
        for address in sorted(set(old) & set(new)):
            kind, before = old[address]
            _, after = new[address]
            keys = tuple(sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)))
            if keys:
                forced = FORCES_REPLACEMENT.get(kind, frozenset()) & set(keys)
                changes.append(ResourceChange("replace" if forced else "update", address, keys))
        if changes:
            result.append(StackChanges(stack, changes))
    return result


def diff(root: Path, base_ref: str, environments: list[str] | None = None) -> Report:
    """Compare the working tree at ``root`` with git revision ``base_ref``."""
    with tempfile.TemporaryDirectory(prefix="eventform-diff-") as scratch:
        scratch_path = Path(scratch)
        base_root = scratch_path / "base"
        base_root.mkdir()
        commit = export_revision(root, base_ref, base_root)
        try:
            base_catalog, base_environments = load(base_root)
        except CatalogError as error:
            raise DiffError(f"the catalog at {base_ref} does not load:\n{error}") from error
        head_catalog, head_environments = load(root)  # CatalogError propagates: the working tree must be valid
        chosen = tuple(e for e in head_environments if environments is None or e.name in environments)
        costs = cost_changes((base_catalog, base_environments), (head_catalog, chosen))  # the --env ones only
        lines, breaking, additive = catalog_changes(base_catalog, head_catalog)
        base_out, head_out = scratch_path / "base.out", scratch_path / "head.out"
        cached = stack_cache.base_synthesis(root, commit, environments) if stack_cache.enabled() else None
        if cached is not None and cached.is_dir():  # this commit was synthesized before, with these tools
            base_out, process = cached, None
        else:
            process = _start_base_synthesis(base_root, base_out, environments)
        try:
            synthesize(root, head_out, environments)
        finally:
            output, _ = process.communicate() if process else ("", None)
        if process is not None and process.returncode != 0:
            raise DiffError(f"synthesizing {base_ref} failed:\n{output[-4000:]}")
        if process is not None and cached is not None:
            stack_cache.store_tree(base_out, cached)
        stacks = compare_stacks(base_out, head_out)
        compared = len({p.name for out in (base_out, head_out) for p in (out / "stacks").iterdir() if p.is_dir()})
    return Report(base_ref, commit, lines, breaking, additive, stacks, compared, costs)


__all__ = [
    "COMMENT_LIMIT",
    "FORCES_REPLACEMENT",
    "DiffError",
    "Line",
    "Report",
    "ResourceChange",
    "SchemaChange",
    "StackChanges",
    "catalog_changes",
    "compare_stacks",
    "diff",
    "export_revision",
    "render_comment",
    "render_markdown",
]
