"""Schedules (EventBridge Scheduler: cron, rate, at) and API-call alerts (CloudTrail rules) of a domain."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventform.catalog.buses import retry_policy, retry_problems
from eventform.catalog.model import (
    ApiCallAlert,
    Catalog,
    Domain,
    Schedule,
)
from eventform.catalog.parsing import Collector, line_of, parse_duration
from eventform.runtime import envelope as cloudevents
from eventform.runtime.validation import SchemaValidationError, compile_schema

RATE = re.compile(r"^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$")


AT = re.compile(r"^at\(([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\)$")


CRON_FIELD = {
    "minutes": re.compile(r"^(\*|[0-5]?[0-9](-[0-5]?[0-9])?)(/[0-9]+)?(,(\*|[0-5]?[0-9](-[0-5]?[0-9])?)(/[0-9]+)?)*$"),
    "hours": re.compile(
        r"^(\*|(1?[0-9]|2[0-3])(-(1?[0-9]|2[0-3]))?)(/[0-9]+)?(,(1?[0-9]|2[0-3])(-(1?[0-9]|2[0-3]))?)*$"
    ),
    "day-of-month": re.compile(
        r"^(\?|\*|L|LW|([1-9]|[12][0-9]|3[01])W?(-([1-9]|[12][0-9]|3[01]))?(/[0-9]+)?(,([1-9]|[12][0-9]|3[01]))*)$"
    ),
    "month": re.compile(
        r"^(\*|([1-9]|1[0-2]|[A-Z]{3})(-([1-9]|1[0-2]|[A-Z]{3}))?(/[0-9]+)?(,([1-9]|1[0-2]|[A-Z]{3}))*)$"
    ),
    "day-of-week": re.compile(r"^(\?|\*|([1-7]|[A-Z]{3})(L|#[1-5])?(-([1-7]|[A-Z]{3}))?(,([1-7]|[A-Z]{3}))*)$"),
    "year": re.compile(
        r"^(\*|(19[7-9][0-9]|2[0-1][0-9]{2})(-(19[7-9][0-9]|2[0-1][0-9]{2}))?(/[0-9]+)?(,(19[7-9][0-9]|2[0-1][0-9]{2}))*)$"
    ),
}


def build_schedules(path: Path, document: Any, data: dict[str, Any], out: Collector) -> tuple[Schedule, ...]:
    schedules = []
    for name, spec in sorted(data.get("schedules", {}).items()):
        where = ["schedules", name]
        location = f"schedules.{name}"
        problems = [
            (f"{location}.expression", message, fix) for message, fix in expression_problems(spec["expression"])
        ]
        timezone = spec.get("timezone", "UTC")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                (f"{location}.timezone", f"unknown time zone {timezone!r}", "use an IANA name like Europe/Berlin")
            )
        window_spec = spec.get("window", "off")
        window = 0 if window_spec == "off" else parse_duration(window_spec)
        if window and (window % 60 or not 60 <= window <= 86400):
            problems.append(
                (
                    f"{location}.window",
                    f"flexible window {window}s is not whole minutes in 1m..24h",
                    "use off or 1m..24h in whole minutes",
                )
            )
        if "event" not in spec and "consumer" not in spec and "workflow" not in spec:
            problems.append(
                (
                    location,
                    "a schedule puts an event on the domain's bus, sends to a consumer's queue, or runs a consumer's "
                    "handler with an event",
                    "write event: <event name>, consumer: <consumer name>, or both (a consumer with a handler: "
                    "Scheduler invokes its function with that event)",
                )
            )
        retry = retry_policy(spec.get("retry"))
        problems.extend(retry_problems(retry, location))
        for at, message, fix in problems:
            out.add(path, at, message, fix, line_of(document, [*where, *at.removeprefix(location).split(".")[1:2]]))
        if not problems:
            schedules.append(
                Schedule(
                    name=name,
                    description=spec["description"],
                    expression=spec["expression"],
                    timezone=timezone,
                    window=window // 60,
                    retry=retry,
                    event=spec.get("event"),
                    consumer=spec.get("consumer"),
                    payload=spec.get("payload", {}),
                    workflow=spec.get("workflow"),
                )
            )
    return tuple(schedules)


def expression_problems(expression: str) -> list[tuple[str, str]]:
    """(message, fix) for a Scheduler expression that AWS would refuse."""
    cron_fix = "write cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 3 * * ? *)"
    if expression.startswith("rate("):
        match = RATE.match(expression)
        if not match:
            return [(f"bad rate expression {expression!r}", "write rate(5 minutes), rate(1 hour) or rate(2 days)")]
        if (match.group(1) == "1") != (not match.group(2).endswith("s")):
            return [
                (f"{expression!r}: 1 takes a singular unit, other values a plural one", "rate(1 hour), rate(2 hours)")
            ]
        return []
    if expression.startswith("at("):
        match = AT.match(expression)
        try:
            datetime.fromisoformat(match.group(1)) if match else None
        except ValueError:
            match = None
        return [] if match else [(f"bad at expression {expression!r}", "write at(2025-12-31T23:59:00)")]
    if not (expression.startswith("cron(") and expression.endswith(")")):
        return [(f"{expression!r} is not a schedule expression", "use cron(...), rate(...) or at(...)")]
    fields = expression[5:-1].split()
    if len(fields) != 6:
        return [(f"bad cron expression {expression!r}: {len(fields)} fields, EventBridge needs 6", cron_fix)]
    problems = [
        (f"bad cron expression {expression!r}: {value!r} is not a valid {name} field", cron_fix)
        for (name, regex), value in zip(CRON_FIELD.items(), fields, strict=True)
        if not regex.match(value)
    ]
    if not problems and (fields[2] == "?") == (fields[4] == "?"):
        problems.append(
            (
                f"bad cron expression {expression!r}: exactly one of day-of-month and day-of-week must be ?",
                "e.g. cron(0 3 * * ? *) for every day at 03:00",
            )
        )
    return problems


def scheduled_input(
    source: str | None, event: str | None, version: int, payload: dict[str, Any], dataschema: str | None = None
) -> str:
    """What a schedule sends. On the bus: the CloudEvents envelope the publisher would send (so consumers unwrap it
    the same way, ``dataschema`` included), with Scheduler's context attributes as id and time; to a queue: the
    payload as is."""
    if source is None or event is None:
        return json.dumps(payload, sort_keys=True)
    return json.dumps(_scheduled_envelope(source, event, version, payload, dataschema), sort_keys=True)


def _scheduled_envelope(
    source: str, event: str, version: int, payload: dict[str, Any], dataschema: str | None
) -> dict[str, Any]:
    """The publisher's envelope with Scheduler's context attributes (filled in when it fires) as id and time."""
    return cloudevents.build(
        source=source,
        event_type=event,
        version=version,
        data=payload,
        event_id="<aws.scheduler.execution-id>",
        time="<aws.scheduler.scheduled-time>",
        dataschema=dataschema,
    )


def scheduled_invocation(source: str, event: str, version: int, payload: dict[str, Any], dataschema: str) -> str:
    """What Scheduler hands a handler's function: the event as EventBridge would push it (``detail`` = the
    CloudEvents envelope), so the runtime takes it like any pushed bus event; Scheduler fills in its context
    attributes (execution id, scheduled time) when it invokes."""
    envelope = _scheduled_envelope(source, event, version, payload, dataschema)
    invocation = {
        "version": "0",
        "id": "<aws.scheduler.execution-id>",
        "detail-type": event,
        "source": source,
        "time": "<aws.scheduler.scheduled-time>",
        "resources": ["<aws.scheduler.schedule-arn>"],
        "detail": envelope,
    }
    return json.dumps(invocation, sort_keys=True)


def schedule_input(catalog: Catalog, domain: Domain, schedule: Schedule) -> str:
    """The exact input Scheduler sends: on the bus the envelope (Scheduler sets source and detail-type), to a
    function the event as EventBridge would push it, to a queue the payload. The stacks and the docs both use it."""
    qualified = schedule.qualified_event(domain.name)
    if qualified is None:
        return scheduled_input(None, None, 1, schedule.payload)
    event = catalog.event(qualified)
    number = event.latest.number
    if schedule.target_kind == "function":
        source = catalog.domain(event.domain).source
        return scheduled_invocation(source, event.name, number, schedule.payload, event.dataschema(number))
    return scheduled_input(domain.source, event.name, number, schedule.payload, event.dataschema(number))


def build_api_calls(data: dict[str, Any]) -> tuple[ApiCallAlert, ...]:
    return tuple(
        ApiCallAlert(
            name=name, description=spec["description"], service=spec["service"], actions=tuple(spec["actions"])
        )
        for name, spec in sorted(data.get("aws_api_calls", {}).items())
    )


CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"


def api_call_pattern(service: str, actions: tuple[str, ...]) -> dict[str, Any]:
    """The default-bus pattern of an API-call alert: CloudTrail's record of these calls to this service."""
    return {
        "source": [f"aws.{service}"],
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {"eventSource": [f"{service}.amazonaws.com"], "eventName": sorted(actions)},
    }


def check_schedule(catalog: Catalog, domain: Domain, schedule: Schedule, document: Any, out: Collector) -> None:
    where = ["schedules", schedule.name]
    location = f"schedules.{schedule.name}"
    consumer = next((c for c in domain.consumers if c.name == schedule.consumer), None)
    if schedule.target_kind == "workflow":  # eventform.catalog.workflows checks it
        return
    if schedule.target_kind == "queue":
        if consumer is None or (consumer.route is not None and not consumer.route.has_queue):
            out.add(
                domain.path,
                f"{location}.consumer",
                f"{domain.name} has no consumer queue {schedule.consumer!r}",
                f"use one of: {', '.join(c.name for c in domain.consumers) or '(no consumers)'}",
                line_of(document, [*where, "consumer"]),
            )
        elif consumer.handler:
            out.add(
                domain.path,
                f"{location}.consumer",
                f"{schedule.consumer!r} runs handler {consumer.handler}, which takes catalog events, not a plain "
                "scheduled message",
                f"add event: <one of its events: {', '.join(consumer.events) or 'none'}> (Scheduler then invokes the "
                "function with that event), or schedule event: <an event of this domain> onto the bus instead",
                line_of(document, [*where, "consumer"]),
            )
        return
    if schedule.target_kind == "function":
        if consumer is None or not consumer.handler:
            with_handler = [c.name for c in domain.consumers if c.handler] or ["(none)"]
            out.add(
                domain.path,
                f"{location}.consumer",
                f"{domain.name} has no consumer {schedule.consumer!r} with a handler for Scheduler to invoke",
                f"name a consumer of {domain.name} with a handler: {', '.join(with_handler)}",
                line_of(document, [*where, "consumer"]),
            )
            return
        qualified = schedule.qualified_event(domain.name)
        if qualified not in consumer.events:
            out.add(
                domain.path,
                f"{location}.event",
                f"{consumer.name}'s handler takes {', '.join(consumer.events) or 'no catalog events'}, not "
                f"{qualified}: it would refuse the scheduled event",
                f"name one of its events (<domain>/<event>): {', '.join(consumer.events) or 'none'}",
                line_of(document, [*where, "event"]),
            )
            return
        event = catalog.event(qualified)
    else:
        found = next((e for e in domain.events if e.name == schedule.event), None)
        if found is None or "bus" not in found.via:
            out.add(
                domain.path,
                f"{location}.event",
                f"{schedule.event!r} is not an event of {domain.name} on its bus",
                "name an event of this domain whose via includes bus",
                line_of(document, [*where, "event"]),
            )
            return
        event = found
    try:
        compile_schema(event.latest.schema)(schedule.payload)  # the validator of the publisher and the consumers
    except SchemaValidationError as error:
        out.add(
            domain.path,
            f"{location}.payload",
            f"the payload does not match {event.name} v{event.latest.number}: {error.path} {error.rule}",
            "make the payload a valid example of the event",
            line_of(document, [*where, "payload"]),
        )


def check_catalog(catalog: Catalog, documents: dict[Path, Any], out: Collector) -> None:
    """Schedules against the whole catalog: the event they put exists and its payload validates."""
    for domain in catalog.domains:
        for schedule in domain.schedules:
            check_schedule(catalog, domain, schedule, documents[domain.path], out)
