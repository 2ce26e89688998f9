"""Terminal view of a scan: per stack, per policy, every failure with its catalog entry and fix, every waiver."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from eventform.compliance.scan import UNKNOWN, WAIVED, ScanReport
from eventform.compliance.stack_checks import FAILED, PASSED


def print_report(report: ScanReport, console: Console, paths: tuple[Path, ...] = ()) -> None:
    counts: Counter[tuple[str, str]] = Counter((f.stack, f.result) for f in report.findings)
    by_check: Counter[tuple[str, str]] = Counter((f.check_id, f.result) for f in report.findings)
    names = {f.check_id: (f.check_name, f.source) for f in report.findings}

    stacks = Table(
        title=f"eventform scan: {len(report.resources)} stacks, {sum(report.resources.values())} resources, "
        f"{len(report.findings)} results of {len(names)} checks in {report.seconds:.1f}s "
        f"(checkov {report.checkov_version}, offline)"
    )
    for column in ("stack", "resources", "passed", "failed", "waived", "unknown"):
        stacks.add_column(column, justify="left" if column == "stack" else "right")
    for stack, resources in report.resources.items():
        failed = counts[(stack, FAILED)]
        stacks.add_row(
            stack,
            str(resources),
            str(counts[(stack, PASSED)]),
            f"[red]{failed}" if failed else "0",
            str(counts[(stack, WAIVED)]),
            str(counts[(stack, UNKNOWN)]),
        )
    console.print(stacks)

    policies = Table(title="Per policy")
    for column in ("check", "source", "name", "passed", "failed", "waived", "unknown"):
        policies.add_column(column, justify="right" if column in ("passed", "failed", "waived", "unknown") else "left")
    for check_id in sorted(names):
        name, source = names[check_id]
        failed = by_check[(check_id, FAILED)]
        policies.add_row(
            check_id,
            source,
            name,
            str(by_check[(check_id, PASSED)]),
            f"[red]{failed}" if failed else "0",
            str(by_check[(check_id, WAIVED)]),
            str(by_check[(check_id, UNKNOWN)]),
        )
    console.print(policies)

    if report.failures:
        failures = Table(title=f"[red]{len(report.failures)} failures")
        for column in ("stack", "check", "resource", "catalog entry", "fix"):
            failures.add_column(column, overflow="fold")
        for finding in report.failures:
            detail = f"\n{finding.detail}" if finding.detail else ""
            failures.add_row(
                finding.stack,
                finding.check_id,
                f"{finding.resource}\n{finding.path}",
                str(finding.entry),
                finding.fix + detail,
            )
        console.print(failures)

    if report.waivers:
        waivers = Table(title="Waivers (environments/<env>.yaml)")
        for column in ("env", "check", "resource", "owner", "expires", "matched", "reason"):
            waivers.add_column(column, overflow="fold")
        for use in report.waivers:
            status = f"[red]{use.waiver.expires} EXPIRED" if use.expired else str(use.waiver.expires)
            waivers.add_row(
                use.environment,
                use.waiver.check,
                use.waiver.resource,
                use.waiver.owner,
                status,
                str(use.matched),
                use.waiver.reason,
            )
        console.print(waivers)
    for path in paths:
        console.print(f"report: {path}")
    if report.unknowns:  # never dropped: said where the verdict is printed
        checks = ", ".join(sorted({f.check_id for f in report.unknowns}))
        console.print(
            f"[yellow]{len(report.unknowns)} results UNKNOWN: checkov could not evaluate the value ({checks}); "
            "each is listed in the reports (JUnit: skipped, SARIF: note) and needs a look, it is not a pass"
        )
    if report.ok:
        console.print("[green]scan passed: no unwaived failure, no expired waiver")
    else:
        console.print(
            f"[red]scan failed: {len(report.failures)} unwaived failures, {len(report.expired)} expired waivers"
        )
