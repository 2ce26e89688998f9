"""CKV_EVF_4: queue and topic policies deny every request made without TLS (aws:SecureTransport = false)."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import as_list, document, principals, statements


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    aws, _ = principals(statement)
    if statement.get("Effect") != "Deny" or "*" not in aws:
        return False
    for operator, body in (statement.get("Condition") or {}).items():
        if operator.lower().startswith("bool") and isinstance(body, dict):
            for key, expected in body.items():
                if key.lower() == "aws:securetransport" and [str(v).lower() for v in as_list(expected)] == ["false"]:
                    return True
    return False


class PolicyDeniesInsecureTransport(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Queue and topic policies deny non-TLS access",
            id="CKV_EVF_4",
            categories=[CheckCategories.ENCRYPTION],
            # eventform writes queue policies inline (aws_sqs_queue.policy); separate policy resources count too.
            supported_resources=["aws_sqs_queue", "aws_sqs_queue_policy", "aws_sns_topic_policy"],
            guideline="add modules.policies.deny_insecure_transport(...): Deny, Principal *, "
            'Condition {"Bool": {"aws:SecureTransport": "false"}}',
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        policy = document(conf)
        if policy is None:
            # A queue without an inline policy admits plain HTTP unless a separate policy resource denies it.
            return (
                CheckResult.FAILED
                if self.entity_type == "aws_sqs_queue" and "policy" not in conf
                else CheckResult.UNKNOWN
            )
        return CheckResult.PASSED if any(map(_denies_plain_http, statements(policy))) else CheckResult.FAILED


check = PolicyDeniesInsecureTransport()
