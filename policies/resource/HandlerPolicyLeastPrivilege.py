"""CKV_EVF_8: handler IAM policies name their actions (no ``*`` or ``service:*``) and their resources (no ``*``),
except for actions AWS does not scope to resources, listed in RESOURCE_WILDCARD_ALLOWED (the documented allow-list)."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import as_list, document, statements

# Actions without resource-level permissions: AWS only accepts "Resource": "*" for them.
RESOURCE_WILDCARD_ALLOWED: frozenset[str] = frozenset(
    {
        "cloudwatch:putmetricdata",
        "dynamodb:liststreams",
        "ec2:createnetworkinterface",
        "ec2:deletenetworkinterface",
        "ec2:describenetworkinterfaces",
        "ec2:assignprivateipaddresses",
        "ec2:unassignprivateipaddresses",
        # Step Functions: log delivery of a state machine's role, and task tokens answered by a task consumer
        "logs:createlogdelivery",
        "logs:deletelogdelivery",
        "logs:describeloggroups",
        "logs:describeresourcepolicies",
        "logs:getlogdelivery",
        "logs:listlogdeliveries",
        "logs:putresourcepolicy",
        "logs:updatelogdelivery",
        "states:sendtaskfailure",
        "states:sendtaskheartbeat",
        "states:sendtasksuccess",
        "xray:putsegments",
        "xray:puttelemetryrecords",
        "xray:puttracesegments",
        "xray:getsamplingrules",
        "xray:getsamplingtargets",
    }
)


def _wildcard_action(action: str) -> bool:
    return action == "*" or action.endswith(":*")


class HandlerPolicyLeastPrivilege(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Handler IAM policies: no wildcard action, no * resource outside the allow-list",
            id="CKV_EVF_8",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_policy", "aws_iam_role_policy"],
            guideline="list the exact actions and resource ARNs the handler needs; Resource * only for actions in "
            "RESOURCE_WILDCARD_ALLOWED (policies/resource/HandlerPolicyLeastPrivilege.py)",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        policy = document(conf)
        if policy is None:
            return CheckResult.UNKNOWN
        for statement in statements(policy):
            if statement.get("Effect") != "Allow":
                continue
            actions = [str(a).lower() for a in as_list(statement.get("Action"))]
            if "NotAction" in statement or any(map(_wildcard_action, actions)):
                return CheckResult.FAILED
            if "*" in as_list(statement.get("Resource")) and not set(actions) <= RESOURCE_WILDCARD_ALLOWED:
                return CheckResult.FAILED
        return CheckResult.PASSED


check = HandlerPolicyLeastPrivilege()
