"""CKV_EVF_2: SQS queues and SNS topics are encrypted at rest (a KMS key, or SSE-SQS for queues).

CloudWatch log groups are always encrypted by the service; where the environment requires a customer-managed key
they must name one, which CKV_EVF_102 checks with the environment's knowledge."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import value


class QueueTopicEncryptedAtRest(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SQS queues and SNS topics are encrypted at rest",
            id="CKV_EVF_2",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_sqs_queue", "aws_sns_topic"],
            guideline="keep the generator's encryption (modules/queue.py, modules/topic.py): kms_master_key_id, or "
            "sqs_managed_sse_enabled for queues in service-managed environments",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if value(conf, "kms_master_key_id"):
            return CheckResult.PASSED
        if self.entity_type == "aws_sqs_queue" and value(conf, "sqs_managed_sse_enabled") in (True, "true"):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = QueueTopicEncryptedAtRest()
