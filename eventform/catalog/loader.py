"""Load and validate the catalog and the environments into the frozen model.

Every problem is collected (not just the first) and reported with file, line, location and fix. Nothing downstream
runs unless this returns: constructs can trust the model completely.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eventform.catalog import (
    buckets,
    bus_trust,
    deliveries,
    identity,
    ingestion,
    pipe_checks,
    pipes,
    privacy,
    references,
    schedules,
    streams,
    workflows,
)
from eventform.catalog import buses as eventbridge
from eventform.catalog import service_levels as slo
from eventform.catalog.consumers import check_consumers, function_settings
from eventform.catalog.environments import load_environments
from eventform.catalog.errors import CatalogError, Problem
from eventform.catalog.events import build_event, check_example_sizes
from eventform.catalog.model import (
    PLATFORM_HANDLERS,
    Catalog,
    Consumer,
    Domain,
    Environment,
    PushSettings,
    Topic,
)
from eventform.catalog.naming import Names
from eventform.catalog.parsing import Collector, line_of, parse_duration, read_yaml, schema_problems, to_plain
from eventform.catalog.schema_checks import PassedSchemas, passed_schemas


def load_catalog(directory: Path, environments: Iterable[Environment] = ()) -> Catalog:
    """Load every ``catalog/*.yaml``; ``environments`` lets per-environment checks run (overrides, retention)."""
    out = Collector()
    environments = tuple(environments)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        out.add(directory, "", "the catalog is empty", "add catalog/<domain>.yaml (see the README's catalog format)")
    documents: dict[Path, Any] = {}
    for path in files:
        document = read_yaml(path, out)
        if document is not None and schema_problems(document, "catalog.schema.json", path, out):
            documents[path] = document
    out.check()

    checks = passed_schemas(directory)
    domains = [_build_domain(path, document, out, checks) for path, document in documents.items()]
    checks.save()
    out.check()
    catalog = streams.resolve(Catalog(root=directory, domains=tuple(d for d in domains if d is not None)))
    catalog = deliveries.resolve(catalog)  # targets and pipes naming catalog streams
    identity.check_catalog(catalog, documents, out)
    check_example_sizes(catalog, out)
    check_consumers(catalog, documents, environments, out)
    out.check()
    catalog = _with_fifo_consumers(catalog)
    _check_handlers(catalog, documents, out)
    _check_renames(catalog, documents, out)
    _check_names(catalog, environments, documents, out)
    eventbridge.check_catalog(catalog, documents, environments, out)
    buckets.check_catalog(catalog, documents, out)
    streams.check_catalog(catalog, documents, out)
    deliveries.check_catalog(catalog, documents, out)
    ingestion.check_catalog(catalog, documents, environments, out)
    schedules.check_catalog(catalog, documents, out)
    pipe_checks.check_catalog(catalog, documents, environments, out)
    workflows.check_catalog(catalog, documents, out)
    references.check_catalog(catalog, documents, environments, out)
    bus_trust.check_catalog(catalog, documents, environments, out)
    privacy.check_catalog(catalog, documents, environments, out)
    slo.check_catalog(catalog, documents, environments, out)
    out.check()
    return catalog


def _build_domain(path: Path, document: Any, out: Collector, checks: PassedSchemas) -> Domain | None:
    data = to_plain(document)
    if data["domain"] != path.stem:
        out.add(
            path,
            "domain",
            f"domain {data['domain']!r} does not match the file name {path.stem!r}",
            f"set domain: {path.stem} or rename the file",
            line_of(document, ["domain"]),
        )
        return None
    topic = Topic(**data["topic"]) if "topic" in data else None
    if topic and topic.content_based_deduplication and not topic.fifo:
        out.add(
            path,
            "topic.content_based_deduplication",
            "content-based deduplication exists only on FIFO topics",
            "set topic.fifo: true or remove content_based_deduplication",
            line_of(document, ["topic"]),
        )
    bus = eventbridge.build_bus(path, document, data, out)
    events = []
    for name, spec in data.get("events", {}).items():
        event = build_event(path, document, data["domain"], name, spec, topic, out, checks)
        if event:
            events.append(event)
    consumers = [
        Consumer(
            domain=data["domain"],
            name=name,
            description=spec["description"],
            events=tuple(spec.get("events", ())),
            objects=buckets.build_objects(path, document, data["domain"], name, spec, out),
            delivery=spec.get("delivery", "queue"),
            push=PushSettings(**{k: parse_duration(v) for k, v in spec.get("push", {}).items()}),
            handler=spec.get("handler"),
            emits=tuple(spec.get("emits", [])),
            function=function_settings(spec.get("function", {})),
            filter=spec.get("filter"),
            filter_scope=spec.get("filter_scope", "attributes"),
            queue={k: parse_duration(v) for k, v in spec.get("queue", {}).items()},
            overrides={
                env: {k: parse_duration(v) for k, v in override.get("queue", {}).items()}
                for env, override in sorted(spec.get("environments", {}).items())
            },
            route=eventbridge.build_route(path, document, name, spec, out),
            renamed_from=spec.get("renamed_from"),
            rare=bool(spec.get("rare", False)),
            slo=slo.build_slo(spec.get("slo")),
            slo_overrides={
                env: slo.build_slo(override["slo"])
                for env, override in sorted(spec.get("environments", {}).items())
                if "slo" in override
            },
            stream=streams.build_source(path, document, data["domain"], name, spec, out),
            tasks=spec.get("via") == "workflow",
        )
        for name, spec in sorted(data.get("consumers", {}).items())
    ]
    return Domain(
        name=data["domain"],
        owner=data["owner"],
        description=data["description"],
        source=data["source"],
        data_classification=data.get("data_classification", "internal"),
        path=path,
        topic=topic,
        events=tuple(sorted(events, key=lambda e: e.name)),
        consumers=tuple(consumers),
        bus=bus,
        schedules=schedules.build_schedules(path, document, data, out),
        api_calls=schedules.build_api_calls(data),
        buckets=buckets.build_buckets(path, document, data, out),
        pipes=pipes.build_pipes(path, document, data, out),
        streams=streams.build_streams(path, document, data, out),
        workflows=workflows.build_workflows(path, document, data, out),
        delivery_streams=deliveries.build_delivery_streams(path, document, data, out),
        ingestion=ingestion.build_ingestion(path, document, data, out),
    )


def _check_handlers(catalog: Catalog, documents: dict[Path, Any], out: Collector) -> None:
    """Every named handler exists under handlers/, and every handler package there serves some consumer."""
    folder = catalog.root.parent / "handlers"
    available = {p.parent.name for p in folder.glob("*/handler.py")} if folder.is_dir() else set()
    used: set[str] = set()
    for domain in catalog.domains:
        for consumer in domain.consumers:
            if consumer.handler is None:
                continue
            used.add(consumer.handler)
            if consumer.handler not in available:
                out.add(
                    domain.path,
                    f"consumers.{consumer.name}.handler",
                    f"handler {consumer.handler!r} does not exist (no handlers/{consumer.handler}/handler.py)",
                    f"create it (`eventform add consumer ... --handler {consumer.handler}` scaffolds one) or use one "
                    f"of: {', '.join(sorted(available - PLATFORM_HANDLERS)) or 'none yet'}",
                    line_of(documents[domain.path], ["consumers", consumer.name, "handler"]),
                )
    used |= pipe_checks.enrichment_handlers(catalog)
    for orphan in sorted(available - used - PLATFORM_HANDLERS):
        out.add(
            folder / orphan / "handler.py",
            "",
            f"handler {orphan!r} is used by no consumer",
            f"name it in a consumer (`handler: {orphan}`) or delete handlers/{orphan}/",
        )


def _with_fifo_consumers(catalog: Catalog) -> Catalog:
    """Consumers of FIFO topics get FIFO queues: derived, so the catalog never states it twice."""
    from dataclasses import replace

    domains = []
    for domain in catalog.domains:
        consumers = []
        for consumer in domain.consumers:
            source = catalog.domain(consumer.events[0].split("/", 1)[0]) if consumer.events else None
            # buses do not order, and S3 notifies standard queues only
            fifo = bool(source and source.topic and source.topic.fifo) and consumer.route is None and not consumer.tasks
            consumers.append(replace(consumer, fifo=fifo))
        domains.append(replace(domain, consumers=tuple(consumers)))
    return replace(catalog, domains=tuple(domains))


def _check_renames(catalog: Catalog, documents: dict[Path, Any], out: Collector) -> None:
    """``renamed_from`` names a previous name that no other consumer of the domain uses now or claims too."""
    for domain in catalog.domains:
        current = {c.name for c in domain.consumers}
        claimed: dict[str, str] = {}
        for consumer in domain.consumers:
            old = consumer.renamed_from
            if old is None:
                continue
            where = ["consumers", consumer.name, "renamed_from"]
            problem = None
            if old == consumer.name:
                problem = (f"renamed_from {old!r} is the consumer's own name", "remove renamed_from")
            elif old in current:
                problem = (
                    f"renamed_from {old!r} is the name of another consumer of {domain.name}: their queues would be one",
                    "name the consumer's previous name, one no other consumer has now",
                )
            elif old in claimed:
                problem = (
                    f"consumers {claimed[old]} and {consumer.name} are both renamed from {old!r}",
                    "only one consumer can keep the resources of a previous name",
                )
            claimed.setdefault(old, consumer.name)
            if problem:
                message, fix = problem
                at = f"consumers.{consumer.name}.renamed_from"
                out.add(domain.path, at, message, fix, line_of(documents[domain.path], where))


def _check_names(
    catalog: Catalog, environments: tuple[Environment, ...], documents: dict[Path, Any], out: Collector
) -> None:
    """Generated queue names must not collide (``a-b``/``c`` and ``a``/``b-c`` would)."""
    for environment in environments or (None,):
        names = Names(env=environment.name if environment else "env", region="r", account_id="0" * 12)
        seen: dict[str, Consumer] = {}
        for consumer in catalog.consumers:
            name = names.queue(consumer.domain, consumer.physical_name, consumer.fifo)
            other = seen.get(name)
            if other is not None:
                domain = catalog.domain(consumer.domain)
                out.add(
                    domain.path,
                    f"consumers.{consumer.name}",
                    f"queue name {name!r} collides with consumer {other.qualified_name}",
                    "rename one of the two consumers",
                    line_of(documents[domain.path], ["consumers", consumer.name]),
                )
            seen[name] = consumer


def load(root: Path, environments: Iterable[str] | None = None) -> tuple[Catalog, tuple[Environment, ...]]:
    """Load ``root/environments`` (optionally only some) and ``root/catalog``; raise CatalogError on any problem."""
    every_environment = load_environments(root / "environments")
    wanted = set(environments) if environments else None
    if wanted:
        unknown = sorted(wanted - {e.name for e in every_environment})
        if unknown:
            raise CatalogError(
                Problem(
                    root / "environments" / f"{name}.yaml",
                    "",
                    f"unknown environment {name!r}",
                    f"use one of: {', '.join(e.name for e in every_environment)}",
                )
                for name in unknown
            )
    catalog = load_catalog(root / "catalog", every_environment)
    from eventform.catalog.rules import pii_problems

    pii = pii_problems(catalog, every_environment)
    if pii:
        raise CatalogError(pii)
    return catalog, tuple(e for e in every_environment if wanted is None or e.name in wanted)
