"""The Markdown of ``eventform diff``: a pull-request comment that fits, and the full report beside it.

Terraform changes that are the same in every environment (same resources, same actions, same arguments) are shown
once for the domain, with the environments named, instead of once per stack. GitHub refuses a comment over 65,536
characters: when the full report is longer, the comment keeps the summary, the catalog changes and every breaking
schema change, cuts the rest with a line saying what was left out, and links the full report (a file written beside
it, or an URL such as a CI artifact).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eventform.authoring.catalog_diff import Line, SchemaChange
from eventform.authoring.cost import CostChange

COMMENT_LIMIT = 65_536  # characters GitHub accepts in an issue or pull-request comment
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
    "aws_cloudwatch_event_bus": frozenset({"name"}),
    "aws_cloudwatch_event_rule": frozenset({"name", "event_bus_name"}),
    "aws_cloudwatch_event_target": frozenset({"rule", "target_id", "event_bus_name"}),
    "aws_lambda_function": frozenset({"function_name"}),
    "aws_iam_role": frozenset({"name"}),
    "aws_pipes_pipe": frozenset({"name", "source"}),
    "aws_scheduler_schedule": frozenset({"name", "group_name"}),
    "aws_s3_bucket": frozenset({"bucket"}),
}


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


@dataclass
class Report:
    base_ref: str
    base_commit: str
    lines: list[Line]
    breaking: list[SchemaChange]
    additive: list[SchemaChange]
    stacks: list[StackChanges]
    stacks_compared: int
    costs: list[CostChange] = field(default_factory=list)  # the monthly estimate per environment, before and after

    @property
    def has_breaking(self) -> bool:
        return bool(self.breaking)

    def markdown(self) -> str:
        return render_markdown(self)


@dataclass(frozen=True)
class StackGroup:
    """Stacks whose changes are identical: one per environment of a domain (or a single stack)."""

    stacks: tuple[str, ...]
    changes: tuple[ResourceChange, ...]

    @property
    def title(self) -> str:
        if len(self.stacks) == 1:
            return self.stacks[0]
        envs = ", ".join(s.split("-", 1)[0] for s in self.stacks)
        return f"{{{envs}}}-{self.stacks[0].split('-', 1)[1]}"

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


def group_stacks(stacks: list[StackChanges]) -> list[StackGroup]:
    """Stacks of one domain (``<env>-<domain>``) with the same changes become one group; order: by domain."""
    groups: dict[tuple[str, tuple[ResourceChange, ...]], list[str]] = {}
    for stack in stacks:
        domain = stack.stack.split("-", 1)[1] if "-" in stack.stack else stack.stack
        groups.setdefault((domain, tuple(stack.changes)), []).append(stack.stack)
    return [StackGroup(tuple(names), changes) for (_, changes), names in sorted(groups.items(), key=_group_key)]


def _group_key(item: tuple[tuple[str, tuple[ResourceChange, ...]], list[str]]) -> tuple[str, str]:
    (domain, _), names = item
    return domain, names[0]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _summary(report: Report) -> list[str]:
    replacements = sum(s.count("replace") for s in report.stacks)
    destroys = sum(s.count("destroy") for s in report.stacks)
    renamed = [line for line in report.lines if line.action == "renamed" and "renamed_from keeps" not in line.detail]
    parts = [
        _plural(len(report.lines), "catalog change"),
        f"**{_plural(len(report.breaking), 'breaking schema change')}**"
        if report.breaking
        else "no breaking schema change",
        f"{len(report.stacks)} of {report.stacks_compared} stacks change",
    ]
    if replacements:
        parts.append(f"**{_plural(replacements, 'resource replacement')}**")
    if destroys:
        parts.append(f"**{_plural(destroys, 'resource')} destroyed**")
    out = [f"## eventform diff against `{report.base_ref}` ({report.base_commit[:12]})", "", ", ".join(parts) + "."]
    if renamed:
        out += [
            "",
            "> **Renamed** "
            + ", ".join(f"{line.kind} `{line.name}`" for line in renamed)
            + ": a rename destroys and recreates what carries the name (see the Catalog table). Add "
            "`renamed_from: <old name>` to a renamed consumer to keep its queue, or drain the queue first.",
        ]
    return [*out, ""]


def _catalog(report: Report) -> list[str]:
    out = ["### Catalog", ""]
    if not report.lines:
        return [*out, "No catalog changes.", ""]
    out += ["| change | what | name | details |", "| --- | --- | --- | --- |"]
    for line in report.lines:
        action = f"**{line.action}**" if line.action in ("renamed", "removed") else line.action
        out.append(f"| {action} | {line.kind} | `{_cell(line.name)}` | {_cell(line.detail)} |")
    return [*out, ""]


def _schemas(report: Report) -> list[str]:
    out: list[str] = []
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
    return out


def _terraform_table(report: Report, groups: list[StackGroup]) -> list[str]:
    out = ["### Terraform", ""]
    if not groups:
        return [*out, f"No resource changes in the {report.stacks_compared} stacks.", ""]
    out += [
        "Stacks of one domain with identical changes in several environments are shown once.",
        "",
        "| stacks | create | update | replace | destroy |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for group in groups:
        out.append(
            f"| `{group.title}` | {group.count('create')} | {group.count('update')} | "
            f"{group.count('replace')} | {group.count('destroy')} |"
        )
    return [*out, ""]


def _terraform_details(group: StackGroup) -> list[str]:
    out = [
        f"<details><summary><code>{group.title}</code></summary>",
        "",
        "| action | resource | changed arguments |",
        "| --- | --- | --- |",
    ]
    for change in group.changes:
        action = f"**{change.action}**" if change.action in ("replace", "destroy") else change.action
        kind = change.address.split(".", 1)[0]
        arguments = ", ".join(
            f"**{a}** (forces replacement)" if a in FORCES_REPLACEMENT.get(kind, ()) else a for a in change.attributes
        )
        out.append(f"| {action} | `{change.address}` | {arguments} |")
    return [*out, "", "</details>", ""]


def _costs(report: Report) -> list[str]:
    """The monthly estimate per environment before and after (``eventform cost``), with the services that move."""
    if not report.costs:
        return []
    out = [
        "### Cost (monthly estimate, USD)",
        "",
        "| environment | before | after | change | by service |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for change in report.costs:
        if change.note:
            out.append(f"| {change.environment} | - | - | - | not estimated: {change.note} |")
            continue
        services = ", ".join(f"{s} {b:.2f} → {a:.2f}" for s, b, a in change.services) or "no change"
        out.append(
            f"| {change.environment} | {change.before:.2f} | {change.after:.2f} | {change.delta:+.2f} | {services} |"
        )
    return [*out, "", "From the events' declared `volume:` and the price table of each region (`eventform cost`).", ""]


def render_markdown(report: Report) -> str:
    """The whole report (no length limit)."""
    groups = group_stacks(report.stacks)
    out = _summary(report) + _costs(report) + _catalog(report) + _schemas(report) + _terraform_table(report, groups)
    for group in groups:
        out += _terraform_details(group)
    return "\n".join(out)


def render_comment(report: Report, full_link: str, limit: int = COMMENT_LIMIT) -> tuple[str, bool]:
    """(Markdown within ``limit`` characters, whether it was cut). Cut: the summary, the breaking changes and the
    Terraform table always; then catalog rows and per-stack details while they fit; a note names what was left out
    and links ``full_link``."""
    full = render_markdown(report)
    if len(full) <= limit:
        return full, False
    groups = group_stacks(report.stacks)
    note_room = 400
    head = _summary(report) + _costs(report)
    where = f"**[read it in full]({full_link})**" if full_link else "`eventform diff --full` prints it"
    head += [f"The full report is longer than a pull-request comment allows: {where}.", ""]
    must = _schemas(report)[: _breaking_end(report)] + _terraform_table(report, groups)
    budget = limit - note_room - len("\n".join(head + must))
    catalog = _catalog(report)
    kept_catalog: list[str] = []
    for row in catalog:
        if len("\n".join([*kept_catalog, row])) > budget // 2 and row.startswith("| ") and len(kept_catalog) > 4:
            break
        kept_catalog.append(row)
    left_rows = len(catalog) - len(kept_catalog)
    details: list[str] = []
    shown = 0
    for group in groups:
        block = _terraform_details(group)
        if len("\n".join(kept_catalog + details + block)) > budget:
            break
        details += block
        shown += 1
    omitted = [f"{left_rows - 1} catalog rows" if left_rows > 1 else ""]
    omitted.append(f"the resource details of {len(groups) - shown} stack groups" if shown < len(groups) else "")
    if report.additive:
        omitted.append(_plural(len(report.additive), "compatible schema change"))
    note = (
        "Left out here: "
        + ", ".join(o for o in omitted if o)
        + (f" ([full report]({full_link}))." if full_link else ".")
    )
    text = "\n".join(head + kept_catalog + ([""] if left_rows else []) + must + details)
    if len(text) + len(note) + 1 > limit:  # breaking changes alone overflow: cut at a line, the note says where
        text = text[: limit - len(note) - 200].rsplit("\n", 1)[0] + "\n\n(cut here)"
    return text + "\n" + note, True


def _breaking_end(report: Report) -> int:
    """How many lines of :func:`_schemas` are the breaking changes (always kept in the comment)."""
    return len(report.breaking) + 7 if report.breaking else 0


__all__ = [
    "COMMENT_LIMIT",
    "FORCES_REPLACEMENT",
    "Report",
    "ResourceChange",
    "StackChanges",
    "StackGroup",
    "group_stacks",
    "render_comment",
    "render_markdown",
]
