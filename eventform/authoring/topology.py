"""Mermaid diagrams of the catalog: every channel drawn as what it is.

SNS topics are subroutine boxes, buses hexagons, buckets cylinders, schedules circles, pipes parallelograms; an SNS
subscription is an arrow labelled with the event types, a rule an arrow labelled ``rule:`` (``push:`` when SNS invokes
the function), the targets a rule or pipe reaches are nodes of their own, and dashed arrows are events a handler
``emits``. Everything comes from :mod:`eventform.authoring.channels`, so the picture and the pages agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from eventform.authoring.channels import (
    DEFAULT_BUS_CHANNEL,
    Channel,
    Delivery,
    deliveries,
    domain_channels,
    short_where,
)
from eventform.catalog.model import Catalog, Consumer, Domain, Pipe

DETAIL_LIMIT = 80  # consumers: above this the index shows domains, not consumers (mermaid's edge/text limits)


def node(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _label(text: str) -> str:
    return text.replace('"', "'")


def channel_node(channel: Channel) -> str:
    return node(f"{channel.kind}_{channel.key}")


def channel_shape(channel: Channel) -> str:
    """The node of a channel: SNS topics as subroutines, buses as hexagons, buckets as cylinders."""
    address = channel.address()
    shapes = {
        "topic": f'[["SNS {address}"]]',
        "bucket-topic": f'[["SNS {address}"]]',
        "bus": f'{{{{"bus {address}"}}}}',
        "default-bus": '{{"default bus"}}',
        "bucket": f'[("bucket {channel.bucket}")]',
    }
    return channel_node(channel) + shapes[channel.kind]


def consumer_node(consumer: Consumer) -> str:
    return node("consumer_" + consumer.qualified_name)


def consumer_shape(consumer: Consumer) -> str:
    return f'{consumer_node(consumer)}("{consumer.name}")'


def _target_nodes(consumer: Consumer) -> list[tuple[str, str, str]]:
    """(node, shape, edge label) of the targets a consumer's rules reach besides its own queue and handler."""
    found = []
    for target in consumer.route.targets if consumer.route else ():
        if target.kind in ("queue", "lambda"):
            continue
        where = target.api.endpoint if target.api else target.stream or short_where(target.arn, target.reference)
        ident = node(f"target_{consumer.qualified_name}_{target.name}")
        found.append((ident, f'{ident}>"{target.kind}: {_label(where)}"]', target.name))
    return found


def pipe_node(pipe: Pipe) -> str:
    return node(f"pipe_{pipe.qualified_name}")


@dataclass
class _Drawing:
    """Nodes per domain subgraph, free-standing nodes and edges, kept in first-seen order (deterministic)."""

    focus: str | None
    channels: dict[str, list[Channel]]
    inside: dict[str, dict[str, None]] = field(default_factory=dict)
    outside: dict[str, None] = field(default_factory=dict)
    edges: dict[str, None] = field(default_factory=dict)

    def wants(self, *domains: str) -> bool:
        return self.focus is None or self.focus in domains

    def put(self, domain: str | None, shape: str) -> None:
        if domain:
            self.inside.setdefault(domain, {})[shape] = None
        else:
            self.outside[shape] = None

    def edge(self, text: str) -> None:
        self.edges[text] = None


def _delivery_edge(drawing: _Drawing, delivery: Delivery) -> None:
    consumer = delivery.consumer
    channel = delivery.channel
    source_domain = channel.domain or (consumer.objects.domain if consumer.objects else "")
    if not drawing.wants(source_domain, consumer.domain):
        return
    drawing.put(channel.domain or None, channel_shape(channel))
    what = ", ".join(delivery.events)
    label = {"rule": f"rule: {what}", "push": f"push: {what}"}.get(delivery.kind, what)
    drawing.put(consumer.domain, consumer_shape(consumer))
    drawing.edge(f'  {channel_node(channel)} -->|"{label}"| {consumer_node(consumer)}')
    if channel.kind in ("bucket-topic", "default-bus") and consumer.objects is not None:
        bucket = (
            next(
                c
                for c in drawing.channels[consumer.objects.domain]
                if c.kind == "bucket" and c.bucket == channel.bucket
            )
            if channel.kind == "bucket-topic"
            else _bucket_of(drawing, consumer)
        )
        drawing.put(bucket.domain, channel_shape(bucket))
        drawing.edge(f'  {channel_node(bucket)} -->|"{what}"| {channel_node(channel)}')


def _bucket_of(drawing: _Drawing, consumer: Consumer) -> Channel:
    objects = consumer.objects
    assert objects is not None
    return next(c for c in drawing.channels[objects.domain] if c.kind == "bucket" and c.bucket == objects.bucket)


def _pipe(drawing: _Drawing, catalog: Catalog, domain: Domain, pipe: Pipe) -> None:
    if not drawing.wants(domain.name):
        return
    enrichment = f" + {pipe.enrichment.handler}" if pipe.enrichment else ""
    drawing.put(domain.name, f'{pipe_node(pipe)}[/"pipe {pipe.name}{enrichment}"/]')
    source = pipe.source
    if source.kind == "queue":
        origin = node(f"consumer_{domain.name}/{source.reference}")
    else:
        origin = node(f"{source.kind}_{pipe.qualified_name}")
        shape = f'[("table {source.reference}")]' if source.kind == "table" else f'[["Kinesis {source.reference}"]]'
        drawing.put(domain.name, origin + shape)
    drawing.edge(f'  {origin} -->|"batch {source.batch_size}"| {pipe_node(pipe)}')
    target = node(f"pipetarget_{pipe.qualified_name}")
    label = _label(short_where(pipe.target.arn, pipe.target.reference))
    drawing.put(None, f'{target}>"{pipe.target.kind}: {label}"]')
    drawing.edge(
        f'  {pipe_node(pipe)} -->|"filtered"| {target}' if pipe.filters else f"  {pipe_node(pipe)} --> {target}"
    )


def _schedules_and_alerts(drawing: _Drawing, domain: Domain) -> None:
    if not drawing.wants(domain.name):
        return
    for schedule in domain.schedules:
        ident = node(f"schedule_{domain.name}_{schedule.name}")
        drawing.put(domain.name, f'{ident}(("schedule {schedule.name}"))')
        if schedule.target_kind == "bus":
            bus = next(c for c in drawing.channels[domain.name] if c.kind == "bus")
            drawing.edge(f'  {ident} -->|"{schedule.event}"| {channel_node(bus)}')
        elif schedule.consumer:
            drawing.edge(f"  {ident} --> {node('consumer_' + domain.name + '/' + schedule.consumer)}")
    for alert in domain.api_calls:
        ident = node(f"apicall_{domain.name}_{alert.name}")
        drawing.put(None, channel_shape(DEFAULT_BUS_CHANNEL))
        drawing.put(domain.name, f'{ident}>"rule {alert.name}: {alert.service} {", ".join(alert.actions)}"]')
        drawing.put(None, 'platform_alarms(["platform alarm topic"])')
        drawing.edge(f"  {channel_node(DEFAULT_BUS_CHANNEL)} --> {ident}")
        drawing.edge(f"  {ident} --> platform_alarms")


def topology(catalog: Catalog, focus: str | None = None, routes: dict[str, list[Delivery]] | None = None) -> str:
    """Mermaid flowchart of producers, channels, consumers, targets, schedules and pipes (only what touches
    ``focus`` when given; domains and counts above :data:`DETAIL_LIMIT` consumers without a focus). ``routes``:
    each consumer's deliveries when the caller already has them."""
    if focus is None and len(catalog.consumers) > DETAIL_LIMIT:
        return domain_topology(catalog)
    drawing = _Drawing(focus, {d.name: domain_channels(catalog, d) for d in catalog.domains})
    for domain in catalog.domains:
        if not drawing.wants(domain.name):
            continue
        producer = node("producer_" + domain.name)
        for channel in drawing.channels[domain.name]:
            drawing.put(domain.name, channel_shape(channel))
            if channel.events:
                drawing.put(domain.name, f'{producer}(["{domain.name} producers"])')
                names = ", ".join(e.name for e in channel.events)
                drawing.edge(f'  {producer} -->|"{names}"| {channel_node(channel)}')
        for consumer in domain.consumers:
            drawing.put(domain.name, consumer_shape(consumer))
    for consumer in catalog.consumers:
        for delivery in routes[consumer.qualified_name] if routes else deliveries(catalog, consumer):
            _delivery_edge(drawing, delivery)
        if drawing.wants(consumer.domain):
            for ident, shape, label in _target_nodes(consumer):
                drawing.put(None, shape)
                drawing.edge(f'  {consumer_node(consumer)} -->|"{label}"| {ident}')
    for consumer in catalog.consumers:
        for qualified in consumer.emits:
            event = catalog.event(qualified)
            if not drawing.wants(event.domain, consumer.domain):
                continue
            channel = next(
                c for c in drawing.channels[event.domain] if c.kind in ("topic", "bus") and event in c.events
            )
            drawing.put(event.domain, channel_shape(channel))
            drawing.put(consumer.domain, consumer_shape(consumer))
            drawing.edge(f'  {consumer_node(consumer)} -.->|"{event.name}"| {channel_node(channel)}')
    for domain in catalog.domains:
        _schedules_and_alerts(drawing, domain)
        for pipe in domain.pipes:
            _pipe(drawing, catalog, domain, pipe)
    lines = ["flowchart LR"]
    for domain in catalog.domains:
        if domain.name not in drawing.inside:
            continue
        lines.append(f'  subgraph {node("domain_" + domain.name)}["{domain.name} ({_label(domain.owner)})"]')
        lines += [f"    {shape}" for shape in drawing.inside[domain.name]]
        lines.append("  end")
    lines += [f"  {shape}" for shape in drawing.outside]
    return "\n".join(lines + list(drawing.edges)) + "\n"


def domain_topology(catalog: Catalog) -> str:
    """Mermaid flowchart channel -> consuming domain, one edge per pair labelled with counts: the whole picture of
    a large catalog stays readable and within mermaid's limits; the domain pages keep the per-consumer detail."""
    lines = ["flowchart LR"]
    for domain in catalog.domains:
        label = f"{domain.name} ({_label(domain.owner)})"
        if domain.topic is not None:
            topic_events = sum(1 for e in domain.events if "topic" in e.via)
            lines.append(f'  {node("topic_" + domain.name)}[["{label}: {topic_events} events on SNS"]]')
        if domain.bus is not None:
            bus_events = sum(1 for e in domain.events if "bus" in e.via)
            lines.append(f'  {node("bus_" + domain.name)}{{{{"{label}: {bus_events} events on the bus"}}}}')
        if domain.consumers:
            lines.append(f'  {node("consumers_" + domain.name)}("{label}: {len(domain.consumers)} consumers")')
    reads: dict[tuple[str, str, str], set[str]] = {}  # (channel node, consuming domain, how) -> consumers
    emits: dict[tuple[str, str], set[str]] = {}  # (emitting domain, target domain) -> consumers
    for consumer in catalog.consumers:
        for source in consumer.source_domains():
            kind = "bus" if consumer.route is not None else "topic"
            reads.setdefault((node(f"{kind}_{source}"), consumer.domain, kind), set()).add(consumer.name)
        for qualified in consumer.emits:
            emits.setdefault((consumer.domain, qualified.split("/", 1)[0]), set()).add(consumer.name)
    for (source, target, kind), names in sorted(reads.items()):
        what = "rules" if kind == "bus" else "consumers"
        lines.append(f'  {source} -->|"{len(names)} {what}"| {node("consumers_" + target)}')
    for (source, target), names in sorted(emits.items()):
        lines.append(f'  {node("consumers_" + source)} -.->|"{len(names)} emit"| {node("topic_" + target)}')
    return "\n".join(lines) + "\n"


__all__ = ["DETAIL_LIMIT", "domain_topology", "topology"]
