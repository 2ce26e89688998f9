"""A consumer queue that always brings its dead-letter queue, redrive, TLS-only policies and alarms."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cdktn import TerraformResourceLifecycle
from cdktn_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from modules.alarms import AlarmSettings, queue_alarm
from modules.policies import Statement, deny_insecure_transport, document, service_may_send

LONG_POLL_SECONDS = 20


@dataclass(frozen=True)
class QueueNames:
    queue: str
    queue_arn: str
    dlq: str
    dlq_arn: str
    dlq_alarm: str
    age_alarm: str


@dataclass(frozen=True)
class QueueConfig:
    fifo: bool
    max_receive_count: int
    visibility_timeout: int
    retention: int
    delay: int
    dlq_retention: int
    kms_key: str | None  # None: SQS-managed encryption (SSE-SQS)
    # The embedded AWS (moto) does not implement RedriveAllowPolicy and Terraform would wait for it forever.
    redrive_allow_policy: bool = True
    # The embedded AWS re-serializes the redrive policy (moto: json.dumps with spaces) and the provider then keeps
    # either its text or ours: locally Terraform ignores the read-back after creation, so that `terraform plan`
    # right after `local up` shows no change (the rehearsal checks the policy itself: maxReceiveCount, the DLQ).
    ignore_redrive_readback: bool = False


class ConsumerQueue(Construct):
    """Queue + DLQ (``<name>-dlq``), redrive and redrive-allow, queue policies, DLQ-depth and age alarms.

    ``sender_topic_arns`` are the only topics allowed to send (``aws:SourceArn``): the confused-deputy guard.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: QueueNames,
        config: QueueConfig,
        sender_topic_arns: tuple[str, ...],
        alarms: AlarmSettings,
        tags: dict[str, str],
        extra_sender_statements: tuple[Statement, ...] = (),
    ) -> None:
        super().__init__(scope, id)
        self.names = names
        encryption = sqs_encryption(config.kms_key)
        fifo: dict[str, Any] = {
            "fifo_queue": True,
            "deduplication_scope": "messageGroup",
            "fifo_throughput_limit": "perMessageGroupId",
        }
        sender_statements: list[Statement] = []
        if sender_topic_arns:
            sender_statements.append(
                service_may_send("SubscribedTopicsSend", "sns.amazonaws.com", names.queue_arn, sender_topic_arns)
            )
        sender_statements.extend(extra_sender_statements)  # e.g. EventBridge rules (modules/eventbridge.py)
        # Policies are inline (not aws_sqs_queue_policy): each separate SQS resource costs the provider another
        # attribute-propagation wait, and the ARNs are deterministic anyway.
        self.dlq = SqsQueue(
            self,
            "dlq",
            name=names.dlq,
            message_retention_seconds=config.dlq_retention,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            redrive_allow_policy=json.dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [names.queue_arn]}, sort_keys=True
            )
            if config.redrive_allow_policy
            else None,
            policy=document(deny_insecure_transport(("sqs:*",), names.dlq_arn)),
            tags=tags,
            **(fifo if config.fifo else {}),
            **encryption,
        )
        self.queue = SqsQueue(
            self,
            "queue",
            name=names.queue,
            visibility_timeout_seconds=config.visibility_timeout,
            message_retention_seconds=config.retention,
            delay_seconds=config.delay,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            redrive_policy=json.dumps(
                {"deadLetterTargetArn": names.dlq_arn, "maxReceiveCount": config.max_receive_count},
                sort_keys=True,
            ),
            policy=document(*sender_statements, deny_insecure_transport(("sqs:*",), names.queue_arn)),
            tags=tags,
            depends_on=[self.dlq],  # SQS refuses a redrive policy whose target does not exist yet
            lifecycle=TerraformResourceLifecycle(ignore_changes=["redrive_policy"])
            if config.ignore_redrive_readback
            else None,
            **(fifo if config.fifo else {}),
            **encryption,
        )
        self.dlq_alarm = queue_alarm(
            self,
            "dlq-alarm",
            name=names.dlq_alarm,
            queue_name=names.dlq,
            metric="ApproximateNumberOfMessagesVisible",
            threshold=alarms.dlq_messages,
            description=f"Messages are waiting in the dead-letter queue {names.dlq}: inspect and redrive them.",
            settings=alarms,
            tags=tags,
        )
        self.age_alarm = queue_alarm(
            self,
            "age-alarm",
            name=names.age_alarm,
            queue_name=names.queue,
            metric="ApproximateAgeOfOldestMessage",
            threshold=alarms.oldest_message_age,
            description=f"The oldest message in {names.queue} waits longer than {alarms.oldest_message_age}s.",
            settings=alarms,
            tags=tags,
        )

    # Terraform references to the queues' attributes, each read from jsii once: every read is a round trip to the
    # Node process, and a consumer's subscription, outputs and locator use them seven times (6,000 round trips
    # saved in a 2,000-consumer environment). A reference orders what uses it after the queue; the ARN text alone
    # (names.queue_arn) would not.
    @cached_property
    def arn_ref(self) -> str:
        return self.queue.arn

    @cached_property
    def url_ref(self) -> str:
        return self.queue.url

    @cached_property
    def dlq_arn_ref(self) -> str:
        return self.dlq.arn

    @cached_property
    def dlq_url_ref(self) -> str:
        return self.dlq.url


def sqs_encryption(kms_key: str | None) -> dict[str, Any]:
    """The domain's customer-managed key where the environment asks for one (SSE-KMS), SSE-SQS otherwise."""
    if kms_key:
        return {"kms_master_key_id": kms_key, "kms_data_key_reuse_period_seconds": 300}
    return {"sqs_managed_sse_enabled": True}


def tap_queue(scope: Construct, id: str, *, name: str, arn: str, sender: Statement, tags: dict[str, str]) -> SqsQueue:
    """Local environment only: where SNS's (or S3's) pushes to a function land, for the local runner to replay."""
    return SqsQueue(
        scope,
        id,
        name=name,
        receive_wait_time_seconds=LONG_POLL_SECONDS,
        policy=document(sender, deny_insecure_transport(("sqs:*",), arn)),
        tags=tags,
        **sqs_encryption(None),
    )
