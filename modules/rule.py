"""An EventBridge rule and its targets, each with a retry policy and a dead-letter queue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cdktn import ITerraformDependable
from cdktn_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktn_provider_aws.cloudwatch_event_target import (
    CloudwatchEventTarget,
    CloudwatchEventTargetDeadLetterConfig,
    CloudwatchEventTargetInputTransformer,
    CloudwatchEventTargetKinesisTarget,
    CloudwatchEventTargetRetryPolicy,
)
from constructs import Construct

from eventform.catalog.model import InputTransformer, RetryPolicy


@dataclass(frozen=True)
class RuleTarget:
    """A target as the rule sees it: where, as whom, in what shape, how persistently."""

    target_id: str
    arn: str
    retry: RetryPolicy
    dlq_arn: str
    role_arn: str | None = None
    input: str | None = None
    input_path: str | None = None
    input_transformer: InputTransformer | None = None
    partition_key_path: str | None = None


class EventRule(Construct):
    """``event_bus_name=None`` puts the rule on the account's default bus (AWS service events)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        bus_name: str | None,
        pattern: dict[str, Any],
        description: str,
        targets: list[RuleTarget],
        tags: dict[str, str],
        depends_on: list[ITerraformDependable] | None = None,
    ) -> None:
        """``depends_on``: the bus when it is in the same stack (``bus_name`` is a plain name, not a reference)."""
        super().__init__(scope, id)
        if len(targets) > 5:  # the loader refuses this first; the construct keeps the invariant anyway
            raise ValueError(f"rule {name}: EventBridge allows 5 targets per rule, got {len(targets)}")
        self.rule = CloudwatchEventRule(
            self,
            "rule",
            name=name,
            event_bus_name=bus_name,
            description=description[:512],
            event_pattern=json.dumps(pattern, sort_keys=True),
            tags=tags,
            depends_on=depends_on,
        )
        self.targets = [
            CloudwatchEventTarget(
                self,
                f"target-{target.target_id}",
                rule=self.rule.name,
                event_bus_name=bus_name,
                target_id=target.target_id,
                arn=target.arn,
                role_arn=target.role_arn,
                input=target.input,
                input_path=target.input_path,
                input_transformer=CloudwatchEventTargetInputTransformer(
                    input_paths=target.input_transformer.paths, input_template=target.input_transformer.template
                )
                if target.input_transformer
                else None,
                kinesis_target=CloudwatchEventTargetKinesisTarget(partition_key_path=target.partition_key_path)
                if target.partition_key_path
                else None,
                retry_policy=CloudwatchEventTargetRetryPolicy(
                    maximum_retry_attempts=target.retry.max_attempts,
                    maximum_event_age_in_seconds=target.retry.max_age,
                ),
                dead_letter_config=CloudwatchEventTargetDeadLetterConfig(arn=target.dlq_arn),
            )
            for target in targets
        ]
