"""An IAM role that EventBridge, Scheduler or Pipes assumes to reach exactly one target."""

from __future__ import annotations

import json

from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from modules.policies import Statement, document


class TargetRole(Construct):
    """Trusts one service for the given source ARNs of this account only; may do ``actions`` on ``resources``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        service: str,
        account_id: str,
        source_arns: tuple[str, ...],
        statements: tuple[Statement, ...],
        tags: dict[str, str],
    ) -> None:
        super().__init__(scope, id)
        trust = Statement(
            sid="ServiceAssumesForTheseSources",
            effect="Allow",
            principal={"Service": service},
            actions=("sts:AssumeRole",),
            resources=("*",),
            conditions={
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": sorted(source_arns)},
            },
        )
        rendered = trust.render()
        del rendered["Resource"]  # trust policies name no resource
        self.role = IamRole(
            self,
            "role",
            name=name,
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [rendered]}, sort_keys=True),
            tags=tags,
        )
        self.policy = IamRolePolicy(self, "policy", name="target", role=self.role.id, policy=document(*statements))
