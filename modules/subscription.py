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
    filter_policy: dict[str, Any],
    filter_scope: str,
) -> SnsTopicSubscription:
    """Raw delivery: the queue receives the CloudEvents envelope as its body, attributes as SQS attributes."""
    return SnsTopicSubscription(
        scope,
        id,
        topic_arn=topic_arn,
        protocol="sqs",
        endpoint=queue_arn,
        raw_message_delivery=True,
        filter_policy=json.dumps(filter_policy, sort_keys=True),
        filter_policy_scope=FILTER_SCOPES[filter_scope],
    )
