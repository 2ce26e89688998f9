"""eventform scan end to end on the synthesized sample catalog: verdict, catalog entries, waivers, reports, offline."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest

from eventform.catalog.loader import load
from eventform.compliance.reports import write_reports
from eventform.compliance.scan import UNKNOWN, WAIVED, ScanConfig, ScanReport, run_checkov, scan
from eventform.synthesis.app import SynthResult

TODAY = date(2026, 1, 15)


PROD_WAIVED = {
    *("CKV2_AWS_34", "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_272", "CKV_AWS_18", "CKV_AWS_144"),
    "CKV_AWS_285",  # workflows log every transition without execution data (payloads carry personal data)
    "CKV2_AWS_62",  # the orders archive bucket (written by Firehose only)
}
# the HTTP ingestion endpoint's stage and method settings (caching, client certificate, AnonymousIpList)
INGESTION_WAIVED = ("CKV_AWS_120", "CKV_AWS_225", "CKV2_AWS_51", "CKV2_AWS_77")


def config(root: Path, stacks_dir: Path, reports: Path, **extra) -> ScanConfig:
    return ScanConfig(root=root, stacks_dir=stacks_dir, reports_dir=reports, today=TODAY, **extra)


@pytest.fixture(scope="session")
def prod_scan(project_root: Path, synthesized: SynthResult) -> ScanReport:
    catalog, environments = load(project_root)
    return scan(
        config(project_root, synthesized.outdir / "stacks", project_root / "reports", environments=("prod",)),
        catalog,
        environments,
    )


def test_prod_passes_every_check_or_is_waived(prod_scan: ScanReport) -> None:
    assert prod_scan.ok, [(f.check_id, f.resource) for f in prod_scan.failures]
    assert set(prod_scan.resources) == {
        f"prod-{d}" for d in ("platform", "orders", "payments", "users", "inventory", "notifications")
    }
    assert {"CKV_AWS_27", "CKV_EVF_1", "CKV_EVF_10", "CKV_EVF_102", "CKV_EVF_107"} <= set(prod_scan.check_ids)
    waived = {f.check_id for f in prod_scan.findings if f.result == WAIVED}
    # SSM locators, the Lambda checks that do not fit queue-fed functions, S3 access logs and replication (each
    # waiver says why).
    # and eventform's IAM linter accepts its known-good patterns (key policies' "*", kms:ResourceAliases...) by name
    assert waived == PROD_WAIVED | set(INGESTION_WAIVED) | {"CKV_EVF_201"}
    known_good = [f for f in prod_scan.findings if f.check_id == "CKV_EVF_201" and f.result == WAIVED]
    assert all(f.waiver and f.waiver.owner == "eventform" and "known-good" in f.waiver.reason for f in known_good)
    assert [(u.environment, u.waiver.check, u.expired) for u in prod_scan.waivers] == [
        ("prod", check, False)
        for check in (
            "CKV2_AWS_34",
            "CKV_AWS_115",
            "CKV_AWS_116",
            "CKV_AWS_117",
            "CKV_AWS_272",
            "CKV_AWS_18",
            "CKV_AWS_144",
            "CKV_AWS_285",
            "CKV2_AWS_62",
            *INGESTION_WAIVED,
        )
    ]
    assert "CKV_AWS_338" in prod_scan.check_ids  # a year of logs in prod: passes, not waived


def test_findings_name_their_catalog_entry(prod_scan: ScanReport) -> None:
    queue = next(
        f
        for f in prod_scan.findings
        if f.check_id == "CKV_EVF_1" and f.stack == "prod-notifications" and f.path.endswith("/queue")
    )
    assert queue.entry.kind == "consumer"
    assert queue.entry.name.startswith("notifications/send-email <- orders/order.created")
    assert queue.entry.file == "catalog/notifications.yaml"
    topic = next(f for f in prod_scan.findings if f.stack == "prod-orders" and f.resource.startswith("aws_sns_topic."))
    assert topic.entry.kind == "topic" and "order.created" in topic.entry.name


def test_reports_are_junit_and_sarif(
    prod_scan: ScanReport, project_root: Path, synthesized: SynthResult, tmp_path: Path
) -> None:
    junit, sarif = write_reports(prod_scan, tmp_path, synthesized.outdir / "stacks", project_root)
    suites = ElementTree.parse(junit).getroot()
    assert {s.get("name") for s in suites} == set(prod_scan.resources)
    assert suites.findall(".//skipped")  # the waived SSM findings
    document = json.loads(sarif.read_text())
    assert document["version"] == "2.1.0"
    results = document["runs"][0]["results"]
    errors = [r for r in results if r["level"] == "error"]
    assert errors and all(r["suppressions"][0]["justification"] for r in errors)
    notes = [r for r in results if r["level"] == "note"]  # what checkov could not evaluate: listed, not dropped
    assert len(notes) == len(prod_scan.unknowns)
    again = write_reports(prod_scan, tmp_path / "again", synthesized.outdir / "stacks", project_root)
    assert again[1].read_text() == sarif.read_text()  # deterministic


def test_a_broken_stack_fails_with_resource_entry_and_fix(
    project_root: Path, synthesized: SynthResult, tmp_path: Path
) -> None:
    stacks = tmp_path / "stacks"
    source = synthesized.outdir / "stacks" / "prod-notifications"
    shutil.copytree(source, stacks / "prod-notifications")
    stack_file = stacks / "prod-notifications" / "cdk.tf.json"
    stack = json.loads(stack_file.read_text())
    alarms = stack["resource"]["aws_cloudwatch_metric_alarm"]
    for key in [k for k in alarms if "dlq-alarm" in k]:
        del alarms[key]
    queues = stack["resource"]["aws_sqs_queue"]
    main_queue = next(k for k in queues if "_queue_" in k)
    queues[main_queue].pop("redrive_policy")
    stack_file.write_text(json.dumps(stack, indent=2))
    catalog, environments = load(project_root)
    report = scan(config(project_root, stacks, tmp_path / "reports"), catalog, environments)
    assert not report.ok
    failed = {(f.check_id, f.resource) for f in report.failures}
    assert ("CKV_EVF_1", f"aws_sqs_queue.{main_queue}") in failed
    dlq_failure = next(f for f in report.failures if f.check_id == "CKV_EVF_107")
    assert dlq_failure.entry.name.startswith("notifications/send-email")
    assert "dlq-alarm" in dlq_failure.fix


def test_values_checkov_cannot_evaluate_are_reported_unknown_not_dropped(
    project_root: Path, synthesized: SynthResult, tmp_path: Path
) -> None:
    """checkov returns UNKNOWN for a value it cannot read (a queue policy whose ARNs are Terraform references, a
    malformed document) and its report drops those; the scan lists each one."""
    stacks = tmp_path / "stacks"
    shutil.copytree(synthesized.outdir / "stacks" / "prod-notifications", stacks / "prod-notifications")
    stack_file = stacks / "prod-notifications" / "cdk.tf.json"
    stack = json.loads(stack_file.read_text())
    queues = stack["resource"]["aws_sqs_queue"]
    malformed = sorted(k for k in queues if "policy" in queues[k])[0]
    queues[malformed]["policy"] = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"'  # cut off
    stack_file.write_text(json.dumps(stack, indent=2))
    checkov = run_checkov(project_root / "policies" / "resource", [stack_file], 1)
    raw = [r for r in checkov["records"] if r["result"] == UNKNOWN]
    catalog, environments = load(project_root)
    report = scan(config(project_root, stacks, tmp_path / "reports"), catalog, environments)
    unknown = {(f.check_id, f.resource.removeprefix("aws_sqs_queue.")) for f in report.unknowns}
    assert ("CKV_AWS_168", malformed) in unknown and len(report.unknowns) == len(raw) > 0
    assert all(f.result == UNKNOWN and "could not evaluate" in f.fix for f in report.unknowns)
    junit, _ = write_reports(report, tmp_path / "reports", stacks, project_root)
    assert f"CKV_AWS_168 aws_sqs_queue.{malformed}" in junit.read_text() and "UNKNOWN:" in junit.read_text()


def test_expired_waivers_fail_the_scan(project_root: Path, synthesized: SynthResult, tmp_path: Path) -> None:
    catalog, environments = load(project_root)
    later = ScanConfig(project_root, synthesized.outdir / "stacks", tmp_path, date(2030, 1, 1), stacks=("prod-orders",))
    report = scan(later, catalog, environments)
    assert not report.ok
    assert {u.waiver.check for u in report.expired} == PROD_WAIVED | set(INGESTION_WAIVED)
    # no longer hidden: the topic's, those of the stream reader's function (orders/order-metrics), the archive
    # bucket's (access logs, replication, notifications) and the ingestion endpoint's (orders/partner-webhook)
    assert {f.check_id for f in report.failures} == {
        *("CKV2_AWS_34", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_272"),
        *("CKV_AWS_18", "CKV_AWS_144", "CKV2_AWS_62"),
        *INGESTION_WAIVED,
    }


def test_checkov_never_opens_a_network_connection(
    project_root: Path, synthesized: SynthResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitecustomize in the worker records (and refuses) every non-local socket connect."""
    guard = tmp_path / "guard"
    guard.mkdir()
    log = tmp_path / "connections.log"
    (guard / "sitecustomize.py").write_text(
        "import socket\n"
        "_connect = socket.socket.connect\n"
        "def connect(self, address):\n"
        "    if self.family in (socket.AF_INET, socket.AF_INET6):\n"
        f"        open({str(log)!r}, 'a').write(repr(address) + '\\n')\n"
        "        raise OSError('network disabled by the eventform offline test')\n"
        "    return _connect(self, address)\n"
        "socket.socket.connect = connect\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(guard))
    result = run_checkov(
        project_root / "policies" / "resource",
        [synthesized.outdir / "stacks" / "prod-payments" / "cdk.tf.json"],
        jobs=1,
    )
    assert result["records"]
    assert not log.exists(), log.read_text()


def test_eventbridge_policies_run_on_every_target_bus_and_policy_and_pass(prod_scan: ScanReport) -> None:
    def results(check_id: str) -> list[str]:
        return [f.result for f in prod_scan.findings if f.check_id == check_id]

    assert len(results("CKV_EVF_6")) >= 10  # every aws_cloudwatch_event_target: retry policy + DLQ
    assert results("CKV_EVF_9") == ["PASSED"]  # the orders bus policy: accounts + org condition, no bare *
    assert len(results("CKV_EVF_106")) == 4  # orders, users, inventory, payments buses: each archived
    assert len(results("CKV_EVF_104")) >= 1  # the pushed release-stock function has an on-failure destination
    for check_id in ("CKV_EVF_6", "CKV_EVF_9", "CKV_EVF_106", "CKV_EVF_104"):
        assert set(results(check_id)) == {"PASSED"}, check_id
