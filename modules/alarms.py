"""CloudWatch alarms, sent to the environment's alarm topic: on one metric, on metric math, and composites.

Functions, not constructs: at 1,000s of consumers every extra jsii object costs synthesis time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cdktn_provider_aws.cloudwatch_composite_alarm import CloudwatchCompositeAlarm
from cdktn_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from constructs import Construct

if TYPE_CHECKING:
    from modules.observability import AlarmPlan

COMPOSITE_RULE_LIMIT = 10_240  # characters of a composite alarm's rule (PutCompositeAlarm)


@dataclass(frozen=True)
class AlarmSettings:
    alarm_topic_arn: str
    dlq_messages: int
    oldest_message_age: int  # the lag threshold: the consumer's slo.max_lag (or the environment's default)
    period: int
    evaluation_periods: int
    # False: the alarm is a member of its consumer's composite, which notifies (one incident pages once)
    notify: bool = True


def _actions(settings: AlarmSettings, notify: bool) -> dict[str, Any]:
    if not notify:
        return {}
    return {"alarm_actions": [settings.alarm_topic_arn], "ok_actions": [settings.alarm_topic_arn]}


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
    """One alarm on one queue metric (``Maximum`` over the period; missing data is fine)."""
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
        tags=tags,
        **_actions(settings, settings.notify),
    )


def planned_alarm(
    scope: Construct, id: str, *, plan: AlarmPlan, settings: AlarmSettings, notify: bool, tags: dict[str, str]
) -> CloudwatchMetricAlarm:
    """The alarm of a :class:`modules.observability.AlarmPlan`: one metric with its statistic (``p99`` as an
    extended statistic), or metric math whose expression alone returns data."""
    common: dict[str, Any] = {
        "alarm_name": plan.name,
        "alarm_description": plan.description[:1024],
        "evaluation_periods": plan.evaluation_periods or settings.evaluation_periods,
        "threshold": plan.threshold,
        "comparison_operator": "GreaterThanOrEqualToThreshold"
        if plan.signal == "concurrency"
        else "GreaterThanThreshold",
        "treat_missing_data": "notBreaching",
        "tags": tags,
        **_actions(settings, notify),
    }
    if plan.expression is None:
        (_, metric), *_ = plan.metrics
        percentile = metric.stat.startswith("p")
        return CloudwatchMetricAlarm(
            scope,
            id,
            namespace=metric.namespace,
            metric_name=metric.name,
            dimensions=dict(metric.dimensions),
            period=settings.period,
            extended_statistic=metric.stat if percentile else None,
            statistic=None if percentile else metric.stat,
            **common,
        )
    queries = [
        CloudwatchMetricAlarmMetricQuery(
            id=metric_id,
            return_data=False,
            metric=CloudwatchMetricAlarmMetricQueryMetric(
                namespace=metric.namespace,
                metric_name=metric.name,
                dimensions=dict(metric.dimensions),
                period=settings.period,
                stat=metric.stat,
            ),
        )
        for metric_id, metric in plan.metrics
    ]
    queries.append(
        CloudwatchMetricAlarmMetricQuery(id="result", expression=plan.expression, label=plan.label, return_data=True)
    )
    return CloudwatchMetricAlarm(scope, id, metric_query=queries, **common)


def composite_alarm(
    scope: Construct,
    id: str,
    *,
    name: str,
    members: list[str],
    description: str,
    settings: AlarmSettings,
    tags: dict[str, str],
    depends_on: list[Any],
) -> CloudwatchCompositeAlarm:
    """ALARM when any member is: one page per incident however many of a consumer's signals it trips."""
    rule = " OR ".join(f'ALARM("{member}")' for member in members)
    if len(rule) > COMPOSITE_RULE_LIMIT:
        raise ValueError(f"composite alarm {name}: its rule has {len(rule)} characters, AWS allows 10,240")
    return CloudwatchCompositeAlarm(
        scope,
        id,
        alarm_name=name,
        alarm_description=description[:1024],
        alarm_rule=rule,
        tags=tags,
        depends_on=depends_on,  # the members exist before the composite names them
        **_actions(settings, True),
    )
