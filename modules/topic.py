"""A domain's SNS topic: encrypted, TLS-only, publishable by its own account."""

from __future__ import annotations

from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_policy import SnsTopicPolicy
from constructs import Construct

from modules.policies import Statement, account_root, deny_insecure_transport, document

AWS_MANAGED_SNS_KEY = "alias/aws/sns"
EVENT_PROTOCOLS = ("lambda", "sqs")  # what eventform subscribes to event topics
ALERT_PROTOCOLS = ("email", "email-json", "https", "lambda", "sms", "sqs")  # people and chat tools, for alarms


class EventTopic(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        arn: str,
        account_id: str,
        fifo: bool,
        content_based_deduplication: bool,
        kms_key: str | None,
        tags: dict[str, str],
        extra_statements: tuple[Statement, ...] = (),
        subscribe_protocols: tuple[str, ...] = EVENT_PROTOCOLS,
        tracing: bool = False,
    ) -> None:
        """``subscribe_protocols``: what the account may subscribe (sns:Protocol); event topics carry personal data
        and feed only queues and functions, never an e-mail address or an HTTP endpoint."""
        super().__init__(scope, id)
        self.arn_value = arn
        self.topic = SnsTopic(
            self,
            "topic",
            name=name,
            fifo_topic=fifo or None,
            content_based_deduplication=content_based_deduplication if fifo else None,
            kms_master_key_id=kms_key or AWS_MANAGED_SNS_KEY,
            # X-Ray active tracing: SNS records its segment and passes the trace on to SQS and Lambda subscribers
            # (the platform stack's X-Ray resource policy lets SNS write segments)
            tracing_config="Active" if tracing else None,
            tags=tags,
        )
        self.policy = SnsTopicPolicy(
            self,
            "policy",
            arn=self.topic.arn,
            policy=document(
                Statement(
                    sid="AccountPublishes",
                    effect="Allow",
                    principal=account_root(account_id),
                    actions=("sns:GetTopicAttributes", "sns:Publish"),
                    resources=(arn,),
                ),
                Statement(
                    sid="AccountSubscribesEndpointsOfTheseProtocols",
                    effect="Allow",
                    principal=account_root(account_id),
                    actions=("sns:Subscribe",),
                    resources=(arn,),
                    conditions={"StringEquals": {"sns:Protocol": sorted(subscribe_protocols)}},
                ),
                *extra_statements,
                deny_insecure_transport(("sns:Publish",), arn),
            ),
        )
