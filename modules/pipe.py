"""An EventBridge pipe: source -> filters -> optional enrichment -> target, with its role and logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktn import ITerraformDependable
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.pipes_pipe import PipesPipe
from constructs import Construct

PIPES_SERVICE = "pipes.amazonaws.com"


@dataclass(frozen=True)
class ResolvedSource:
    """The source as the stack knows it: its ARN for the pipe (a reference, so Terraform orders the two), its ARN
    for the role's policy, and the pipe's ``source_parameters``."""

    arn: str
    policy_arn: str
    parameters: dict[str, Any]
    depends_on: tuple[ITerraformDependable, ...] = ()


class EventPipe(Construct):
    """One pipe and its log group (none with ``log_level: OFF``); execution data (the payloads) is never logged."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        description: str,
        role_arn: str,
        source: ResolvedSource,
        enrichment_arn: str | None,
        target_arn: str,
        target_parameters: dict[str, Any] | None,
        log_group_name: str,
        log_level: str,
        log_retention_days: int,
        kms_key: str | None,
        depends_on: list[ITerraformDependable],
        tags: dict[str, str],
    ) -> None:
        super().__init__(scope, id)
        self.log_group = None
        log_configuration = None
        if log_level != "OFF":
            self.log_group = CloudwatchLogGroup(
                self,
                "logs",
                name=log_group_name,
                retention_in_days=log_retention_days,
                kms_key_id=kms_key,
                tags=tags,
            )
            log_configuration = {
                "level": log_level,
                "cloudwatch_logs_log_destination": {"log_group_arn": self.log_group.arn},
            }
        self.pipe = PipesPipe(
            self,
            "pipe",
            name=name,
            description=description,
            role_arn=role_arn,
            source=source.arn,
            source_parameters=source.parameters,
            enrichment=enrichment_arn,
            target=target_arn,
            target_parameters=target_parameters,
            kms_key_identifier=kms_key,
            log_configuration=log_configuration,
            tags=tags,
            # the role's policy (and a stream's DLQ) must exist first: Pipes checks the role can read the source
            depends_on=[*depends_on, *source.depends_on],
        )
