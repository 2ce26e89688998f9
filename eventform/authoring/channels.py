"""What travels where: a domain's channels and each consumer's way onto them, resolved from the catalog.

A channel is a real transport with its real name: the domain's SNS topic (``<env>-<domain>-events``), its EventBridge
bus (``<env>-<domain>``), a bucket's SNS topic (``<env>-<domain>-<bucket>-objects``), a bucket itself (S3 notifies
queues and functions directly) or the account's default bus (S3's events, CloudTrail API calls). A delivery is how one
consumer takes from one channel: an SNS subscription with its generated filter policy, a rule with its generated
pattern, or an S3 notification with its key filter. The docs site and the AsyncAPI export both read these, so the
two never disagree; names come from :class:`eventform.catalog.naming.Names`, conditions from the same helpers the
stacks use (``filters.subscription_policy``, ``patterns.rule_pattern``, ``buckets.object_pattern``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from eventform.catalog import filters, patterns, routing
from eventform.catalog.buckets import object_pattern
from eventform.catalog.buses import example_matrix, rendered_inputs
from eventform.catalog.model import OBJECT_EVENTS, Catalog, Consumer, Domain, Environment, Event, Reference
from eventform.catalog.naming import Names

ChannelKind = Literal["topic", "bus", "bucket-topic", "bucket", "default-bus"]
DeliveryKind = Literal["subscription", "push", "rule", "notification"]
OBJECTS_RULE = "objects"  # rule-name part of a bucket consumer's rule on the default bus (modules/stacks/bus_wiring)
DEFAULT_BUS = "default"
# Names with placeholders for documents that hold every environment (AsyncAPI's channel parameters).
TEMPLATE = Names(env="{env}", region="{region}", account_id="{account}")


@dataclass(frozen=True)
class Channel:
    key: str  # unique within a catalog: "orders-events", "orders-bus", "payments-invoices-objects", "default-bus"
    kind: ChannelKind
    domain: str  # the owning domain ("" for the default bus)
    events: tuple[Event, ...] = ()  # catalog events it carries
    bucket: str | None = None
    object_events: tuple[str, ...] = ()  # object event kinds it carries (buckets, bucket topics)
    fifo: bool = False

    def address(self, names: Names = TEMPLATE) -> str:
        """The AWS name of the channel in one environment (``{env}`` placeholders with the default names)."""
        if self.kind == "topic":
            return names.topic(self.domain, self.fifo)
        if self.kind == "bus":
            return names.bus(self.domain)
        if self.kind == "bucket-topic":
            return names.bucket_topic(self.domain, self.bucket or "")
        if self.kind == "bucket":
            return names.bucket(self.domain, self.bucket or "")
        return DEFAULT_BUS

    @property
    def label(self) -> str:
        return {
            "topic": "SNS FIFO topic" if self.fifo else "SNS topic",
            "bus": "EventBridge bus",
            "bucket-topic": "SNS topic of a bucket",
            "bucket": "S3 bucket",
            "default-bus": "EventBridge default bus",
        }[self.kind]


def topic_channel(domain: Domain) -> Channel | None:
    if domain.topic is None:
        return None
    carried = tuple(e for e in domain.events if "topic" in e.via)
    return Channel(f"{domain.name}-events", "topic", domain.name, carried, fifo=domain.topic.fifo)


def bus_channel(domain: Domain) -> Channel | None:
    if domain.bus is None:
        return None
    return Channel(f"{domain.name}-bus", "bus", domain.name, tuple(e for e in domain.events if "bus" in e.via))


def bucket_channels(catalog: Catalog, domain: Domain) -> list[Channel]:
    """Each bucket (what S3 notifies directly) and, when consumers fan out, the bucket's SNS topic."""
    found = []
    for bucket in domain.buckets:
        consumers = [c for c in catalog.bucket_consumers(domain.name, bucket.name) if c.objects]
        kinds = tuple(sorted({k for c in consumers for k in c.objects.events}))  # type: ignore[union-attr]
        found.append(Channel(f"{domain.name}-{bucket.name}-bucket", "bucket", domain.name, (), bucket.name, kinds))
        fanned = tuple(
            sorted({k for c in consumers if c.objects.path == "topic" for k in c.objects.events})  # type: ignore[union-attr]
        )
        if fanned:
            key = f"{domain.name}-{bucket.name}-objects"
            found.append(Channel(key, "bucket-topic", domain.name, (), bucket.name, fanned))
    return found


def domain_channels(catalog: Catalog, domain: Domain) -> list[Channel]:
    """Every channel the domain owns, in a stable order: topic, bus, buckets (with their topics)."""
    own = [topic_channel(domain), bus_channel(domain)]
    return [c for c in own if c is not None] + bucket_channels(catalog, domain)


DEFAULT_BUS_CHANNEL = Channel("default-bus", "default-bus", "")


@dataclass(frozen=True)
class Delivery:
    """One consumer taking from one channel."""

    consumer: Consumer
    channel: Channel
    kind: DeliveryKind
    events: tuple[str, ...]  # event names on that channel, or object kinds
    condition: dict[str, Any] | None  # the whole SNS filter policy / EventBridge pattern / S3 key filter
    rule_source: str | None = None  # rules: the source part of the rule's name (a domain or "objects")

    @property
    def condition_label(self) -> str:
        return {
            "subscription": "SNS filter policy",
            "push": "SNS filter policy",
            "rule": "EventBridge pattern",
            "notification": "S3 notification",
        }[self.kind]

    @property
    def rule_name(self) -> str | None:
        """The rule's name with an ``{env}`` placeholder."""
        return self.rule(TEMPLATE)

    def rule(self, names: Names) -> str | None:
        if self.rule_source is None:
            return None
        return names.rule(self.consumer.domain, self.consumer.physical_name, self.rule_source)


def deliveries(catalog: Catalog, consumer: Consumer, names: Names = TEMPLATE) -> list[Delivery]:
    """How ``consumer`` receives: per source channel, the mechanism and the condition the stacks generate (bucket
    names in patterns from ``names``)."""
    if consumer.tasks:  # via: workflow: workflows' task states send to its queue, no channel subscribes it
        return []
    objects = consumer.objects
    if objects is not None:
        bucket_domain = catalog.domain(objects.domain)
        channels = {c.kind: c for c in bucket_channels(catalog, bucket_domain) if c.bucket == objects.bucket}
        if objects.path == "topic":
            return [Delivery(consumer, channels["bucket-topic"], "subscription", objects.events, None)]
        if objects.path == "bus":
            pattern = object_pattern(
                objects,
                names.bucket(objects.domain, objects.bucket),
                consumer.route.pattern if consumer.route else None,
            )
            return [Delivery(consumer, DEFAULT_BUS_CHANNEL, "rule", objects.events, pattern, OBJECTS_RULE)]
        key_filter = {
            "events": list(objects.s3_types),
            **({"prefix": objects.prefix} if objects.prefix else {}),
            **({"suffix": objects.suffix} if objects.suffix else {}),
        }
        return [Delivery(consumer, channels["bucket"], "notification", objects.events, key_filter)]
    found = []
    for source in consumer.source_domains():
        domain = catalog.domain(source)
        events = consumer.events_from(source)
        if consumer.route is not None:
            channel = bus_channel(domain) or Channel(f"{source}-bus", "bus", source)
            pattern = patterns.rule_pattern(domain.source, list(events), consumer.route.pattern)
            found.append(Delivery(consumer, channel, "rule", events, pattern, source))
        else:
            channel = topic_channel(domain) or Channel(f"{source}-events", "topic", source)
            kind: DeliveryKind = "push" if consumer.delivery == "push" else "subscription"
            found.append(
                Delivery(consumer, channel, kind, events, filters.subscription_policy(list(events), consumer.filter))
            )
    return found


def channel_consumers(catalog: Catalog, channel: Channel) -> list[Delivery]:
    """Deliveries from one channel, in catalog order."""
    return [d for c in catalog.consumers for d in deliveries(catalog, c) if d.channel.key == channel.key]


# --------------------------------------------------------------------------------------------------------------
# What each catalog example delivers (the same matching and rendering as `eventform lint --matrix`)
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExampleRow:
    event: str  # qualified
    index: int
    delivered: bool
    inputs: tuple[tuple[str, str], ...] = ()  # (target, rendered input) for targets that reshape the input


def example_rows(catalog: Catalog) -> dict[str, list[ExampleRow]]:
    """Consumer -> one row per catalog example it could receive: delivered or not (EventBridge's matcher for
    rules, SNS's for subscriptions) and, for rules, what each target with an input path or transformer receives."""
    rows: dict[str, list[ExampleRow]] = {}
    rendered: dict[tuple[str, str, int], list[tuple[str, str]]] = {}
    for consumer_name, target, qualified, index, text in rendered_inputs(catalog):
        rendered.setdefault((consumer_name, qualified, index), []).append((target, text))
    for consumer, qualified, index, delivered in example_matrix(catalog):
        inputs = tuple(rendered.get((consumer.qualified_name, qualified, index), ()))
        rows.setdefault(consumer.qualified_name, []).append(ExampleRow(qualified, index, delivered, inputs))
    for consumer, qualified, index, delivered in routing.sns_example_matrix(catalog):
        rows.setdefault(consumer.qualified_name, []).append(ExampleRow(qualified, index, delivered))
    return rows


def object_kinds(kinds: tuple[str, ...]) -> str:
    """``created, removed`` with S3's notification types, for a reader who knows S3 rather than the catalog."""
    return ", ".join(f"{k} ({', '.join(OBJECT_EVENTS[k].s3_types)})" for k in kinds)


def where(arn: str | None, reference: Reference | None) -> str:
    """Where a target or secret points, as the catalog says it: one ARN, a name resolved in each environment's (or a
    partner's) account, or an ARN per environment."""
    if reference is None or reference.arn:
        return arn or (reference.arn if reference else "") or ""
    if reference.per_environment:
        return "per environment: " + ", ".join(f"{env} {arn}" for env, arn in reference.per_environment)
    owner = f"partner {reference.partner}'s account" if reference.partner else "each environment's own account"
    return f"{reference.name} ({reference.service}, in {owner})"


def short_where(arn: str | None, reference: Reference | None) -> str:
    """The last part of an ARN, or the resource's name: a label for diagrams."""
    if reference is not None and reference.name:
        return reference.name
    return (arn or (reference.arn if reference else "") or "").rsplit(":", 1)[-1]


def environment_names(environment: Environment) -> Names:
    return Names(env=environment.name, region=environment.region, account_id=environment.account_id)


__all__ = [
    "DEFAULT_BUS_CHANNEL",
    "TEMPLATE",
    "Channel",
    "Delivery",
    "ExampleRow",
    "bucket_channels",
    "bus_channel",
    "channel_consumers",
    "deliveries",
    "domain_channels",
    "environment_names",
    "example_rows",
    "object_kinds",
    "short_where",
    "topic_channel",
    "where",
]
