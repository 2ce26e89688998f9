"""CKV_EVF_14: a Step Functions state machine logs to CloudWatch Logs (level ALL, ERROR or FATAL, never OFF, into a
log group) and traces with X-Ray: a failed execution can then be found and followed across its tasks."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import block, value

LOGGED_LEVELS = ("ALL", "ERROR", "FATAL")


class StateMachineLoggedAndTraced(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Step Functions state machines log to CloudWatch Logs and trace with X-Ray",
            id="CKV_EVF_14",
            categories=[CheckCategories.LOGGING],
            supported_resources=["aws_sfn_state_machine"],
            guideline='set logging_configuration { level = "ALL" (or ERROR, FATAL), log_destination = "<log group '
            'ARN>:*" } and tracing_configuration { enabled = true }',
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        logging = block(conf, "logging_configuration") or {}
        tracing = block(conf, "tracing_configuration") or {}
        logged = value(logging, "level") in LOGGED_LEVELS and bool(value(logging, "log_destination"))
        traced = value(tracing, "enabled") is True
        return CheckResult.PASSED if logged and traced else CheckResult.FAILED


check = StateMachineLoggedAndTraced()
