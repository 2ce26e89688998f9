"""CKV_EVF_7: an asynchronous invocation config sends failed events somewhere (on-failure destination), because
Lambda drops an async event after its two retries otherwise. CKV_EVF_104 checks that every async consumer has one
(or a function DLQ)."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import block, value


class AsyncInvokeOnFailureDestination(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Lambda async invoke configs have an on-failure destination",
            id="CKV_EVF_7",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_lambda_function_event_invoke_config"],
            guideline="add destination_config { on_failure { destination = <SQS DLQ or SNS topic ARN> } }",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        destinations = block(conf, "destination_config")
        on_failure = block(destinations, "on_failure") if destinations else None
        return CheckResult.PASSED if on_failure and value(on_failure, "destination") else CheckResult.FAILED


check = AsyncInvokeOnFailureDestination()
