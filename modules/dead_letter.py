"""The SQS dead-letter queue of pushed deliveries (EventBridge targets, Scheduler, Lambda on-failure) + alarm."""

from __future__ import annotations

from cdktn_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from modules.alarms import AlarmSettings, queue_alarm
from modules.policies import Statement, deny_insecure_transport, document


class DeliveryDlq(Construct):
    """Events a target could not take after its retry policy land here; only the listed rules may send.

    Scheduler writes to its DLQ with the schedule's role, and Lambda's on-failure destination with the function's
    role (same account, identity policies), so only rules need a resource-policy statement: a push consumer's DLQ
    (``rule_arns=()``) is the same construct with none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        arn: str,
        alarm_name: str,
        rule_arns: tuple[str, ...],
        retention: int,
        kms_key: str | None,
        alarms: AlarmSettings,
        tags: dict[str, str],
    ) -> None:
        super().__init__(scope, id)
        self.arn_value = arn
        statements = []
        if rule_arns:
            statements.append(
                Statement(
                    sid="RulesSendUndeliveredEvents",
                    effect="Allow",
                    principal={"Service": "events.amazonaws.com"},
                    actions=("sqs:SendMessage",),
                    resources=(arn,),
                    conditions={"ArnEquals": {"aws:SourceArn": sorted(rule_arns)}},
                )
            )
        encryption = (
            {"kms_master_key_id": kms_key, "kms_data_key_reuse_period_seconds": 300}
            if kms_key
            else {"sqs_managed_sse_enabled": True}
        )
        self.queue = SqsQueue(
            self,
            "queue",
            name=name,
            message_retention_seconds=retention,
            receive_wait_time_seconds=20,
            policy=document(*statements, deny_insecure_transport(("sqs:*",), arn)),
            tags=tags,
            **encryption,
        )
        self.alarm = queue_alarm(
            self,
            "alarm",
            name=alarm_name,
            queue_name=name,
            metric="ApproximateNumberOfMessagesVisible",
            threshold=alarms.dlq_messages,
            description=f"Events that could not be delivered or processed wait in {name}: inspect and re-send them.",
            settings=alarms,
            tags=tags,
        )
