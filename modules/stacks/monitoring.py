"""A domain stack's alarms beyond its queues: every consumer's signals under one composite alarm that pages once, and
the domain's topics, schedules, pipes and API-call rules; then its dashboard pages (:mod:`modules.dashboard`).

What to watch comes from :mod:`modules.observability` (the same plan the docs and the cost estimate read). The queue
and DLQ alarms are built by their constructs (:class:`modules.queue.ConsumerQueue`, :class:`DeliveryDlq`); this
module finds them in ``stack.built_alarms`` by name to make them members of the composite.

Locally nothing is added: the embedded AWS (moto) has no composite alarms and publishes no Lambda, EventBridge,
SNS, Scheduler or Pipes metrics, so the queue alarms notify directly there, as before, and there is nothing to draw.
"""

from __future__ import annotations

from typing import Any

from eventform.catalog.model import Domain
from modules.alarms import composite_alarm, planned_alarm
from modules.dashboard import dashboard, domain_pages
from modules.observability import consumer_watch, domain_alarms
from modules.stacks.base import DomainParts

CONSUMER_TAG = "eventform-consumer"  # on each consumer's composite alarm: the consumer's name (CKV_EVF_108)


def build_monitoring(stack: DomainParts, domain: Domain, tags: dict[str, str]) -> None:
    environment, names = stack.environment, stack.names
    if environment.is_local:
        return
    settings = stack.alarm_settings()
    watches, composites = [], []
    for consumer in domain.consumers:
        watch = consumer_watch(consumer, environment, names)
        watches.append(watch)
        members: list[Any] = []
        for plan in watch.alarms:
            if plan.built_by_queue:
                members.append(stack.built_alarms[plan.name])
                continue
            members.append(
                planned_alarm(stack, f"watch-{plan.name}", plan=plan, settings=settings, notify=False, tags=tags)
            )
        level = consumer.slo_for(environment)
        composite = composite_alarm(
            stack,
            f"watch-{watch.composite}",
            name=watch.composite,
            members=[plan.name for plan in watch.alarms],
            description=f"{consumer.qualified_name} misses its service level (max lag {level.max_lag}s, max error "
            f"rate {level.max_error_percent:g}%) or fails: one of {len(watch.alarms)} alarms is in ALARM.",
            settings=settings,
            tags={**tags, CONSUMER_TAG: consumer.name},  # the stack is the domain; a tag value has <= 256 characters
            depends_on=members,
        )
        composites.append(composite)
    for plan in domain_alarms(stack.catalog, domain, environment, names):
        if not plan.built_by_queue:  # DLQ alarms of schedules, pipes and API-call rules notify themselves
            planned_alarm(stack, f"watch-{plan.name}", plan=plan, settings=settings, notify=True, tags=tags)
    for number, page in enumerate(domain_pages(domain, environment, names, watches), start=1):
        # the alarm status widget names the composites: created after them
        dashboard(stack, f"dashboard-{number}", page=page, depends_on=composites or None)
