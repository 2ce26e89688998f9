"""The SQS dead-letter queue of pushed deliveries (EventBridge targets, Scheduler, Lambda on-failure) + alarm."""

from __future__ import annotations

from cdktn_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from modules.alarms import AlarmSettings, queue_alarm
from modules.policies import deny_insecure_transport, document, service_may_send
from modules.queue import LONG_POLL_SECONDS, sqs_encryption


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
        rules_send = service_may_send("RulesSendUndeliveredEvents", "events.amazonaws.com", arn, rule_arns)
        senders = (rules_send,) if rule_arns else ()
        self.queue = SqsQueue(
            self,
            "queue",
            name=name,
            message_retention_seconds=retention,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            policy=document(*senders, deny_insecure_transport(("sqs:*",), arn)),
            tags=tags,
            **sqs_encryption(kms_key),
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
