"""The IAM linter (parliament) in eventform scan: a wrong action/resource pair, an unknown action or a misplaced
wildcard fails; eventform's known-good patterns pass only where they apply; every synthesized prod document passes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eventform.catalog.loader import load
from eventform.compliance import iam_lint
from eventform.compliance.scan import IAM_CHECK, ScanConfig, scan
from eventform.synthesis.app import SynthResult
from tests.eventform.compliance.test_scan import TODAY

REGION, ACCOUNT = "eu-west-1", "333333333333"


def lint(kind: str, *statements: dict) -> list[iam_lint.IamFinding]:
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return iam_lint.lint_document("prod-x", "aws_iam_role_policy.x", kind, document, REGION, ACCOUNT)


def failing(findings: list[iam_lint.IamFinding]) -> set[str]:
    return {f.issue for f in findings if f.failed}


def test_a_wrong_action_resource_pair_fails() -> None:
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
    assert failing(lint("identity", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": queue})) == {
        "RESOURCE_MISMATCH"
    }
    stream = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t/stream/2025-01-01T00-00-00.000"
    # the review's finding: dynamodb:ListStreams takes only "*"
    assert "RESOURCE_MISMATCH" in failing(
        lint("identity", {"Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": stream})
    )
    assert failing(lint("identity", {"Effect": "Allow", "Action": "sqs:SendMessages", "Resource": queue})) == {
        "UNKNOWN_ACTION"
    }


def test_terraform_references_are_linted_as_the_arns_they_become() -> None:
    reference = "${aws_dynamodb_table.consumer-x_table_1A2B3C4D.stream_arn}"
    good = {"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords"], "Resource": reference}
    assert failing(lint("identity", good)) == set()
    with pytest.raises(KeyError, match="no stand-in ARN"):  # an unknown reference is never silently skipped
        lint("identity", {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "${aws_foo.x.arn}"})


def test_known_good_patterns_are_accepted_only_where_they_apply() -> None:
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    accepted = lint("key", root)
    assert accepted and not failing(accepted) and all("key policy" in f.waived_by for f in accepted)
    # the same "*" in a role's policy is a finding
    assert "RESOURCE_STAR" in failing(lint("identity", {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}))
    xray = {"Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": "*"}
    assert not failing(lint("identity", xray))
    trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert not failing(lint("trust", trust))  # a trust policy names no Resource


def test_every_generated_prod_document_passes(stack, synthesized: SynthResult) -> None:
    documents = 0
    for planned in synthesized.stacks:
        if not planned.name.startswith("prod-"):
            continue
        config = stack(planned.name).config
        documents += len(iam_lint.document_addresses(config))
        found = list(iam_lint.lint_stack(planned.name, config, REGION, ACCOUNT))
        assert [(f.resource, f.issue, f.detail) for f in found if f.failed] == []
    assert documents >= 40


def test_scan_fails_a_role_policy_with_a_wrong_pair(
    project_root: Path, synthesized: SynthResult, tmp_path: Path
) -> None:
    stacks = tmp_path / "stacks"
    shutil.copytree(synthesized.outdir / "stacks" / "prod-notifications", stacks / "prod-notifications")
    stack_file = stacks / "prod-notifications" / "cdk.tf.json"
    config = json.loads(stack_file.read_text())
    (key, policy), *_ = config["resource"]["aws_iam_role_policy"].items()
    document = json.loads(policy["policy"])
    document["Statement"].append(
        {"Sid": "Wrong", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"}
    )
    policy["policy"] = json.dumps(document, sort_keys=True)
    stack_file.write_text(json.dumps(config))
    catalog, environments = load(project_root)
    report = scan(ScanConfig(project_root, stacks, tmp_path / "reports", TODAY), catalog, environments)
    (failure,) = [f for f in report.failures if f.check_id == IAM_CHECK]
    assert failure.resource == f"aws_iam_role_policy.{key}" and "RESOURCE_MISMATCH" in failure.detail
    assert "resource type AWS documents" in failure.fix
