"""``eventform diff --base <ref>``: what a change to the catalog does, as Markdown for a pull-request comment.

Three views: the catalog (domains, events, versions, consumers added/removed/changed), schema compatibility inside
existing versions (:mod:`eventform.catalog.compat`: breaking edits mean "publish version N+1"), and per stack the
Terraform resources created, changed, replaced or destroyed, from comparing the synthesized JSON of both revisions. The
base revision is exported with ``git archive`` into a temporary directory (no worktree is registered) and synthesized by
its own code in a subprocess, in parallel with the working tree, so module changes show up too.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventform.catalog import compat
from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.catalog.model import Catalog, Consumer, Event
from eventform.synthesis.app import synthesize

# Arguments whose change makes Terraform destroy and re-create the resource (ForceNew in the AWS provider).
FORCES_REPLACEMENT: dict[str, frozenset[str]] = {
    "aws_sqs_queue": frozenset({"name", "name_prefix", "fifo_queue"}),
    "aws_sns_topic": frozenset({"name", "name_prefix", "fifo_topic"}),
    "aws_sns_topic_subscription": frozenset({"topic_arn", "protocol", "endpoint"}),
    "aws_sns_topic_policy": frozenset({"arn"}),
    "aws_sqs_queue_policy": frozenset({"queue_url"}),
    "aws_sqs_queue_redrive_policy": frozenset({"queue_url"}),
    "aws_sqs_queue_redrive_allow_policy": frozenset({"queue_url"}),
    "aws_cloudwatch_metric_alarm": frozenset({"alarm_name"}),
    "aws_kms_alias": frozenset({"name", "name_prefix"}),
    "aws_kms_key": frozenset({"customer_master_key_spec", "key_usage", "multi_region"}),
    "aws_ssm_parameter": frozenset({"name"}),
}


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
    return subprocess.Popen(
        [sys.executable, "-c", BASE_SYNTH, str(base), str(out), ",".join(environments or [])],
        cwd=base,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


# ------------------------------------------------------------------------------------------------------------
# Catalog changes
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    action: str  # added | removed | changed
    kind: str  # domain | event | version | consumer
    name: str
    detail: str = ""


@dataclass(frozen=True)
class SchemaChange:
    event: str
    version: int
    change: compat.Change
    latest: int

    @property
    def fix(self) -> str:
        domain, name = self.event.split("/", 1)
        return f"publish version {self.latest + 1}: `eventform add event {domain} {name} --version {self.latest + 1}`"


def _event_fields(event: Event) -> dict[str, Any]:
    return {
        "description": event.description,
        "attributes": list(event.attributes),
        "pii": list(event.pii),
        "message_group": event.message_group,
        "via": list(event.via),
    }


def _consumer_fields(consumer: Consumer) -> dict[str, Any]:
    return {
        "description": consumer.description,
        "events": sorted(consumer.events),
        "handler": consumer.handler,
        "emits": sorted(consumer.emits),
        "function": consumer.function,
        "filter": consumer.filter,
        "filter_scope": consumer.filter_scope,
        "queue": consumer.queue,
        "environments": consumer.overrides,
    }


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


def catalog_changes(base: Catalog, head: Catalog) -> tuple[list[Line], list[SchemaChange], list[SchemaChange]]:
    """(catalog lines, breaking schema changes, additive schema changes), all sorted."""
    lines: list[Line] = []
    breaking: list[SchemaChange] = []
    additive: list[SchemaChange] = []
    base_domains = {d.name: d for d in base.domains}
    head_domains = {d.name: d for d in head.domains}
    for name in sorted(set(head_domains) - set(base_domains)):
        lines.append(Line("added", "domain", name, f"owner {head_domains[name].owner}"))
    for name in sorted(set(base_domains) - set(head_domains)):
        lines.append(Line("removed", "domain", name))
    for name in sorted(set(base_domains) & set(head_domains)):
        old, new = base_domains[name], head_domains[name]
        keys = [
            k
            for k in ("owner", "description", "source", "data_classification", "topic")
            if getattr(old, k) != getattr(new, k)
        ]
        if keys:
            lines.append(Line("changed", "domain", name, ", ".join(keys)))

    base_events = {e.qualified_name: e for e in base.events}
    head_events = {e.qualified_name: e for e in head.events}
    for name in sorted(set(head_events) - set(base_events)):
        versions = ", ".join(f"v{v.number}" for v in head_events[name].versions)
        lines.append(Line("added", "event", name, versions))
    for name in sorted(set(base_events) - set(head_events)):
        lines.append(Line("removed", "event", name, "consumers and producers must stop first"))
    for name in sorted(set(base_events) & set(head_events)):
        old, new = base_events[name], head_events[name]
        keys = _changed_keys(_event_fields(old), _event_fields(new))
        if keys:
            lines.append(Line("changed", "event", name, ", ".join(keys)))
        old_versions = {v.number: v for v in old.versions}
        new_versions = {v.number: v for v in new.versions}
        for number in sorted(set(new_versions) - set(old_versions)):
            lines.append(Line("added", "version", f"{name} v{number}"))
        for number in sorted(set(old_versions) - set(new_versions)):
            lines.append(Line("removed", "version", f"{name} v{number}", "consumers of it lose their events"))
        for number in sorted(set(old_versions) & set(new_versions)):
            changes = compat.compare(old_versions[number].schema, new_versions[number].schema)
            for change in changes:
                entry = SchemaChange(name, number, change, new.latest.number)
                (breaking if change.breaking else additive).append(entry)
            if changes:
                lines.append(Line("changed", "version", f"{name} v{number}", "schema"))

    base_consumers = {c.qualified_name: c for c in base.consumers}
    head_consumers = {c.qualified_name: c for c in head.consumers}
    for name in sorted(set(head_consumers) - set(base_consumers)):
        lines.append(Line("added", "consumer", name, "reads " + ", ".join(sorted(head_consumers[name].events))))
    for name in sorted(set(base_consumers) - set(head_consumers)):
        lines.append(Line("removed", "consumer", name, "its queue and DLQ are destroyed with their messages"))
    for name in sorted(set(base_consumers) & set(head_consumers)):
        keys = _changed_keys(_consumer_fields(base_consumers[name]), _consumer_fields(head_consumers[name]))
        if keys:
            lines.append(Line("changed", "consumer", name, ", ".join(keys)))
    return lines, breaking, additive


# ------------------------------------------------------------------------------------------------------------
# Terraform changes
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResourceChange:
    action: str  # create | update | replace | destroy
    address: str  # <type>.<name>
    attributes: tuple[str, ...] = ()


@dataclass
class StackChanges:
    stack: str
    changes: list[ResourceChange] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


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
            keys = tuple(_changed_keys(before, after))
            if keys:
                forced = FORCES_REPLACEMENT.get(kind, frozenset()) & set(keys)
                changes.append(ResourceChange("replace" if forced else "update", address, keys))
        if changes:
            result.append(StackChanges(stack, changes))
    return result


# ------------------------------------------------------------------------------------------------------------
# The report
# ------------------------------------------------------------------------------------------------------------
@dataclass
class Report:
    base_ref: str
    base_commit: str
    lines: list[Line]
    breaking: list[SchemaChange]
    additive: list[SchemaChange]
    stacks: list[StackChanges]
    stacks_compared: int

    @property
    def has_breaking(self) -> bool:
        return bool(self.breaking)

    def markdown(self) -> str:
        return render_markdown(self)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    out = [f"## eventform diff against `{report.base_ref}` ({report.base_commit[:12]})", ""]
    replacements = sum(s.count("replace") for s in report.stacks)
    summary = [
        f"{len(report.lines)} catalog change{'s' if len(report.lines) != 1 else ''}",
        f"**{len(report.breaking)} breaking schema change{'s' if len(report.breaking) != 1 else ''}**"
        if report.breaking
        else "no breaking schema change",
        f"{len(report.stacks)} of {report.stacks_compared} stacks change",
    ]
    if replacements:
        summary.append(f"**{replacements} resource replacement{'s' if replacements != 1 else ''}**")
    out += [", ".join(summary) + ".", ""]

    out += ["### Catalog", ""]
    if report.lines:
        out += ["| change | what | name | details |", "| --- | --- | --- | --- |"]
        out += [f"| {line.action} | {line.kind} | `{line.name}` | {_cell(line.detail)} |" for line in report.lines]
    else:
        out.append("No catalog changes.")
    out.append("")

    if report.breaking:
        out += [
            "### Breaking schema changes",
            "",
            "A published version is immutable: consumers rely on it. Revert these edits and publish a new version.",
            "",
            "| event | version | field | change | fix |",
            "| --- | --- | --- | --- | --- |",
        ]
        for item in report.breaking:
            out.append(
                f"| `{item.event}` | v{item.version} | `{item.change.path or '(payload)'}` | "
                f"{item.change.kind}: {_cell(item.change.detail)} | {item.fix} |"
            )
        out.append("")
    if report.additive:
        out += ["### Compatible schema changes", ""]
        out += ["| event | version | field | change |", "| --- | --- | --- | --- |"]
        for item in report.additive:
            out.append(
                f"| `{item.event}` | v{item.version} | `{item.change.path or '(payload)'}` | "
                f"{item.change.kind}: {_cell(item.change.detail)} |"
            )
        out.append("")

    out += ["### Terraform", ""]
    if not report.stacks:
        out += [f"No resource changes in the {report.stacks_compared} stacks.", ""]
        return "\n".join(out)
    out += ["| stack | create | update | replace | destroy |", "| --- | ---: | ---: | ---: | ---: |"]
    for stack in report.stacks:
        out.append(
            f"| `{stack.stack}` | {stack.count('create')} | {stack.count('update')} | "
            f"{stack.count('replace')} | {stack.count('destroy')} |"
        )
    out.append("")
    for stack in report.stacks:
        out += [
            f"<details><summary><code>{stack.stack}</code></summary>",
            "",
            "| action | resource | changed arguments |",
            "| --- | --- | --- |",
        ]
        for change in stack.changes:
            action = "**replace**" if change.action == "replace" else change.action
            kind = change.address.split(".", 1)[0]
            arguments = ", ".join(
                f"**{a}** (forces replacement)" if a in FORCES_REPLACEMENT.get(kind, ()) else a
                for a in change.attributes
            )
            out.append(f"| {action} | `{change.address}` | {arguments} |")
        out += ["", "</details>", ""]
    return "\n".join(out)


def diff(root: Path, base_ref: str, environments: list[str] | None = None) -> Report:
    """Compare the working tree at ``root`` with git revision ``base_ref``."""
    with tempfile.TemporaryDirectory(prefix="eventform-diff-") as scratch:
        scratch_path = Path(scratch)
        base_root = scratch_path / "base"
        base_root.mkdir()
        commit = export_revision(root, base_ref, base_root)
        try:
            base_catalog, _ = load(base_root)
        except CatalogError as error:
            raise DiffError(f"the catalog at {base_ref} does not load:\n{error}") from error
        head_catalog, _ = load(root)  # CatalogError propagates: the working tree must be valid
        lines, breaking, additive = catalog_changes(base_catalog, head_catalog)
        base_out, head_out = scratch_path / "base.out", scratch_path / "head.out"
        process = _start_base_synthesis(base_root, base_out, environments)
        try:
            synthesize(root, head_out, environments)
        finally:
            output, _ = process.communicate()
        if process.returncode != 0:
            raise DiffError(f"synthesizing {base_ref} failed:\n{output[-4000:]}")
        stacks = compare_stacks(base_out, head_out)
        compared = len({p.name for out in (base_out, head_out) for p in (out / "stacks").iterdir() if p.is_dir()})
    return Report(base_ref, commit, lines, breaking, additive, stacks, compared)


__all__ = [
    "FORCES_REPLACEMENT",
    "DiffError",
    "Report",
    "catalog_changes",
    "compare_stacks",
    "diff",
    "export_revision",
    "render_markdown",
]
