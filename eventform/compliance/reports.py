"""Write a :class:`~eventform.compliance.scan.ScanReport` as JUnit XML (CI test tabs) and SARIF 2.1.0 (code-scanning
dashboards). Output is deterministic: sorted findings, no timestamps, paths relative to the project."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

from eventform.compliance.scan import UNKNOWN, WAIVED, Finding, ScanReport
from eventform.compliance.stack_checks import FAILED

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _relative(stacks_dir: Path, root: Path, stack: str) -> str:
    path = stacks_dir / stack / "cdk.tf.json"
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _message(finding: Finding) -> str:
    detail = f" ({finding.detail})" if finding.detail else ""
    return f"{finding.check_name}{detail}. Catalog entry: {finding.entry}. Fix: {finding.fix}"


def write_junit(report: ScanReport, target: Path) -> Path:
    suites = ElementTree.Element("testsuites", name="eventform scan")
    for stack in report.resources:
        findings = [f for f in report.findings if f.stack == stack]
        suite = ElementTree.SubElement(
            suites,
            "testsuite",
            name=stack,
            tests=str(len(findings)),
            failures=str(sum(f.result == FAILED for f in findings)),
            skipped=str(sum(f.result in (WAIVED, UNKNOWN) for f in findings)),
        )
        for finding in findings:
            case = ElementTree.SubElement(
                suite, "testcase", classname=stack, name=f"{finding.check_id} {finding.resource}"
            )
            if finding.result == FAILED:
                failure = ElementTree.SubElement(case, "failure", message=finding.fix, type=finding.check_id)
                failure.text = _message(finding)
            elif finding.result == UNKNOWN:
                ElementTree.SubElement(case, "skipped", message=f"UNKNOWN: {finding.fix}")
            elif finding.result == WAIVED and finding.waiver:
                waiver = finding.waiver
                ElementTree.SubElement(
                    case, "skipped", message=f"waived by {waiver.owner} until {waiver.expires}: {waiver.reason}"
                )
    for use in report.expired:
        suite = ElementTree.SubElement(suites, "testsuite", name=f"waivers-{use.environment}", tests="1", failures="1")
        case = ElementTree.SubElement(suite, "testcase", classname="waivers", name=f"{use.waiver.check} expired")
        ElementTree.SubElement(
            case, "failure", message=f"waiver expired on {use.waiver.expires}"
        ).text = f"environments/{use.environment}.yaml: renew it with a reason or fix the finding"
    ElementTree.indent(suites)
    target.write_bytes(ElementTree.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n")
    return target


def write_sarif(report: ScanReport, target: Path, stacks_dir: Path, root: Path) -> Path:
    reported = [f for f in report.findings if f.result in (FAILED, WAIVED, UNKNOWN)]
    names = {f.check_id: f for f in report.findings if f.result == UNKNOWN}
    names.update({f.check_id: f for f in report.findings if f.result != UNKNOWN})  # a rule's help is its real fix
    rules = [
        {
            "id": check_id,
            "name": check_id,
            "shortDescription": {"text": names[check_id].check_name},
            "help": {"text": names[check_id].fix},
            "properties": {"source": names[check_id].source},
        }
        for check_id in sorted(names)
    ]
    results = []
    for finding in reported:
        result = {
            "ruleId": finding.check_id,
            "level": "note" if finding.result == UNKNOWN else "error",
            "message": {"text": _message(finding)},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _relative(stacks_dir, root, finding.stack)},
                        "region": {"startLine": finding.line},
                    },
                    "logicalLocations": [{"name": finding.resource, "fullyQualifiedName": finding.path}],
                }
            ],
            "properties": {"catalogEntry": str(finding.entry), "stack": finding.stack},
        }
        if finding.waiver:
            result["suppressions"] = [
                {
                    "kind": "external",
                    "justification": f"{finding.waiver.reason} (owner {finding.waiver.owner}, "
                    f"expires {finding.waiver.expires})",
                }
            ]
        results.append(result)
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "eventform-scan",
                        "informationUri": "https://www.checkov.io/",
                        "version": report.checkov_version,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    target.write_text(json.dumps(sarif, indent=2, sort_keys=True) + "\n")
    return target


def write_reports(report: ScanReport, reports_dir: Path, stacks_dir: Path, root: Path) -> tuple[Path, ...]:
    reports_dir.mkdir(parents=True, exist_ok=True)
    return (
        write_junit(report, reports_dir / "eventform-scan.junit.xml"),
        write_sarif(report, reports_dir / "eventform-scan.sarif", stacks_dir, root),
    )


__all__ = ["write_junit", "write_reports", "write_sarif"]
