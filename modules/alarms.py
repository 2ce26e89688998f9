"""CloudWatch alarms on SQS metrics, sent to the environment's alarm topic."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from constructs import Construct


@dataclass(frozen=True)
class AlarmSettings:
    alarm_topic_arn: str
    dlq_messages: int
    oldest_message_age: int
    period: int
    evaluation_periods: int


def queue_alarm(
    scope: Construct,
    id: str,
    *,
    name: str,
    queue_name: str,
    metric: str,
    threshold: int,
    description: str,
    settings: AlarmSettings,
    tags: dict[str, str],
) -> CloudwatchMetricAlarm:
    """One alarm on one queue metric (``Maximum`` over the period; missing data is fine).

    A function, not a construct: at 1,000s of consumers every extra jsii object costs synthesis time.
    """
    return CloudwatchMetricAlarm(
        scope,
        id,
        alarm_name=name,
        alarm_description=description,
        namespace="AWS/SQS",
        metric_name=metric,
        dimensions={"QueueName": queue_name},
        statistic="Maximum",
        period=settings.period,
        evaluation_periods=settings.evaluation_periods,
        threshold=threshold,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=[settings.alarm_topic_arn],
        ok_actions=[settings.alarm_topic_arn],
        tags=tags,
    )
