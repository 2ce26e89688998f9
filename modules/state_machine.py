"""A Step Functions state machine of the catalog: its role, its encrypted log group, logging and X-Ray tracing."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.sfn_state_machine import SfnStateMachine
from constructs import Construct

from modules.event_role import TargetRole
from modules.policies import Statement

STATES_SERVICE = "states.amazonaws.com"
# CloudWatch Logs delivery and X-Ray have no resource-level permissions: AWS documents them on "*"
# (Step Functions: "IAM policies for logging to CloudWatch Logs", "IAM policies for X-Ray").
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)
TRACING_ACTIONS = (
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)


@dataclass(frozen=True)
class MachineConfig:
    name: str
    arn: str  # deterministic: the role trusts Step Functions for this state machine only
    role_name: str
    type: str
    definition: str
    log_group_name: str
    log_level: str
    include_execution_data: bool
    log_retention_days: int
    account_id: str
    kms_key: str | None  # the log group's key (an ARN), where customer-managed
    create_machine: bool = True  # local: moto lacks ValidateStateMachineDefinition, which the provider calls


class StateMachine(Construct):
    """One state machine. Its role may do exactly what its definition's tasks do (``statements``, derived by the
    wiring from the catalog), plus log delivery and tracing; logging is never off and tracing always on."""

    def __init__(
        self, scope: Construct, id: str, *, config: MachineConfig, statements: tuple[Statement, ...], tags: dict
    ) -> None:
        super().__init__(scope, id)
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=config.log_group_name,
            retention_in_days=config.log_retention_days,
            kms_key_id=config.kms_key,
            tags=tags,
        )
        self.role = TargetRole(
            self,
            "role",
            name=config.role_name,
            service=STATES_SERVICE,
            account_id=config.account_id,
            source_arns=(config.arn,),
            statements=(
                *statements,
                Statement(sid="DeliverLogs", effect="Allow", actions=LOG_DELIVERY_ACTIONS, resources=("*",)),
                Statement(sid="SendTraces", effect="Allow", actions=TRACING_ACTIONS, resources=("*",)),
            ),
            tags=tags,
        )
        self.machine: SfnStateMachine | None = None
        if not config.create_machine:
            return
        self.machine = SfnStateMachine(
            self,
            "machine",
            name=config.name,
            role_arn=self.role.role.arn,
            type=config.type,
            definition=config.definition,
            logging_configuration={
                "log_destination": f"{self.log_group.arn}:*",
                "level": config.log_level,
                "include_execution_data": config.include_execution_data,
            },
            tracing_configuration={"enabled": True},
            tags=tags,
            depends_on=[self.role.policy],  # Step Functions checks the role can deliver logs when it creates
        )
