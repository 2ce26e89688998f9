"""Topic and queue consumers: function settings, delivery, SNS filter policies and per-environment queue settings,
checked once every domain is known."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eventform.catalog import filters
from eventform.catalog.events import ENVELOPE_FIELDS, _schema_has_path
from eventform.catalog.model import (
    ENVELOPE_ATTRIBUTES,
    Catalog,
    Consumer,
    Domain,
    Environment,
    Event,
    FunctionSettings,
)
from eventform.catalog.parsing import Collector, line_of, looks_secret, parse_duration, to_plain


def function_settings(spec: dict[str, Any]) -> FunctionSettings:
    durations = {k: parse_duration(spec[k]) for k in ("timeout", "batching_window") if k in spec}
    return FunctionSettings(
        **{
            k: spec[k]
            for k in ("memory", "reserved_concurrency", "batch_size", "max_concurrency", "typical_duration_ms")
            if k in spec
        },
        **durations,
        tables=tuple(spec.get("tables", [])),
        parameters=tuple(spec.get("parameters", [])),
        secrets=tuple(spec.get("secrets", [])),
        email_senders=tuple(spec.get("email_senders", [])),
        environment=tuple(sorted(spec.get("environment", {}).items())),
    )


def _check_function(
    domain: Domain,
    consumer: Consumer,
    document: Any,
    environments: tuple[Environment, ...],
    known_events: set[str],
    out: Collector,
) -> None:
    """Lambda settings: limits, no secrets in environment variables, visibility >= 6x timeout, declared emits."""
    where = ["consumers", consumer.name]
    settings = consumer.function
    if "function" in to_plain(document)["consumers"][consumer.name] and consumer.handler is None:
        out.add(
            domain.path,
            f"consumers.{consumer.name}.function",
            "function settings without a handler",
            "add `handler: <name>` or remove `function:`",
            line_of(document, [*where, "function"]),
        )
    if not 1 <= settings.timeout <= 900:
        out.add(
            domain.path,
            f"consumers.{consumer.name}.function.timeout",
            f"a Lambda timeout of {settings.timeout}s is outside 1s..15m",
            "use a value between 1s and 15m",
            line_of(document, [*where, "function", "timeout"]),
        )
    for name, value in settings.environment:
        if looks_secret(name, value):
            out.add(
                domain.path,
                f"consumers.{consumer.name}.function.environment.{name}",
                f"environment variable {name} looks like a secret (by name or value); catalog values end up in "
                "plain text",
                "store it in Secrets Manager and list its name under `secrets:`",
                line_of(document, [*where, "function", "environment", name]),
            )
    for index, qualified in enumerate(consumer.emits):
        if qualified not in known_events:
            out.add(
                domain.path,
                f"consumers.{consumer.name}.emits[{index}]",
                f"unknown event {qualified!r}",
                "emit events that exist in the catalog (<domain>/<event>)",
                line_of(document, [*where, "emits", index]),
            )
    if consumer.handler and consumer.delivery == "queue":
        for environment in environments:
            visibility = consumer.queue_for(environment).visibility_timeout
            if visibility < settings.minimum_visibility:
                out.add(
                    domain.path,
                    f"consumers.{consumer.name}.queue.visibility_timeout",
                    f"visibility timeout {visibility}s is below 6x the function timeout "
                    f"({settings.minimum_visibility}s) in {environment.name}: a slow invocation's messages "
                    "would be delivered twice",
                    f"raise it to at least {settings.minimum_visibility}s or omit it (eventform then sets 6x)",
                    line_of(document, [*where, "queue", "visibility_timeout"]),
                )


def _check_delivery(domain: Domain, consumer: Consumer, document: Any, fifo: bool, out: Collector) -> None:
    """Push consumers: a function to invoke, a standard topic, no queue settings, a sane maximum event age."""
    where, location = ["consumers", consumer.name], f"consumers.{consumer.name}"
    plain = to_plain(document)["consumers"][consumer.name]
    if consumer.delivery != "push":
        if "push" in plain:
            out.add(
                domain.path,
                f"{location}.push",
                "push settings on a queue consumer",
                "set `delivery: push` or remove `push:`",
                line_of(document, [*where, "push"]),
            )
        return
    line = line_of(document, [*where, "delivery"])
    if consumer.route is not None:
        out.add(
            domain.path,
            f"{location}.delivery",
            "delivery: push is SNS pushing to a function; a bus consumer pushes through its targets",
            "remove `delivery:` and `push:` and add a target `{type: lambda}` (EventBridge invokes the handler)",
            line,
        )
        return
    if consumer.handler is None:
        out.add(domain.path, f"{location}.delivery", "push delivery invokes a function", "add `handler: <name>`", line)
    if fifo:
        out.add(
            domain.path,
            f"{location}.delivery",
            "SNS FIFO topics deliver only to SQS FIFO queues, not to functions",
            "use `delivery: queue` (the default) for events of a FIFO topic",
            line,
        )
    if "queue" in plain or any("queue" in o for o in plain.get("environments", {}).values()):
        out.add(
            domain.path,
            f"{location}.queue",
            "queue settings on a push consumer (it has no queue, only an on-failure DLQ)",
            "remove `queue:` or use `delivery: queue`",
            line_of(document, [*where, "queue"]),
        )
    if not 60 <= consumer.push.max_event_age <= 6 * 3600:
        out.add(
            domain.path,
            f"{location}.push.max_event_age",
            f"a maximum event age of {consumer.push.max_event_age}s is outside Lambda's 1m..6h",
            "use a value between 1m and 6h",
            line_of(document, [*where, "push", "max_event_age"]),
        )


def check_consumers(
    catalog: Catalog, documents: dict[Path, Any], environments: tuple[Environment, ...], out: Collector
) -> None:
    known_events = {event.qualified_name: event for event in catalog.events}
    environment_names = {environment.name for environment in environments}
    for domain in catalog.domains:
        document = documents[domain.path]
        for consumer in domain.consumers:
            where = ["consumers", consumer.name]
            location = f"consumers.{consumer.name}"
            consumed: list[Event] = []
            for index, qualified in enumerate(consumer.events):
                event = known_events.get(qualified)
                if event is None:
                    target_domain = qualified.split("/", 1)[0]
                    hint = (
                        f"events of {target_domain}: {', '.join(e.name for e in catalog.domain(target_domain).events)}"
                        if target_domain in {d.name for d in catalog.domains}
                        else f"known domains: {', '.join(d.name for d in catalog.domains)}"
                    )
                    out.add(
                        domain.path,
                        f"{location}.events[{index}]",
                        f"unknown event {qualified!r}",
                        f"use <domain>/<event> of an existing event ({hint})",
                        line_of(document, [*where, "events", index]),
                    )
                else:
                    consumed.append(event)
            if len(consumed) != len(consumer.events):
                continue
            fifo_kinds = {
                bool((topic := catalog.domain(e.domain).topic) and topic.fifo) for e in consumed
            }
            if len(fifo_kinds) > 1 and consumer.route is None:
                out.add(
                    domain.path,
                    f"{location}.events",
                    "mixes events from FIFO and standard topics: a FIFO topic delivers only to FIFO queues and "
                    "a standard topic only to standard queues",
                    "split the consumer in two, one per kind of topic",
                    line_of(document, [*where, "events"]),
                )
            _check_filter(domain, consumer, consumed, document, out)
            _check_function(domain, consumer, document, environments, set(known_events), out)
            _check_delivery(domain, consumer, document, True in fifo_kinds, out)
            for env_name in consumer.overrides:
                if environments and env_name not in environment_names:
                    out.add(
                        domain.path,
                        f"{location}.environments.{env_name}",
                        f"unknown environment {env_name!r}",
                        f"use one of: {', '.join(sorted(environment_names))}",
                        line_of(document, [*where, "environments", env_name]),
                    )
            for environment in environments:
                _check_queue(domain, consumer, environment, document, out)


def _check_filter(domain: Domain, consumer: Consumer, consumed: list[Event], document: Any, out: Collector) -> None:
    if consumer.filter is None:
        return
    line = line_of(document, ["consumers", consumer.name, "filter"])

    def key_line(key: str) -> int | None:
        return line_of(document, ["consumers", consumer.name, "filter", key])

    location = f"consumers.{consumer.name}.filter"
    syntax = filters.syntax_problems(consumer.filter, location, consumer.filter_scope)
    for where, message, fix in syntax:
        out.add(domain.path, where, message, fix, line)
    if syntax:
        return
    keys = filters.attribute_keys(consumer.filter)
    if "type" in keys:
        out.add(
            domain.path,
            f"{location}.type",
            "eventform already filters on the consumed event types",
            "remove `type` from the filter; list the events under `events:` instead",
            key_line("type"),
        )
    if consumer.filter_scope == "attributes":
        if len(keys) + 1 > filters.MAX_ATTRIBUTE_KEYS:
            out.add(
                domain.path,
                location,
                f"SNS allows {filters.MAX_ATTRIBUTE_KEYS} attribute names per filter "
                f"policy; this one uses {len(keys) + 1} (with the generated `type`)",
                "drop conditions or use filter_scope: body",
                line,
            )
        for event in consumed:
            available = set(ENVELOPE_ATTRIBUTES) | set(event.attributes)
            for key in sorted(keys - available - {"type"}):
                out.add(
                    domain.path,
                    f"{location}.{key}",
                    f"{event.qualified_name} does not publish the message attribute {key!r}, so the "
                    "subscription would drop it",
                    f"add {key!r} to `attributes:` of {event.qualified_name} or use filter_scope: body",
                    key_line(key),
                )
    else:
        for key in sorted(keys - ENVELOPE_FIELDS):
            out.add(
                domain.path,
                f"{location}.{key}",
                f"{key!r} is not a field of the event envelope",
                f"body filters start at the CloudEvents envelope: use one of {', '.join(sorted(ENVELOPE_FIELDS))}",
                key_line(key),
            )
        data_filter = consumer.filter.get("data")
        if isinstance(data_filter, dict):
            for event in consumed:
                for dotted in _leaf_paths(data_filter):
                    if not _schema_has_path(event.latest.schema, dotted):
                        out.add(
                            domain.path,
                            f"{location}.data.{dotted}",
                            f"{dotted!r} is not a field of {event.qualified_name} v{event.latest.number}",
                            "filter on a field the event's schema declares",
                            line,
                        )


def _leaf_paths(policy: dict[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in policy.items():
        if key == "$or":
            for alternative in value:
                paths.extend(_leaf_paths(alternative, prefix))
        elif isinstance(value, dict):
            paths.extend(_leaf_paths(value, f"{prefix}{key}."))
        else:
            paths.append(f"{prefix}{key}")
    return paths


def _check_queue(domain: Domain, consumer: Consumer, environment: Environment, document: Any, out: Collector) -> None:
    settings = consumer.queue_for(environment)
    where = ["consumers", consumer.name]
    limits = {
        "visibility_timeout": (0, 43_200, "0s..12h"),
        "retention": (60, 1_209_600, "1m..14d"),
        "delay": (0, 900, "0s..15m"),
    }
    for key, (low, high, text) in limits.items():
        value = getattr(settings, key)
        if not low <= value <= high:
            out.add(
                domain.path,
                f"consumers.{consumer.name}.queue.{key}",
                f"{key} {value}s is outside what SQS allows ({text}) in environment {environment.name}",
                f"use a value in {text}",
                line_of(document, [*where, "queue", key]),
            )
    if settings.retention > environment.dlq_retention:
        out.add(
            domain.path,
            f"consumers.{consumer.name}.queue.retention",
            f"queue retention {settings.retention}s exceeds the DLQ retention {environment.dlq_retention}s of "
            f"environment {environment.name}: a message could expire in the DLQ before anyone saw it",
            f"lower the retention or raise retention.dlq in {environment.path.name}",
            line_of(document, [*where, "queue", "retention"]),
        )
