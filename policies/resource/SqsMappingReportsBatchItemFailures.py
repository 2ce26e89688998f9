"""CKV_EVF_5: an SQS event source mapping reports batch item failures, so one failed message is retried alone
instead of the whole batch (Powertools' process_partial_response returns exactly that response)."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import as_list, value


class SqsMappingReportsBatchItemFailures(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SQS event source mappings report batch item failures",
            id="CKV_EVF_5",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_lambda_event_source_mapping"],
            guideline='set function_response_types = ["ReportBatchItemFailures"] and return the partial batch '
            "response from the handler",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        source = str(value(conf, "event_source_arn") or "")
        if ":sqs:" not in source and "aws_sqs_queue." not in source:
            return CheckResult.UNKNOWN  # streams and other sources have their own failure handling
        types = as_list(conf.get("function_response_types"))
        if types and isinstance(types[0], list):
            types = types[0]
        return CheckResult.PASSED if "ReportBatchItemFailures" in types else CheckResult.FAILED


check = SqsMappingReportsBatchItemFailures()
