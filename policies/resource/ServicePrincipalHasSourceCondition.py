"""CKV_EVF_3: a queue or topic policy that admits an AWS service principal pins the caller with aws:SourceArn or
aws:SourceAccount, so another account's resource cannot use the service as a confused deputy."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import condition_keys, document, principals, statements

SOURCE_KEYS = {"aws:sourcearn", "aws:sourceaccount"}


class ServicePrincipalHasSourceCondition(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Queue and topic policies admitting a service principal carry aws:SourceArn/aws:SourceAccount",
            id="CKV_EVF_3",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_sqs_queue", "aws_sqs_queue_policy", "aws_sns_topic_policy"],
            guideline="add a Condition on aws:SourceArn (the sending topic, rule or bucket) or aws:SourceAccount to "
            "every Allow statement whose Principal is a Service",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        policy = document(conf)
        if policy is None:
            return CheckResult.UNKNOWN
        for statement in statements(policy):
            _, services = principals(statement)
            if statement.get("Effect") == "Allow" and services and not condition_keys(statement) & SOURCE_KEYS:
                return CheckResult.FAILED
        return CheckResult.PASSED


check = ServicePrincipalHasSourceCondition()
