"""SNS -> SQS subscription with raw delivery and the consumer's filter policy."""

from __future__ import annotations

import json
from typing import Any

from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

FILTER_SCOPES = {"attributes": "MessageAttributes", "body": "MessageBody"}


def queue_subscription(
    scope: Construct,
    id: str,
    *,
    topic_arn: str,
    queue_arn: str,
    filter_policy: dict[str, Any] | None,
    filter_scope: str,
    raw: bool = True,
) -> SnsTopicSubscription:
    """Raw delivery: the queue receives the CloudEvents envelope as its body, attributes as SQS attributes.

    Not raw: SNS's whole notification, which is what a local tap queue needs to replay a push to a function."""
    return SnsTopicSubscription(
        scope,
        id,
        topic_arn=topic_arn,
        protocol="sqs",
        endpoint=queue_arn,
        raw_message_delivery=raw,
        filter_policy=json.dumps(filter_policy, sort_keys=True) if filter_policy is not None else None,
        filter_policy_scope=FILTER_SCOPES[filter_scope] if filter_policy is not None else None,
    )


def function_subscription(
    scope: Construct,
    id: str,
    *,
    topic_arn: str,
    function_arn: str,
    filter_policy: dict[str, Any],
    filter_scope: str,
    depends_on: list[Any],
) -> SnsTopicSubscription:
    """SNS -> Lambda (push): the function receives SNS's event with the envelope as ``Sns.Message``."""
    return SnsTopicSubscription(
        scope,
        id,
        topic_arn=topic_arn,
        protocol="lambda",
        endpoint=function_arn,
        filter_policy=json.dumps(filter_policy, sort_keys=True),
        filter_policy_scope=FILTER_SCOPES[filter_scope],
        depends_on=depends_on,
    )
