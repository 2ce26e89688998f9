"""CKV_EVF_13: an eventform API (HTTP ingestion) lets no caller in unauthenticated and no body through unchecked,
and leaves a trace of every request: each method has an authorization (AWS_IAM, Cognito, a custom authorizer; not
NONE) and a request validator; each stage writes access logs and traces with X-Ray."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import block, value


class ApiMethodAuthorizedAndValidated(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="API methods are authorized and validate their requests; API stages log access and trace",
            id="CKV_EVF_13",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_api_gateway_method", "aws_api_gateway_stage"],
            guideline="methods: authorization AWS_IAM or COGNITO_USER_POOLS (never NONE) and request_validator_id; "
            "stages: access_log_settings (destination_arn, format) and xray_tracing_enabled = true",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if "http_method" in conf:  # aws_api_gateway_method
            authorization = str(value(conf, "authorization") or "NONE").upper()
            validated = bool(value(conf, "request_validator_id"))
            return CheckResult.PASSED if authorization != "NONE" and validated else CheckResult.FAILED
        logs = block(conf, "access_log_settings") or {}
        logged = bool(value(logs, "destination_arn")) and bool(value(logs, "format"))
        traced = value(conf, "xray_tracing_enabled") is True
        return CheckResult.PASSED if logged and traced else CheckResult.FAILED


check = ApiMethodAuthorizedAndValidated()
