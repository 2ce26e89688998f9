"""CKV_EVF_11: a stream event source mapping (Kinesis, DynamoDB) handles a failing batch without stopping its shard:
bounded retries and record age (AWS's default for both is forever: one poison record would block the shard for
the stream's whole retention), bisection, a partial batch response, and an on-failure destination."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import as_list, block, value

STREAM_MARKERS = (":kinesis:", "aws_kinesis_stream.", ":dynamodb:", "aws_dynamodb_table.")


class StreamMappingBoundedFailures(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Stream event source mappings bound retries and age, bisect, report item failures, and dead-letter",
            id="CKV_EVF_11",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_lambda_event_source_mapping"],
            guideline="set maximum_retry_attempts (0..10000), maximum_record_age_in_seconds (60..604800), "
            'bisect_batch_on_function_error = true, function_response_types = ["ReportBatchItemFailures"] and '
            "destination_config.on_failure.destination_arn",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        source = str(value(conf, "event_source_arn") or "")
        if not any(marker in source for marker in STREAM_MARKERS):
            return CheckResult.UNKNOWN  # queues have their redrive policy (CKV_EVF_1, CKV_EVF_5)
        retries = value(conf, "maximum_retry_attempts")
        age = value(conf, "maximum_record_age_in_seconds")
        types = as_list(conf.get("function_response_types"))
        if types and isinstance(types[0], list):
            types = types[0]
        failure = block(block(conf, "destination_config") or {}, "on_failure") or {}
        bounded = isinstance(retries, int) and 0 <= retries <= 10_000 and isinstance(age, int) and age >= 60
        bisects = value(conf, "bisect_batch_on_function_error") is True
        dead_letters = bool(value(failure, "destination_arn"))
        ok = bounded and bisects and dead_letters and "ReportBatchItemFailures" in types
        return CheckResult.PASSED if ok else CheckResult.FAILED


check = StreamMappingBoundedFailures()
