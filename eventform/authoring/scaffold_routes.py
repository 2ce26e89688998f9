"""``eventform add consumer`` (SNS subscription, SNS push, EventBridge rule with a queue or a pushed handler) and
``eventform add schedule`` (EventBridge Scheduler): the same refuse-stage-lint-or-roll-back path as every ``add``
(see :mod:`eventform.authoring.scaffold`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from eventform.authoring import yamledit
from eventform.authoring.files import Change
from eventform.authoring.scaffold import Scaffolded, _commit, _domain_file, _refuse, _relative, exclusive
from eventform.catalog import filters, patterns
from eventform.catalog.errors import CatalogError, Problem
from eventform.catalog.loader import load
from eventform.catalog.model import Catalog, Consumer
from eventform.catalog.naming import max_consumer_length

CONSUMER_PATTERN = re.compile(rf"^[a-z][a-z0-9-]{{1,{max_consumer_length() - 1}}}$")
QUALIFIED_PATTERN = re.compile(r"^[a-z][a-z0-9-]*/[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
HANDLER_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")  # a Python package: handlers/<name>/
SCHEDULE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
VIAS = ("topic", "bus")


# ------------------------------------------------------------------------------------------------------------
# add consumer
# ------------------------------------------------------------------------------------------------------------
def parse_events(value: str, path: Path) -> list[str]:
    """``orders/order.created,users/user.registered`` -> a list; malformed items are refused with the reason."""
    items = [item.strip() for item in value.split(",")]
    if not value.strip() or any(not item for item in items):
        raise _refuse(
            path,
            "--events",
            f"malformed --events {value!r}",
            "give comma-separated <domain>/<event> names, e.g. orders/order.created,users/user.registered",
        )
    bad = [item for item in items if not QUALIFIED_PATTERN.match(item)]
    if bad:
        raise _refuse(
            path,
            "--events",
            f"malformed event reference(s): {', '.join(bad)}",
            "write each as <domain>/<event>, e.g. orders/order.created",
        )
    duplicates = sorted({item for item in items if items.count(item) > 1})
    if duplicates:
        raise _refuse(path, "--events", f"listed twice: {', '.join(duplicates)}", "list each event once")
    return items


def parse_filter(value: str | None, path: Path, scope: str = "attributes") -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        policy = json.loads(value)
    except json.JSONDecodeError as error:
        raise _refuse(
            path,
            "--filter",
            f"--filter is not valid JSON: {error.msg}",
            'pass a JSON object, e.g. --filter \'{"country": ["DE", "FR"]}\'',
        ) from error
    problems = filters.syntax_problems(policy, "--filter", scope if scope in ("attributes", "body") else "attributes")
    if problems:
        raise CatalogError(Problem(path, where, message, fix) for where, message, fix in problems)
    return policy


def parse_pattern(value: str | None, path: Path) -> dict[str, Any] | None:
    """``--pattern``: a JSON EventBridge pattern, checked as EventBridge and eventform's envelope rules check it."""
    if value is None:
        return None
    try:
        pattern = json.loads(value)
    except json.JSONDecodeError as error:
        raise _refuse(
            path,
            "--pattern",
            f"--pattern is not valid JSON: {error.msg}",
            'pass a JSON object, e.g. --pattern \'{"detail": {"data": {"country": ["DE"]}}}\'',
        ) from error
    problems = patterns.syntax_problems(pattern, "--pattern")
    if problems:
        raise CatalogError(Problem(path, where, message, fix) for where, message, fix in problems)
    return pattern


def _route_options(path: Path, via: str, filter_json: str | None, pattern_json: str | None) -> None:
    """--filter belongs to SNS subscriptions (via topic), --pattern to EventBridge rules (via bus)."""
    if via not in VIAS:
        raise _refuse(path, "--via", f"bad --via {via!r}", "use topic (SNS, the default) or bus (EventBridge)")
    if via == "bus" and filter_json is not None:
        raise _refuse(
            path,
            "--filter",
            "--filter is an SNS filter policy; a consumer via bus is selected by an EventBridge pattern",
            'use --pattern with the payload under detail.data, e.g. --pattern \'{"detail": {"data": {"country": '
            '["DE"]}}}\'',
        )
    if via == "topic" and pattern_json is not None:
        raise _refuse(
            path,
            "--pattern",
            "--pattern is an EventBridge pattern; it needs --via bus",
            "add --via bus (the events must travel on their domain's bus), or use --filter for the SNS topic",
        )


def _channel_problems(catalog: Catalog, qualified: list[str], via: str, path: Path) -> None:
    """Every consumed event must travel on the channel the consumer takes it from."""
    off = [q for q in qualified if via not in catalog.event(q).via]
    if off:
        where = "its domain's bus" if via == "bus" else "its domain's SNS topic"
        flag = "--bus" if via == "bus" else "--topic"
        raise _refuse(
            path,
            "--events",
            f"{', '.join(off)} {'does' if len(off) == 1 else 'do'} not travel on {where} (via: "
            f"{', '.join(catalog.event(off[0]).via)})",
            f"add {via} to events.<event>.via in the publishing domain's file (new events: eventform add event "
            f"<domain> <event> {flag}), or use --via {'topic' if via == 'bus' else 'bus'}",
        )


def consumer_entry(
    name: str,
    qualified: list[str],
    handler: str,
    description: str | None,
    route: tuple[str, dict[str, Any] | None, str, dict[str, Any] | None, bool],
) -> dict[str, Any]:
    """The catalog entry: ``route`` is (via, filter, filter scope, pattern, push)."""
    via, policy, filter_scope, pattern, push = route
    entry: dict[str, Any] = {
        "description": description or f"TODO say what {name} does with {', '.join(qualified)}.",
        "events": qualified,
        "handler": handler,
    }
    if via == "bus":
        entry["via"] = "bus"
        if pattern is not None:
            entry["pattern"] = pattern
        if push:
            entry["targets"] = {"push": {"type": "lambda"}}  # EventBridge invokes the handler; no queue
        return entry
    if push:
        entry["delivery"] = "push"  # SNS invokes the function; its failures go to the consumer's DLQ
    if policy is not None:
        if filter_scope != "attributes":
            entry["filter_scope"] = filter_scope
        entry["filter"] = policy
    return entry


def delivery_of(via: str, push: bool) -> str:
    """How the handler is reached, which decides its generated test: topic-queue, topic-push, bus-queue, bus-push."""
    return f"{via}-{'push' if push else 'queue'}"


@exclusive
def add_consumer(
    root: Path,
    domain: str,
    name: str,
    events: str,
    filter_json: str | None = None,
    filter_scope: str = "attributes",
    handler: str | None = None,
    description: str | None = None,
    via: str = "topic",
    pattern_json: str | None = None,
    push: bool = False,
) -> Scaffolded:
    """Add a consumer of ``events`` through the domain topics' SNS subscriptions (``via`` topic; ``push``: SNS invokes
    the function) or through EventBridge rules on their buses (``via`` bus, with ``pattern``; ``push``: the rule
    invokes the handler instead of filling the consumer's queue), with a new or reused handler package."""
    path = _domain_file(root, domain)
    location = f"consumers.{name}"
    if not CONSUMER_PATTERN.match(name):
        raise _refuse(
            path,
            location,
            f"bad consumer name {name!r}",
            f"use 2-{max_consumer_length()} lower-case letters, digits and '-', e.g. send-email",
        )
    qualified = parse_events(events, path)
    _route_options(path, via, filter_json, pattern_json)
    if filter_scope not in ("attributes", "body"):
        raise _refuse(path, "--filter-scope", f"bad filter scope {filter_scope!r}", "use attributes or body")
    policy = parse_filter(filter_json, path, filter_scope)
    pattern = parse_pattern(pattern_json, path)
    text = path.read_text(encoding="utf-8")
    data = yamledit.plain(yamledit.load(text))
    if name in (data.get("consumers") or {}):
        raise _refuse(
            path,
            location,
            f"consumer {name!r} already exists in {domain}",
            "pick another name or edit the existing consumer",
        )
    catalog, _ = load(root)
    known = {event.qualified_name for event in catalog.events}
    unknown = [item for item in qualified if item not in known]
    if unknown:
        raise _refuse(
            path,
            "--events",
            f"unknown event(s): {', '.join(unknown)}",
            f"use existing events: {', '.join(sorted(known))}",
        )
    _channel_problems(catalog, qualified, via, path)
    handler = handler if handler is not None else name.replace("-", "_")
    if not HANDLER_PATTERN.match(handler):
        raise _refuse(
            root / "handlers",
            "--handler",
            f"bad handler name {handler!r}",
            f"use 2-40 lower-case letters, digits and '_' (a Python package under handlers/), "
            f"e.g. {re.sub(r'[^a-z0-9_]', '_', handler.lower()) or 'send_email'}",
        )
    entry = consumer_entry(name, qualified, handler, description, (via, policy, filter_scope, pattern, push))
    change = Change(root)
    change.write(path, yamledit.insert_entry(text, "consumers", name, entry))
    steps = [f"describe what {name} does in {_relative(root, path)}"]
    package = root / "handlers" / handler
    if (package / "handler.py").exists():
        steps.append(
            f"handler {handler!r} already exists: register a function for each of {', '.join(qualified)} "
            f"with @app.on in {_relative(root, package / 'handler.py')}"
        )
    else:
        if package.exists():
            raise _refuse(
                package,
                "--handler",
                f"handlers/{handler}/ exists but has no handler.py",
                f"delete handlers/{handler}/ or pick another --handler name",
            )
        from eventform.authoring.handler_scaffold import scaffold_handler

        scaffold_handler(root, handler, qualified, domain, name, change, delivery_of(via, push))
        steps.append(
            f"write the business logic in {_relative(root, package / 'handler.py')} "
            f"and run its test: .venv/bin/pytest {_relative(root, package)}"
        )
        steps.append(f"set Lambda settings under consumers.{name}.function (timeout, memory, batch_size, tables...)")
    if via == "bus":
        steps.append(f"see which catalog examples the rule delivers: eventform lint --matrix | grep {domain}/{name}")

    def filter_lets_examples_through(catalog: Catalog) -> None:
        consumer = next(c for c in catalog.consumers if c.qualified_name == f"{domain}/{name}")
        if policy is not None and examples_passing(catalog, consumer) == 0:
            raise _refuse(
                path,
                f"{location}.filter",
                f"no catalog example of {', '.join(qualified)} passes the filter, so {name} would never see one in "
                "the rehearsal and its generated handler test could not pass",
                "loosen --filter, or first add an example that matches it to the event's v<N>.examples.json",
            )

    result_catalog = _commit(root, change, filter_lets_examples_through)
    return Scaffolded(
        written=change.paths,
        catalog=result_catalog,
        next_steps=[*steps, "preview: eventform docs && eventform diff --base main", "run make test"],
    )


def examples_passing(catalog: Catalog, consumer: Consumer) -> int:
    """How many catalog examples of the consumed events the consumer's subscription filter lets through (matched
    the way SNS does, with eventform's SNS matcher, on the message the publisher would send)."""
    from eventform.catalog.routing import receives
    from eventform.runtime.publisher import Publisher

    publisher = Publisher(catalog, "scaffold")
    passing = 0
    for qualified in consumer.events:
        for example in catalog.event(qualified).latest.examples:
            event, envelope = publisher.envelope(qualified, example)
            message = publisher.sns_message(event, envelope)
            passing += receives(consumer, qualified, message)
    return passing


def parse_payload(value: str | None, path: Path) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        payload = json.loads(value)
    except json.JSONDecodeError as error:
        raise _refuse(
            path,
            "--payload",
            f"--payload is not valid JSON: {error.msg}",
            'pass a JSON object, the event\'s payload, e.g. --payload \'{"warehouse": "all"}\'',
        ) from error
    if not isinstance(payload, dict):
        raise _refuse(path, "--payload", "--payload is not a JSON object", "pass the payload as a JSON object {...}")
    return payload


def _schedule_event(catalog: Catalog, domain: str, event: str, consumer: str | None, path: Path) -> str:
    """The qualified event a schedule sends: alone, one of the domain's events travelling on its bus; with a consumer,
    one of the events that consumer takes."""
    qualified = event if "/" in event else f"{domain}/{event}"
    known = {e.qualified_name for e in catalog.events}
    if qualified not in known:
        mine = sorted(q for q in known if q.startswith(f"{domain}/"))
        raise _refuse(
            path,
            "--event",
            f"unknown event {event!r}",
            f"use one of {domain}'s events ({', '.join(mine) or 'none yet'}), or add it: eventform add event {domain} "
            f"{event.split('/')[-1]} --bus",
        )
    if consumer is None and (qualified.split("/")[0] != domain or "bus" not in catalog.event(qualified).via):
        raise _refuse(
            path,
            "--event",
            f"a schedule puts {qualified} on {domain}'s bus, so it must be an event of {domain} with bus in its via",
            f"add a bus event: eventform add event {domain} <entity>.<past-tense verb> --bus; or add --consumer "
            "to have Scheduler invoke a consumer's handler with this event",
        )
    return qualified


@exclusive
def add_schedule(
    root: Path,
    domain: str,
    name: str,
    expression: str,
    event: str | None = None,
    consumer: str | None = None,
    payload_json: str | None = None,
    timezone: str | None = None,
    window: str | None = None,
    description: str | None = None,
) -> Scaffolded:
    """Add an EventBridge Scheduler schedule: it puts ``event`` on the domain's bus, or invokes ``consumer``'s
    handler with ``event``, or (``consumer`` alone) sends the payload to that consumer's queue. Without
    ``--payload`` the event's first catalog example is sent."""
    path = _domain_file(root, domain)
    location = f"schedules.{name}"
    if not SCHEDULE_PATTERN.match(name):
        raise _refuse(path, location, f"bad schedule name {name!r}", "use 2-40 lower-case letters, digits and '-'")
    if event is None and consumer is None:
        raise _refuse(
            path,
            location,
            "a schedule needs --event (put on the domain's bus) or --consumer (its handler or queue)",
            f"e.g. eventform add schedule {domain} {name} --expression 'rate(1 day)' --event <event of {domain}>",
        )
    payload = parse_payload(payload_json, path)
    text = path.read_text(encoding="utf-8")
    data = yamledit.plain(yamledit.load(text))
    if name in (data.get("schedules") or {}):
        raise _refuse(path, location, f"schedule {name!r} already exists in {domain}", "pick another name")
    catalog, _ = load(root)
    if consumer is not None and consumer not in (data.get("consumers") or {}):
        raise _refuse(
            path,
            "--consumer",
            f"{domain} has no consumer {consumer!r}",
            f"use one of: {', '.join(sorted(data.get('consumers') or {})) or 'none yet'} (a schedule targets a "
            "consumer of its own domain)",
        )
    qualified = _schedule_event(catalog, domain, event, consumer, path) if event is not None else None
    if payload is None and qualified is not None:
        payload = catalog.event(qualified).latest.examples[0]
    if payload is None:
        raise _refuse(path, "--payload", "a schedule for a consumer's queue needs its message", "pass --payload {...}")
    entry: dict[str, Any] = {"description": description or f"TODO say why {name} runs on {expression}."}
    entry["expression"] = expression
    entry.update({key: value for key, value in (("timezone", timezone), ("window", window)) if value is not None})
    if event is not None:
        entry["event"] = event
    if consumer is not None:
        entry["consumer"] = consumer
    entry["payload"] = payload
    change = Change(root)
    change.write(path, yamledit.insert_entry(text, "schedules", name, entry, before=("pipes", "aws_api_calls")))
    result_catalog = _commit(root, change)
    return Scaffolded(
        written=change.paths,
        catalog=result_catalog,
        next_steps=[
            f"describe why {name} runs in {_relative(root, path)}; set retry and window if the defaults do not fit",
            "preview the exact input Scheduler sends: eventform docs (the schedule's page)",
            "rehearse it: eventform local up && eventform local rehearse",
            "run make test",
        ],
    )


__all__ = ["add_consumer", "add_schedule", "consumer_entry", "examples_passing", "parse_events", "parse_filter"]
