"""CKV_EVF_1: a consumer queue hands poison messages to a DLQ after 1..10 receives, so one bad message never
blocks the rest and a failing consumer does not retry for days."""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import is_reference, value

MIN_RECEIVES, MAX_RECEIVES = 1, 10
DLQ_SUFFIXES = ("-dlq", "-dlq.fifo")


class QueueRedrivesToDLQ(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Consumer queue has a redrive policy to a DLQ with maxReceiveCount 1..10",
            id="CKV_EVF_1",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_sqs_queue", "aws_sqs_queue_redrive_policy"],
            guideline="set queue.max_receive_count (1..10) on the consumer in the catalog; every consumer queue "
            "must redrive to its -dlq",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        name = str(value(conf, "name") or "")
        if "redrive_allow_policy" in conf or name.endswith(DLQ_SUFFIXES):
            return CheckResult.PASSED  # a dead-letter queue is the end of the line
        raw = value(conf, "redrive_policy")
        if raw is None:
            return CheckResult.FAILED
        if is_reference(raw):
            return CheckResult.UNKNOWN
        try:
            policy = raw if isinstance(raw, dict) else json.loads(raw)
        except ValueError:
            return CheckResult.FAILED
        if not policy.get("deadLetterTargetArn"):
            return CheckResult.FAILED
        try:
            receives = int(policy.get("maxReceiveCount", 0))
        except (TypeError, ValueError):
            return CheckResult.FAILED
        return CheckResult.PASSED if MIN_RECEIVES <= receives <= MAX_RECEIVES else CheckResult.FAILED


check = QueueRedrivesToDLQ()
