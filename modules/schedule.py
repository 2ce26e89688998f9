"""EventBridge Scheduler: a schedule group per domain and its schedules, each with retry policy and DLQ."""

from __future__ import annotations

from cdktn_provider_aws.scheduler_schedule import (
    SchedulerSchedule,
    SchedulerScheduleFlexibleTimeWindow,
    SchedulerScheduleTarget,
    SchedulerScheduleTargetDeadLetterConfig,
    SchedulerScheduleTargetEventbridgeParameters,
    SchedulerScheduleTargetRetryPolicy,
)
from cdktn_provider_aws.scheduler_schedule_group import SchedulerScheduleGroup
from constructs import Construct

from eventform.catalog.model import Schedule


class ScheduleGroup(Construct):
    def __init__(self, scope: Construct, id: str, *, name: str, tags: dict[str, str]) -> None:
        super().__init__(scope, id)
        self.group = SchedulerScheduleGroup(self, "group", name=name, tags=tags)


class ScheduledDelivery(Construct):
    """One schedule: a catalog event put on the domain's bus (source/detail-type set), a message to a queue, or a
    handler's function invoked natively with an event (the target is the function's ARN; the role may invoke it)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        group_name: str,
        schedule: Schedule,
        target_arn: str,
        role_arn: str,
        dlq_arn: str,
        input: str,
        source: str | None,
        kms_key: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        window = (
            SchedulerScheduleFlexibleTimeWindow(mode="FLEXIBLE", maximum_window_in_minutes=schedule.window)
            if schedule.window
            else SchedulerScheduleFlexibleTimeWindow(mode="OFF")
        )
        self.schedule = SchedulerSchedule(
            self,
            "schedule",
            name=name,
            group_name=group_name,
            description=schedule.description[:512],
            schedule_expression=schedule.expression,
            schedule_expression_timezone=schedule.timezone,
            flexible_time_window=window,
            kms_key_arn=kms_key,  # customer-managed environments encrypt the schedule's input with the domain key
            target=SchedulerScheduleTarget(
                arn=target_arn,
                role_arn=role_arn,
                input=input,
                eventbridge_parameters=SchedulerScheduleTargetEventbridgeParameters(
                    detail_type=schedule.event, source=source
                )
                if schedule.event and source
                else None,
                retry_policy=SchedulerScheduleTargetRetryPolicy(
                    maximum_retry_attempts=schedule.retry.max_attempts,
                    maximum_event_age_in_seconds=schedule.retry.max_age,
                ),
                dead_letter_config=SchedulerScheduleTargetDeadLetterConfig(arn=dlq_arn),
            ),
        )
