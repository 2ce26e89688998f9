"""The pages of the docs site and the facts each one shows, resolved from the catalog with the stacks' names.

One page per domain, event, consumer, schedule, pipe and API-call rule, plus the index. Channels and deliveries come
from :mod:`eventform.authoring.channels`; what each catalog example delivers comes from the same matchers and the
same rendering as ``eventform lint --matrix`` (:func:`eventform.catalog.buses.example_matrix`,
:func:`~eventform.catalog.buses.rendered_inputs`, :func:`eventform.catalog.pipe_checks.example_matrix`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eventform.authoring.channels import (
    TEMPLATE,
    Channel,
    Delivery,
    ExampleRow,
    deliveries,
    domain_channels,
    environment_names,
    example_rows,
    where,
)
from eventform.authoring.cost_docs import COST_PATH, cost_context
from eventform.authoring.topology import topology
from eventform.catalog import pipe_checks
from eventform.catalog.deliveries import archives_of
from eventform.catalog.ingestion import endpoints_of
from eventform.catalog.model import (
    ApiCallAlert,
    Catalog,
    Consumer,
    Domain,
    Environment,
    Event,
    FunctionSettings,
    Pipe,
    Schedule,
    Target,
)
from eventform.catalog.schedules import api_call_pattern
from eventform.catalog.schedules import schedule_input as scheduled_input_of
from eventform.catalog.streams import mapping_filters
from eventform.catalog.workflows import starters, state_rows


# ------------------------------------------------------------------------------------------------------------
# Events: schema tables
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    path: str
    type: str
    required: bool
    description: str
    constraints: str
    pii: bool


def _type_of(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "enum"
    if "const" in schema:
        return "const"
    declared = schema.get("type", "any")
    if declared == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_type_of(schema['items'])}"
    return declared if isinstance(declared, str) else " | ".join(declared)


def _constraints(schema: dict[str, Any]) -> str:
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"]))
    if "const" in schema:
        parts.append(f"`{json.dumps(schema['const'])}`")
    for key in ("format", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
        if key in schema:
            parts.append(f"{key} `{schema[key]}`")
    return "; ".join(parts)


def schema_fields(schema: dict[str, Any], pii: tuple[str, ...] = (), prefix: str = "") -> list[Field]:
    """Flatten a payload schema into table rows: nested objects as ``a.b``, array items as ``a[].b``."""
    rows: list[Field] = []
    required = set(schema.get("required", []))
    for name, spec in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        rows.append(
            Field(
                path=path,
                type=_type_of(spec),
                required=name in required,
                description=spec.get("description", ""),
                constraints=_constraints(spec),
                pii=path.replace("[]", "") in pii,
            )
        )
        if spec.get("type") == "object":
            rows.extend(schema_fields(spec, pii, f"{path}."))
        elif spec.get("type") == "array" and isinstance(spec.get("items"), dict):
            rows.extend(schema_fields(spec["items"], pii, f"{path}[]."))
    return rows


def producers(catalog: Catalog, event: Event) -> tuple[Consumer, ...]:
    """Consumers whose handler publishes ``event`` (``emits:``), besides the owning domain's services."""
    return tuple(c for c in catalog.consumers if event.qualified_name in c.emits)


# ------------------------------------------------------------------------------------------------------------
# Consumers: resources per environment, Lambda settings, targets
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueInfo:
    environment: str
    queue: str | None  # None: no queue (push, or a bus consumer without a queue target)
    dlq: str
    dlq_alarm: str
    age_alarm: str | None
    max_receive_count: int
    visibility_timeout: int
    retention: int
    topics: tuple[str, ...]  # what the consumer receives from: topics, rules (on their bus) or the bucket
    delivery_dlq: str | None  # bus consumers: where EventBridge puts what it could not deliver to a target
    function: str | None
    role: str | None
    log_group: str | None


def receives_from(catalog: Catalog, consumer: Consumer, environment: Environment) -> tuple[str, ...]:
    """The names of what delivers to the consumer in ``environment``: topics, rules on buses, buckets."""
    names = environment_names(environment)
    found = []
    for delivery in deliveries(catalog, consumer, names):
        rule = delivery.rule(names)
        address = delivery.channel.address(names)
        found.append(f"rule {rule} on {address}" if rule else address)
    return tuple(found)


def queue_info(catalog: Catalog, consumer: Consumer, environment: Environment) -> QueueInfo:
    """The names eventform gives this consumer's resources in ``environment`` (same rules as the stacks)."""
    names = environment_names(environment)
    d, c = consumer.domain, consumer.physical_name
    on_bus = consumer.route is not None
    has_queue = queue_fed(consumer)
    queue = names.queue(d, c, consumer.fifo) if has_queue else None
    dlq = names.dlq(d, c, consumer.fifo) if has_queue or not on_bus else names.delivery_dlq(d, c)
    settings = consumer.queue_for(environment)
    function = names.function(d, c) if consumer.handler else None
    return QueueInfo(
        environment=environment.name,
        queue=queue,
        dlq=dlq,
        dlq_alarm=names.alarm(dlq, "visible-messages"),
        age_alarm=names.alarm(queue, "oldest-message-age") if queue else None,
        max_receive_count=settings.max_receive_count,
        visibility_timeout=settings.visibility_timeout,
        retention=settings.retention,
        topics=receives_from(catalog, consumer, environment),
        delivery_dlq=names.delivery_dlq(d, c) if on_bus else None,
        function=function,
        role=names.role(d, c) if consumer.handler else None,
        log_group=names.log_group(function) if function else None,
    )


@dataclass(frozen=True)
class ServiceLevelInfo:
    """A consumer's service level in one environment and the alarms derived from it (modules/observability.py,
    the plan the stacks build); locally only the queue alarms exist."""

    environment: str
    max_lag: int
    max_error_rate: str  # 0.5%
    composite: str | None  # None locally: the embedded AWS has no composite alarms
    alarms: tuple[tuple[str, str, str, str], ...]  # (name, signal, what it measures, threshold)


def _measures(plan: Any) -> str:
    names = ", ".join(f"{m.namespace} {m.name} ({m.stat})" for _, m in plan.metrics)
    return f"`{plan.expression}` over {names}" if plan.expression else names


def service_level(consumer: Consumer, environment: Environment) -> ServiceLevelInfo:
    from modules.observability import consumer_watch

    level = consumer.slo_for(environment)
    watch = consumer_watch(consumer, environment, environment_names(environment))
    plans = [p for p in watch.alarms if p.built_by_queue] if environment.is_local else list(watch.alarms)
    return ServiceLevelInfo(
        environment=environment.name,
        max_lag=level.max_lag,
        max_error_rate=f"{level.max_error_percent:g}%",
        composite=None if environment.is_local else watch.composite,
        alarms=tuple(
            (p.name, p.signal, _measures(p), f"> {p.threshold:g} {p.unit}".strip()
             if p.signal != "concurrency" else f">= {p.threshold:g} {p.unit}")
            for p in plans
        ),
    )


def function_rows(settings: FunctionSettings, *, from_queue: bool = True) -> list[tuple[str, str]]:
    """Lambda settings as (setting, value) rows; defaults included, so nothing hides (the event source mapping's
    batch settings only for a function fed by a queue)."""
    rows = [("memory", f"{settings.memory} MB"), ("timeout", duration(settings.timeout))]
    if from_queue:
        rows += [
            ("batch size", str(settings.batch_size)),
            ("batching window", duration(settings.batching_window)),
            ("maximum concurrency", str(settings.max_concurrency or "-")),
        ]
    rows.append(("reserved concurrency", str(settings.reserved_concurrency or "-")))
    for label, values in (
        ("tables", settings.tables),
        ("parameters", settings.parameters),
        ("secrets", settings.secrets),
    ):
        rows.append((label, ", ".join(f"`{v}`" for v in values) or "-"))
    rows.append(("environment", ", ".join(f"`{k}={v}`" for k, v in settings.environment) or "-"))
    return rows


def queue_fed(consumer: Consumer) -> bool:
    """Whether the consumer's function reads a queue (event source mapping) rather than being invoked."""
    if consumer.stream is not None:  # Lambda reads a stream: its batch settings are the stream source's
        return False
    if consumer.route is not None:
        return consumer.route.has_queue
    return consumer.delivery != "push"


def target_destination(consumer: Consumer, target: Target) -> str:
    """Where a rule target delivers, in words a reader can look up."""
    if target.kind == "queue":
        queue = TEMPLATE.queue(consumer.domain, consumer.physical_name, False)
        return f"the consumer's SQS queue `{queue}` (with its DLQ)"
    if target.kind == "lambda":
        function = TEMPLATE.function(consumer.domain, consumer.physical_name)
        return f"the handler `{consumer.handler}`, pushed: function `{function}`"
    if target.stream is not None:
        what = "delivery stream" if target.kind == "firehose" else "Kinesis stream"
        return f"the catalog {what} `{target.stream}` (the envelope, `$.detail`)"
    if target.api is not None:
        api = target.api
        secret = where(api.secret_arn, api.secret)
        return f"API destination {api.method} `{api.endpoint}` ({api.rate}/s, {api.auth} from secret `{secret}`)"
    return f"`{where(target.arn, target.reference)}`"


def target_arns(consumer: Consumer, environments: tuple[Environment, ...]) -> list[tuple[str, list[str]]]:
    """(target names, then per environment the ARN each target resolves to there) for targets outside eventform."""
    outside = [t for t in consumer.route.targets if t.arn or t.reference] if consumer.route else []
    if not outside:
        return []
    rows = [("environment", [t.name for t in outside])]
    return rows + [(e.name, [t.arn_in(e) or "" for t in outside]) for e in environments]


def target_input(target: Target) -> str:
    """What the target receives: the whole event, the value at a path, or a transformer's template."""
    if target.input_transformer is not None:
        paths = ", ".join(f"`{k}` = `{v}`" for k, v in target.input_transformer.paths.items())
        return f"input transformer: {paths}; template `{target.input_transformer.template}`"
    whole = "the whole event (payload under `detail.data`)"
    text = f"input path `{target.input_path}`" if target.input_path else whole
    if target.partition_key_path:
        text += f"; partition key `{target.partition_key_path}`"
    return text


def bus_writers(domain: Domain) -> str:
    """Who besides the domain's own account may put events on its bus (the bus policy)."""
    bus = domain.bus
    if bus is None:
        return "-"
    who = [f"account `{a}`" for a in bus.accounts]
    who += [f"partner `{p}` (its account in each environment)" for p in bus.partners]
    if bus.organization:
        who.append(f"every account of the organisation `{bus.organization}` (`aws:PrincipalOrgID`)")
    return ", ".join(who) or "nobody (only this account)"


def duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# ------------------------------------------------------------------------------------------------------------
# Schedules, pipes, API-call rules: names per environment
# ------------------------------------------------------------------------------------------------------------
def schedule_rows(domain: Domain, schedule: Schedule, environment: Environment) -> dict[str, str]:
    names = environment_names(environment)
    target = {
        "bus": f"bus `{names.bus(domain.name)}`",
        "function": f"function `{names.function(domain.name, schedule.consumer or '')}`",
    }.get(schedule.target_kind, f"queue `{names.queue(domain.name, schedule.consumer or '', False)}`")
    return {
        "environment": environment.name,
        "schedule": names.schedule(domain.name, schedule.name),
        "group": names.schedule_group(domain.name),
        "target": target,
        "role": names.event_role(domain.name, "schedule", schedule.name),
        "dlq": names.delivery_dlq(domain.name, "schedules"),
    }


def schedule_input(catalog: Catalog, domain: Domain, schedule: Schedule) -> str:
    """The exact input Scheduler sends (what the stacks send: :func:`eventform.catalog.schedules.schedule_input`)."""
    text = scheduled_input_of(catalog, domain, schedule)
    return json.dumps(json.loads(text), indent=2, sort_keys=True)


def pipe_rows(domain: Domain, pipe: Pipe, environment: Environment) -> dict[str, str]:
    names = environment_names(environment)
    name = names.pipe(domain.name, pipe.name)
    source = pipe.source
    if source.kind == "queue":
        consumer = domain.consumers[[c.name for c in domain.consumers].index(source.reference)]
        origin = f"queue `{names.queue(domain.name, consumer.physical_name, consumer.fifo)}`"
    elif source.kind == "table":
        owner = domain.consumers[[c.name for c in domain.consumers].index(source.consumer or "")]
        origin = f"stream of table `{names.table(domain.name, owner.physical_name, source.table or '')}`"
    else:
        origin = f"`{pipe_checks.stream_arn(names, source)}`"
    return {
        "environment": environment.name,
        "pipe": name,
        "source": origin,
        "target": pipe.target.arn_in(environment),
        "role": names.pipe_role(domain.name, pipe.name),
        "dlq": f"`{names.pipe_dlq(domain.name, pipe.name)}`" if source.is_stream else "the source queue's DLQ",
        "enrichment": f"`{names.enrichment_function(domain.name, pipe.name)}`" if pipe.enrichment else "-",
        "logs": names.pipe_log_group(name),
    }


def api_call_rows(domain: Domain, alert: ApiCallAlert, environment: Environment) -> dict[str, str]:
    names = environment_names(environment)
    return {
        "environment": environment.name,
        "rule": names.api_call_rule(domain.name, alert.name),
        "target": names.alarm_topic,
        "dlq": names.delivery_dlq(domain.name, "api-calls"),
    }


# ------------------------------------------------------------------------------------------------------------
# The page list
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    path: str  # relative, without suffix: "events/orders/order.created"
    title: str
    template: str
    context: dict[str, Any]


def event_path(event: Event) -> str:
    return f"events/{event.domain}/{event.name}"


def consumer_path(consumer: Consumer) -> str:
    return f"consumers/{consumer.domain}/{consumer.name}"


def domain_path(domain: Domain) -> str:
    return f"domains/{domain.name}"


def schedule_path(domain: Domain, schedule: Schedule) -> str:
    return f"schedules/{domain.name}/{schedule.name}"


def pipe_path(pipe: Pipe) -> str:
    return f"pipes/{pipe.domain}/{pipe.name}"


def api_call_path(domain: Domain, alert: ApiCallAlert) -> str:
    return f"api-calls/{domain.name}/{alert.name}"


PATHS = {
    "event_path": event_path,
    "consumer_path": consumer_path,
    "domain_path": domain_path,
    "schedule_path": schedule_path,
    "pipe_path": pipe_path,
    "api_call_path": api_call_path,
    "target_destination": target_destination,
    "target_input": target_input,
    "where": where,
}


def _event_page(catalog: Catalog, domain: Domain, event: Event, channels: list[Channel]) -> Page:
    versions = [
        {
            "version": v,
            "fields": schema_fields(v.schema, event.pii),
            "schema_file": str(v.schema_path.relative_to(catalog.root.parent))
            if v.schema_path.is_relative_to(catalog.root.parent)
            else v.schema_path.name,
        }
        for v in reversed(event.versions)
    ]
    context = {
        "event": event,
        "domain": domain,
        "versions": versions,
        "channels": [c for c in channels if event in c.events],
        "consumers": catalog.receivers_of(event.qualified_name),
        "archives": archives_of(catalog, event.qualified_name),
        "emitted_by": producers(catalog, event),
        "endpoints": endpoints_of(catalog, event.qualified_name),
    }
    return Page(event_path(event), f"Event {event.qualified_name}", "event.md.j2", context)


def _consumer_page(
    catalog: Catalog,
    domain: Domain,
    consumer: Consumer,
    environments: tuple[Environment, ...],
    examples: dict[str, list[ExampleRow]],
    routes: dict[str, list[Delivery]],
) -> Page:
    context = {
        "consumer": consumer,
        "domain": domain,
        "events": [catalog.event(q) for q in consumer.takes],
        "stream_filters": mapping_filters(catalog, consumer.stream) if consumer.stream else (),
        "emits": [catalog.event(q) for q in consumer.emits],
        "deliveries": routes[consumer.qualified_name],
        "examples": examples.get(consumer.qualified_name, []),
        "function_rows": function_rows(consumer.function, from_queue=queue_fed(consumer)),
        "queues": [queue_info(catalog, consumer, e) for e in environments],
        "service_levels": [service_level(consumer, e) for e in environments],
        "pipes": [p for p in domain.pipes if p.source.consumer == consumer.name],
        "target_arns": target_arns(consumer, environments),
    }
    return Page(consumer_path(consumer), f"Consumer {consumer.qualified_name}", "consumer.md.j2", context)


def pages(catalog: Catalog, environments: tuple[Environment, ...]) -> list[Page]:
    """Every page of the site, in a stable order."""
    examples = example_rows(catalog)
    routes = {c.qualified_name: deliveries(catalog, c) for c in catalog.consumers}
    by_channel: dict[str, list[Delivery]] = {}
    for found in routes.values():
        for delivery in found:
            by_channel.setdefault(delivery.channel.key, []).append(delivery)
    channels = {d.name: domain_channels(catalog, d) for d in catalog.domains}
    index = {
        "topology": topology(catalog, routes=routes),
        "schedules": [(d, s) for d in catalog.domains for s in d.schedules],
        "pipes": [p for d in catalog.domains for p in d.pipes],
        "alerts": [(d, a) for d in catalog.domains for a in d.api_calls],
    }
    result = [Page("index", "Event catalog", "index.md.j2", index)]
    for domain in catalog.domains:
        context = {
            "domain": domain,
            "topology": topology(catalog, domain.name, routes),
            "bus_writers": bus_writers(domain),
            "catalog_consumers": catalog.consumers,
            "channels": [(c, by_channel.get(c.key, [])) for c in channels[domain.name]],
            "workflows": [(w, starters(catalog, w), state_rows(w)) for w in domain.workflows],
        }
        result.append(Page(domain_path(domain), f"Domain {domain.name}", "domain.md.j2", context))
        result += [_event_page(catalog, domain, event, channels[domain.name]) for event in domain.events]
        result += [_consumer_page(catalog, domain, c, environments, examples, routes) for c in domain.consumers]
        for schedule in domain.schedules:
            context = {
                "domain": domain,
                "schedule": schedule,
                "input": schedule_input(catalog, domain, schedule),
                "rows": [schedule_rows(domain, schedule, e) for e in environments],
            }
            result.append(
                Page(
                    schedule_path(domain, schedule),
                    f"Schedule {domain.name}/{schedule.name}",
                    "schedule.md.j2",
                    context,
                )
            )
        for pipe in domain.pipes:
            context = {
                "domain": domain,
                "pipe": pipe,
                "carried": [catalog.event(q) for q in pipe_checks.carried_events(catalog, pipe)],
                "matrix": pipe_checks.example_matrix(catalog, pipe),
                "enrichment_rows": function_rows(pipe.enrichment.function, from_queue=False) if pipe.enrichment else [],
                "rows": [pipe_rows(domain, pipe, e) for e in environments],
            }
            result.append(Page(pipe_path(pipe), f"Pipe {pipe.qualified_name}", "pipe.md.j2", context))
        for alert in domain.api_calls:
            context = {
                "domain": domain,
                "alert": alert,
                "pattern": api_call_pattern(alert.service, alert.actions),
                "rows": [api_call_rows(domain, alert, e) for e in environments],
            }
            result.append(
                Page(
                    api_call_path(domain, alert), f"API-call rule {domain.name}/{alert.name}", "api_call.md.j2", context
                )
            )
    result.append(Page(COST_PATH, "Estimated monthly cost", "cost.md.j2", cost_context(catalog, environments)))
    return result


__all__ = [
    "PATHS",
    "Field",
    "Page",
    "QueueInfo",
    "function_rows",
    "pages",
    "producers",
    "queue_info",
    "schema_fields",
]
