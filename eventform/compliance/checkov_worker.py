"""Run checkov's ``terraform_json`` runner over many stacks in one process, one graph per stack.

Why not ``checkov -d cdktf.out/stacks``: checkov builds one graph of every file it is given, and resolving references is
quadratic in the number of resources (a 1,000-event catalog took 2.5 minutes). Stacks never reference each other
(eventform uses deterministic names), so one graph per stack gives the same results in linear time, and one process pays
checkov's start-up once. Run as ``python -m eventform.compliance.checkov_worker OUT.json POLICIES_DIR STACK_FILE...`` by
:mod:`eventform.compliance.scan`: checkov stays in its own process (its registries and logging are global).

Offline by construction: only the runner is used, never the platform integration (no API key, no guideline
download, no version check). The JSON parser is checkov's own line-numbering loader on libyaml (CSafeLoader) instead
of the pure-Python one: same constructor, same results, several times faster.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any


def _use_libyaml() -> None:
    import yaml
    from checkov.common.parsers.yaml import loader

    if not getattr(yaml, "__with_libyaml__", False):
        return

    class CSafeLineLoader(yaml.CSafeLoader):  # type: ignore[misc, name-defined]
        bool_values = loader.SafeLineLoader.bool_values

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            mapping = super().construct_mapping(node, deep=deep)
            mapping["__startline__"] = node.start_mark.line + 1
            mapping["__endline__"] = node.end_mark.line + 1
            return mapping

    loader.SafeLineLoader = CSafeLineLoader  # type: ignore[misc]


def _keep_unknown_results() -> list[Any]:
    """checkov's ``Report.add_record`` keeps PASSED, FAILED and SKIPPED and silently drops UNKNOWN (a check that
    could not evaluate a value, e.g. a malformed policy document). Keep those records so the scan reports them."""
    from checkov.common.models.enums import CheckResult
    from checkov.common.output.report import Report

    unknown: list[Any] = []
    add_record = Report.add_record

    def keeping(self: Any, record: Any) -> None:
        if record.check_result.get("result") == CheckResult.UNKNOWN:
            unknown.append(record)
        add_record(self, record)

    Report.add_record = keeping  # type: ignore[method-assign]
    return unknown


def _record(stack: str, record: Any) -> dict[str, Any]:
    return {
        "stack": stack,
        "check_id": record.check_id,
        "check_name": record.check_name,
        "result": str(
            record.check_result.get("result").name
            if hasattr(record.check_result.get("result"), "name")
            else record.check_result.get("result")
        ),
        "resource": record.resource,
        "lines": list(record.file_line_range or []),
        "guideline": record.guideline,
        "severity": getattr(record.severity, "name", None) if record.severity else None,
    }


def scan_stacks(policies: Path, stack_files: list[Path]) -> dict[str, Any]:
    """Scan each stack file with its own runner (own graph); external checks load once."""
    logging.disable(logging.WARNING)  # checkov logs parse details at INFO/WARNING; errors still surface below
    _use_libyaml()
    unknown = _keep_unknown_results()
    from checkov.runner_filter import RunnerFilter
    from checkov.terraform_json.runner import TerraformJsonRunner

    records: list[dict[str, Any]] = []
    parsing_errors: list[str] = []
    for index, stack_file in enumerate(stack_files):
        runner = TerraformJsonRunner()
        report = runner.run(
            root_folder=str(stack_file.parent),
            files=[str(stack_file)],
            external_checks_dir=[str(policies)] if index == 0 else None,
            runner_filter=RunnerFilter(framework=["terraform_json"], show_progress_bar=False),
        )
        stack = stack_file.parent.name
        parsing_errors.extend(f"{stack}: {error}" for error in report.parsing_errors)
        for record in [*report.failed_checks, *report.passed_checks, *unknown]:
            records.append(_record(stack, record))
        unknown.clear()
    from checkov.version import version

    return {"checkov_version": version, "records": records, "parsing_errors": parsing_errors}


def main(argv: list[str]) -> int:
    out, policies, *stacks = argv
    result = scan_stacks(Path(policies), [Path(s) for s in stacks])
    Path(out).write_text(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
