"""``eventform scan``: checkov (built-in AWS checks + ``policies/resource``) and eventform's cross-resource checks
(``policies/stack``) over every synthesized stack, offline, with waivers from the environment files.

Every finding is explained in catalog terms (the domain, consumer or topic that produced the resource, from the
``//`` metadata path of the synthesized JSON) and carries the fix. Reports: JUnit XML and SARIF under ``reports/``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from eventform.catalog.model import Catalog, Environment, Waiver
from eventform.compliance import iam_lint
from eventform.compliance.stack_checks import FAILED, PASSED, StackView, load_stack_checks, run_stack_checks
from eventform.synthesis.lock import interrupted_install, output_lock

WAIVED = "WAIVED"
UNKNOWN = "UNKNOWN"  # checkov could not evaluate the value (its Report drops these; the worker keeps them)
UNKNOWN_FIX = (
    "checkov could not evaluate this value (built from Terraform references, or malformed): review it by hand; "
    "it is listed, not counted as passed"
)
EXPIRED_WAIVER = "EVF_WAIVER_EXPIRED"
# checkov, offline: no platform mapping download, no version check, no SCA package scan, no API key.
OFFLINE_ENVIRONMENT = {
    "BC_SKIP_MAPPING": "TRUE",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
    "CKV_GITHUB_CONFIG_FETCH_DATA": "false",
    "LOG_LEVEL": "ERROR",
}
DROPPED_ENVIRONMENT = ("BC_API_KEY", "PRISMA_API_URL", "BC_API_URL", "PYTHONDONTWRITEBYTECODE")
# Fixes for the built-in checks eventform's resources meet; others fall back to the check's name.
BUILTIN_FIXES = {
    "CKV2_AWS_34": "make the parameter a SecureString with a KMS key, or waive it if it holds no secret",
    "CKV_AWS_26": "set kms_master_key_id on the topic",
    "CKV_AWS_27": "set kms_master_key_id or sqs_managed_sse_enabled on the queue",
    "CKV_AWS_7": "set enable_key_rotation = true on the key",
    "CKV_AWS_33": "do not allow * principals in the key policy",
}
KEY_LINE = re.compile(r'^\s*"([^"]+)": \{\s*$')


class ScanError(Exception):
    """checkov could not run or could not parse a stack: the scan has no verdict."""


@dataclass(frozen=True)
class ScanConfig:
    root: Path
    stacks_dir: Path
    reports_dir: Path
    today: date
    jobs: int = 2
    stacks: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()

    @property
    def policies(self) -> Path:
        return self.root / "policies"


@dataclass(frozen=True)
class CatalogEntry:
    kind: str  # consumer | topic | key | platform | domain
    name: str  # notifications/send-email, orders, ...
    file: str  # catalog/notifications.yaml or environments/prod.yaml

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.file})"


@dataclass(frozen=True)
class Finding:
    stack: str
    check_id: str
    check_name: str
    resource: str
    result: str  # PASSED | FAILED | WAIVED | UNKNOWN (checkov could not evaluate the value)
    source: str  # checkov | eventform
    fix: str
    entry: CatalogEntry
    path: str = ""
    line: int = 1
    detail: str = ""
    waiver: Waiver | None = None


@dataclass(frozen=True)
class WaiverUse:
    environment: str
    waiver: Waiver
    matched: int
    expired: bool


@dataclass(frozen=True)
class ScanReport:
    findings: tuple[Finding, ...]
    waivers: tuple[WaiverUse, ...]
    resources: dict[str, int]
    checkov_version: str
    seconds: float
    reports: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.result == FAILED)

    @property
    def unknowns(self) -> tuple[Finding, ...]:
        """Checks checkov could not decide (reported, never dropped; they do not fail the scan)."""
        return tuple(f for f in self.findings if f.result == UNKNOWN)

    @property
    def expired(self) -> tuple[WaiverUse, ...]:
        return tuple(w for w in self.waivers if w.expired)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.expired

    @property
    def check_ids(self) -> tuple[str, ...]:
        return tuple(sorted({f.check_id for f in self.findings}))


# ------------------------------------------------------------------------------------------------------------------
# checkov in worker processes
# ------------------------------------------------------------------------------------------------------------------
def checkov_copy(config: dict[str, Any]) -> dict[str, Any]:
    """checkov's terraform_json parser rejects scalar settings in the ``terraform`` block (``required_version``);
    nothing checkov checks lives there, so the scanned copy drops them."""
    copy = dict(config)
    if isinstance(copy.get("terraform"), dict):
        copy["terraform"] = {k: v for k, v in copy["terraform"].items() if isinstance(v, dict)}
    return copy


def worker_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENVIRONMENT}
    env.update(OFFLINE_ENVIRONMENT)
    return env


def checkov_python(root: Path) -> str:
    """The interpreter of checkov's own environment: ``$EVENTFORM_SCAN_PYTHON``, else the project's
    ``.cache/scan-venv`` (``make setup``), else this one if it has checkov. checkov pins boto3 and friends exactly, so
    it never shares the project's environment."""
    configured = os.environ.get("EVENTFORM_SCAN_PYTHON")
    candidate = Path(configured) if configured else root / ".cache" / "scan-venv" / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    if not configured and importlib.util.find_spec("checkov") is not None:
        return sys.executable
    raise ScanError(
        f"checkov is not installed: no {candidate}; run `make setup` (it creates .cache/scan-venv from "
        "tools/scan-requirements.txt) or set EVENTFORM_SCAN_PYTHON to a Python that has checkov"
    )


def run_checkov(policies: Path, stack_files: list[Path], jobs: int, python: str | None = None) -> dict[str, Any]:
    """Scan copies of the stacks in ``jobs`` worker processes (each: one checkov start-up, one graph per stack), run
    by ``python`` (default: :func:`checkov_python` of the project that holds ``policies``)."""
    python = python or checkov_python(policies.resolve().parents[1])
    with tempfile.TemporaryDirectory(prefix="eventform-scan-") as scratch:
        copies: list[Path] = []
        for stack_file in stack_files:
            target = Path(scratch) / "stacks" / stack_file.parent.name / "cdk.tf.json"
            target.parent.mkdir(parents=True)
            target.write_text(json.dumps(checkov_copy(json.loads(stack_file.read_text())), indent=2))
            copies.append(target)
        by_size = sorted(copies, key=lambda p: p.stat().st_size, reverse=True)
        groups = [by_size[i :: max(1, jobs)] for i in range(max(1, jobs))]
        running = []
        for index, group in enumerate(g for g in groups if g):
            out = Path(scratch) / f"result-{index}.json"
            worker = "eventform.compliance.checkov_worker"
            command = [python, "-m", worker, str(out), str(policies), *map(str, group)]
            process = subprocess.Popen(
                command, env=worker_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            running.append((process, out))
        merged: dict[str, Any] = {"records": [], "parsing_errors": [], "checkov_version": "?"}
        for process, out in running:
            stdout, stderr = process.communicate()
            if process.returncode != 0 or not out.exists():
                raise ScanError(f"checkov failed (exit {process.returncode}):\n{stderr or stdout}")
            result = json.loads(out.read_text())
            merged["records"] += result["records"]
            merged["parsing_errors"] += result["parsing_errors"]
            merged["checkov_version"] = result["checkov_version"]
    if merged["parsing_errors"]:
        raise ScanError("checkov could not parse: " + "; ".join(merged["parsing_errors"]))
    return merged


# ------------------------------------------------------------------------------------------------------------------
# Resource -> catalog entry
# ------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StackIndex:
    """What the scan needs to know about each resource of one stack: construct path, tags and line."""

    name: str
    config: dict[str, Any]
    lines: dict[str, int]

    @classmethod
    def read(cls, stack_file: Path) -> StackIndex:
        text = stack_file.read_text()
        lines: dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            match = KEY_LINE.match(line)
            if match:
                lines.setdefault(match.group(1), number)
        return cls(stack_file.parent.name, json.loads(text), lines)

    def address(self, reported: str) -> str:
        """checkov's terraform_json runner reports Python-check results as ``resource.<name>`` (it drops the type):
        logical ids are unique within a stack, so the full ``<type>.<name>`` address is recovered here."""
        prefix, _, key = reported.partition(".")
        if prefix != "resource":
            return reported
        for resource_type, items in sorted(self.config.get("resource", {}).items()):
            if key in items:
                return f"{resource_type}.{key}"
        return reported

    def resource(self, address: str) -> dict[str, Any]:
        resource_type, _, key = address.partition(".")
        return self.config.get("resource", {}).get(resource_type, {}).get(key, {})

    def path(self, address: str) -> str:
        return self.resource(address).get("//", {}).get("metadata", {}).get("path", "")

    def line(self, address: str) -> int:
        return self.lines.get(address.partition(".")[2], 1)

    @property
    def resource_count(self) -> int:
        return sum(len([k for k in v if k != "//"]) for v in self.config.get("resource", {}).values())


def catalog_entry(catalog: Catalog, stack: str, construct_path: str, tags: dict[str, Any]) -> CatalogEntry:
    """The catalog entry that produced a resource, from the stack name (<env>-<domain>) and its construct path."""
    env, _, domain = stack.partition("-")
    segment = construct_path.split("/")[1] if construct_path.count("/") >= 1 else ""
    domain_names = {d.name for d in catalog.domains}
    if domain == "platform":
        if segment.startswith("key-") and segment[4:] in domain_names:
            return CatalogEntry("key", segment[4:], f"catalog/{segment[4:]}.yaml")
        return CatalogEntry(
            "platform", "alarm topic" if segment.startswith("alarm") else segment or env, f"environments/{env}.yaml"
        )
    if domain not in domain_names:
        return CatalogEntry("domain", str(tags.get("domain", domain)), f"catalog/{domain}.yaml")
    known = catalog.domain(domain)
    file = f"catalog/{domain}.yaml"
    for consumer in sorted(known.consumers, key=lambda c: len(c.name), reverse=True):
        prefix = f"consumer-{consumer.name}"
        if segment == prefix or segment.startswith(prefix + "-"):
            return CatalogEntry("consumer", f"{consumer.qualified_name} <- {', '.join(consumer.events)}", file)
    if segment.startswith("topic"):
        events = ", ".join(e.name for e in known.events) or "no events"
        return CatalogEntry("topic", f"{domain} ({events})", file)
    return CatalogEntry("domain", domain, file)


# ------------------------------------------------------------------------------------------------------------------
# The scan
# ------------------------------------------------------------------------------------------------------------------
def select_stacks(config: ScanConfig) -> list[Path]:
    if not config.stacks_dir.is_dir():
        raise ScanError(f"{config.stacks_dir} does not exist: run `eventform synth` (or `make synth`) first")
    interrupted = interrupted_install(config.stacks_dir.parent)
    if interrupted:
        raise ScanError(
            f"the last synth into {config.stacks_dir.parent} was killed while moving stacks into place "
            f"({', '.join(interrupted)} may predate the catalog); fix: run `eventform synth` again, then scan"
        )
    # Hidden folders are never stacks: a synth's retired `.dev-orders.old` or staging folders.
    files = sorted(f for f in config.stacks_dir.glob("*/cdk.tf.json") if not f.parent.name.startswith("."))
    chosen = [
        f
        for f in files
        if (not config.stacks or f.parent.name in config.stacks)
        and (not config.environments or f.parent.name.split("-", 1)[0] in config.environments)
    ]
    missing = sorted(set(config.stacks) - {f.parent.name for f in files})
    if missing or not chosen:
        raise ScanError(f"no synthesized stack {', '.join(missing) or 'matches'}; run `eventform synth` first")
    return chosen


def _waive(finding: Finding, environment: Environment | None, today: date, uses: Counter[tuple[str, int]]) -> Finding:
    if finding.result != FAILED or environment is None:
        return finding
    for index, waiver in enumerate(environment.waivers):
        if waiver.matches(finding.check_id, finding.resource, finding.path, f"{finding.stack}/{finding.resource}"):
            uses[(environment.name, index)] += 1
            if waiver.expired(today):
                continue  # an expired waiver no longer hides anything; it also fails the scan on its own
            return Finding(**{**finding.__dict__, "result": WAIVED, "waiver": waiver})
    return finding


def scan(config: ScanConfig, catalog: Catalog, environments: tuple[Environment, ...]) -> ScanReport:
    """Scan under the output's lock, so no synth replaces stacks while checkov reads them."""
    with output_lock(config.stacks_dir.parent, "scan"):
        return _scan(config, catalog, environments)


def _scan(config: ScanConfig, catalog: Catalog, environments: tuple[Environment, ...]) -> ScanReport:
    started = time.perf_counter()
    stack_files = select_stacks(config)
    indexes = {f.parent.name: StackIndex.read(f) for f in stack_files}
    by_env = {e.name: e for e in environments}
    checkov = run_checkov(config.policies / "resource", stack_files, config.jobs, checkov_python(config.root))
    stack_checks = load_stack_checks(config.policies / "stack")

    def finding(
        stack: str, check_id: str, name: str, resource: str, result: str, source: str, fix: str, detail: str = ""
    ) -> Finding:
        index = indexes[stack]
        path = index.path(resource)
        tags = index.resource(resource).get("tags", {})
        return Finding(
            stack,
            check_id,
            name,
            resource,
            result,
            source,
            fix,
            catalog_entry(catalog, stack, path, tags),
            path,
            index.line(resource),
            detail,
        )

    raw: list[Finding] = []
    for record in checkov["records"]:
        if record["result"] not in (PASSED, FAILED, UNKNOWN):
            continue
        fix = record["guideline"] or BUILTIN_FIXES.get(record["check_id"], f"make it so: {record['check_name']}")
        if record["result"] == UNKNOWN:
            fix = UNKNOWN_FIX
        raw.append(
            finding(
                record["stack"],
                record["check_id"],
                record["check_name"],
                indexes[record["stack"]].address(record["resource"]),
                record["result"],
                "checkov",
                fix,
            )
        )
    for stack, index in indexes.items():
        view = StackView(stack, index.config, by_env.get(stack.split("-", 1)[0]))
        for check, result in run_stack_checks(stack_checks, view):
            raw.append(
                finding(
                    stack,
                    check.id,
                    check.name,
                    result.resource,
                    result.result,
                    "eventform",
                    check.guideline,
                    result.detail,
                )
            )
    for stack, index in indexes.items():
        raw.extend(_iam_findings(stack, index, by_env.get(stack.split("-", 1)[0]), finding))
    uses: Counter[tuple[str, int]] = Counter()
    findings = sorted(
        (_waive(f, by_env.get(f.stack.split("-", 1)[0]), config.today, uses) for f in raw),
        key=lambda f: (f.stack, f.check_id, f.resource),
    )
    scanned_envs = sorted({s.split("-", 1)[0] for s in indexes})
    waivers = tuple(
        WaiverUse(name, waiver, uses[(name, i)], waiver.expired(config.today))
        for name in scanned_envs
        if name in by_env
        for i, waiver in enumerate(by_env[name].waivers)
    )
    return ScanReport(
        findings=tuple(findings),
        waivers=waivers,
        resources={s: i.resource_count for s, i in sorted(indexes.items())},
        checkov_version=checkov["checkov_version"],
        seconds=time.perf_counter() - started,
    )


IAM_CHECK = "CKV_EVF_201"
IAM_CHECK_NAME = "IAM policy documents pass parliament (actions, resource types, condition keys)"
KNOWN_GOOD_EXPIRY = date(9999, 12, 31)


def _iam_findings(stack: str, index: StackIndex, environment: Environment | None, finding: Any) -> list[Finding]:
    """One result per generated policy document: FAILED with parliament's issues, WAIVED (by eventform, with the
    reason) where every issue is one of its known-good patterns, PASSED otherwise."""
    if environment is None:
        return []
    by_document: dict[str, list[iam_lint.IamFinding]] = {}
    for found in iam_lint.lint_stack(stack, index.config, environment.region, environment.account_id):
        by_document.setdefault(found.resource, []).append(found)
    results = []
    for address in iam_lint.document_addresses(index.config):
        found = by_document.get(address, [])
        failing = [f for f in found if f.failed]
        if failing:
            detail = "; ".join(sorted({f"{f.issue} {f.detail}" for f in failing}))
            results.append(
                finding(stack, IAM_CHECK, IAM_CHECK_NAME, address, FAILED, "eventform", IAM_FIX, detail[:600])
            )
        elif found:
            reasons = "; ".join(sorted({f"{f.issue}: {f.waived_by}" for f in found}))
            accepted = finding(stack, IAM_CHECK, IAM_CHECK_NAME, address, WAIVED, "eventform", IAM_FIX, reasons)
            waiver = Waiver(IAM_CHECK, address, "eventform", f"known-good pattern: {reasons}", KNOWN_GOOD_EXPIRY)
            results.append(Finding(**{**accepted.__dict__, "waiver": waiver}))
        else:
            results.append(finding(stack, IAM_CHECK, IAM_CHECK_NAME, address, PASSED, "eventform", IAM_FIX))
    return results


IAM_FIX = (
    "give each action the resource type AWS documents for it (an action without resource-level permissions takes "
    "only '*'), use condition keys the action supports, and spell actions as AWS does"
)


__all__ = [
    "UNKNOWN",
    "CatalogEntry",
    "Finding",
    "ScanConfig",
    "ScanError",
    "ScanReport",
    "WaiverUse",
    "catalog_entry",
    "scan",
]
