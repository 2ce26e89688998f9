"""CKV_EVF_10: every taggable resource carries env, domain, owner and data-classification, so cost, ownership and
data handling can be traced from any resource back to its catalog entry."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import tags

REQUIRED_TAGS = ("env", "domain", "owner", "data-classification")
TAGGABLE = (
    "aws_sqs_queue",
    "aws_sns_topic",
    "aws_kms_key",
    "aws_cloudwatch_metric_alarm",
    "aws_ssm_parameter",
    "aws_lambda_function",
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_event_bus",
    "aws_cloudwatch_event_rule",
    "aws_iam_role",
    "aws_iam_policy",
    "aws_sfn_state_machine",
    "aws_pipes_pipe",
    "aws_dynamodb_table",
    "aws_s3_bucket",
    "aws_kinesis_stream",
    "aws_kinesis_firehose_delivery_stream",
)


class RequiredTags(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Resources carry the env, domain, owner and data-classification tags",
            id="CKV_EVF_10",
            categories=[CheckCategories.CONVENTION],
            supported_resources=list(TAGGABLE),
            guideline="pass EventformStack.tags(domain, owner, classification) to the construct that creates it",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        present = tags(conf)
        return CheckResult.PASSED if all(present.get(key) for key in REQUIRED_TAGS) else CheckResult.FAILED


check = RequiredTags()
