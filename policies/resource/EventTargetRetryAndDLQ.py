"""CKV_EVF_6: every EventBridge target has a retry policy and a dead-letter queue, so an event that cannot be
delivered is kept instead of being dropped after the default 24 hours of retries."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import block, value


class EventTargetRetryAndDLQ(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="EventBridge targets have a retry policy and a DLQ",
            id="CKV_EVF_6",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_cloudwatch_event_target"],
            guideline="add retry_policy {maximum_retry_attempts, maximum_event_age_in_seconds} and "
            "dead_letter_config {arn = <SQS DLQ>} to the target",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        retry = block(conf, "retry_policy")
        dead_letter = block(conf, "dead_letter_config")
        has_retry = bool(retry) and any(
            value(retry, key) is not None for key in ("maximum_retry_attempts", "maximum_event_age_in_seconds")
        )
        has_dlq = bool(dead_letter) and bool(value(dead_letter, "arn"))
        return CheckResult.PASSED if has_retry and has_dlq else CheckResult.FAILED


check = EventTargetRetryAndDLQ()
