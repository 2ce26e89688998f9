"""CKV_EVF_9: an event bus policy never grants a bare ``*`` principal: ``*`` is only allowed together with an
organisation condition (aws:PrincipalOrgID / aws:PrincipalOrgPaths), otherwise any AWS account may put events."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import condition_keys, document, principals, statements

ORGANISATION_KEYS = {"aws:principalorgid", "aws:principalorgpaths"}


class EventBusPolicyOrgCondition(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Event bus policies grant * only with an organisation condition",
            id="CKV_EVF_9",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_cloudwatch_event_bus_policy"],
            guideline='name the accounts in Principal, or add Condition {"StringEquals": {"aws:PrincipalOrgID": '
            '"o-..."}} to the statement granting "*"',
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        policy = document(conf)
        if policy is None:
            return CheckResult.UNKNOWN
        for statement in statements(policy):
            aws, _ = principals(statement)
            if statement.get("Effect") == "Allow" and "*" in aws and not condition_keys(statement) & ORGANISATION_KEYS:
                return CheckResult.FAILED
        return CheckResult.PASSED


check = EventBusPolicyOrgCondition()
