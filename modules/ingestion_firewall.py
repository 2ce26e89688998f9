"""The web ACL in front of an ingestion endpoint's stage: the body size limit (REST APIs have none of their own below
10 MB), AWS's known-bad-inputs rules, and its logs.

The size rule blocks a body larger than ``max_body`` with 413; a body larger than what the web ACL inspects
(``inspection_limit``, 16..64 KB, the smallest covering ``max_body``) counts as matching (``oversize_handling:
MATCH``), so no body over the limit gets through uninspected.
"""

from __future__ import annotations

from typing import Any

from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclAssociationConfigRequestBody,
    Wafv2WebAclRule,
    Wafv2WebAclRuleVisibilityConfig,
)
from cdktn_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktn_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
)
from constructs import Construct

TOO_LARGE = 413


def _visibility(metric: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def _rule(**settings: Any) -> Wafv2WebAclRule:
    """jsii converts a dict to a struct for a keyword argument, not inside a list: rules are built as structs."""
    visibility = Wafv2WebAclRuleVisibilityConfig(**settings.pop("visibility_config"))
    return Wafv2WebAclRule(visibility_config=visibility, **settings)


class BodyFirewall(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        stage_arn: str,
        max_body: int,
        inspection_limit: str,
        log_retention_days: int,
        kms_key: str | None,
        tags: dict[str, str],
    ) -> None:
        super().__init__(scope, id)
        size_rule = _rule(
            name="body-size",
            priority=0,
            action={"block": {"custom_response": {"response_code": TOO_LARGE}}},
            statement={
                "size_constraint_statement": {
                    "comparison_operator": "GT",
                    "size": max_body,
                    "field_to_match": {"body": {"oversize_handling": "MATCH"}},
                    "text_transformation": [{"priority": 0, "type": "NONE"}],
                }
            },
            visibility_config=_visibility(f"{name}-body-size"),
        )
        bad_inputs = _rule(
            name="known-bad-inputs",
            priority=1,
            override_action={"none": {}},
            statement={
                "managed_rule_group_statement": {
                    "vendor_name": "AWS",
                    "name": "AWSManagedRulesKnownBadInputsRuleSet",
                }
            },
            visibility_config=_visibility(f"{name}-known-bad-inputs"),
        )
        self.acl = Wafv2WebAcl(
            self,
            "acl",
            name=name,
            scope="REGIONAL",
            default_action={"allow": {}},
            rule=[size_rule, bad_inputs],
            association_config={
                "request_body": [
                    Wafv2WebAclAssociationConfigRequestBody(
                        api_gateway={"default_size_inspection_limit": inspection_limit}
                    )
                ]
            },
            visibility_config=_visibility(name),
            tags=tags,
        )
        Wafv2WebAclAssociation(self, "association", resource_arn=stage_arn, web_acl_arn=self.acl.arn)
        self.logs = CloudwatchLogGroup(
            self,
            "logs",
            name=f"aws-waf-logs-{name}",  # WAF logs only to groups named aws-waf-logs-*
            retention_in_days=log_retention_days,
            kms_key_id=kms_key,
            tags=tags,
        )
        Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self.acl.arn,
            log_destination_configs=[self.logs.arn],
            # who called is in the API's access log: the web ACL's log drops the credentials
            redacted_fields=[Wafv2WebAclLoggingConfigurationRedactedFields(single_header={"name": "authorization"})],
        )
