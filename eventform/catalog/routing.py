"""The routing contract: from the catalog alone, who must receive a published event, on every channel it travels.

Channels: the domain's SNS topic (filter policies, matched as SNS matches them), the domain's EventBridge bus (rule
patterns, matched with eventform's EventBridge matcher), a bucket's object events (S3's key filters and event kinds;
``via: bus`` consumers also through their default-bus pattern), and schedules (what Scheduler puts on a bus). The
rehearsal compares what the embedded AWS delivered with this; ``eventform add`` uses it to report how many examples
reach a new consumer. Nothing here looks at what was observed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eventform.catalog import buckets, filters, patterns
from eventform.catalog.model import OBJECT_EVENTS, Catalog, Consumer, Event, ObjectSource

# Object event kinds the rehearsal produces: writing an object and deleting it permanently.
REHEARSED_OBJECT_KINDS = ("created", "removed")
OBJECT_DETAIL = {"created": ("Object Created", "PutObject"), "removed": ("Object Deleted", "DeleteObject")}


@dataclass(frozen=True)
class Receiver:
    """One expected arrival: a consumer, and for bus consumers the rule target (``None``: the consumer itself)."""

    consumer: str
    target: str | None = None

    def __str__(self) -> str:
        return self.consumer if self.target is None else f"{self.consumer} -> {self.target}"


def channels(event: Event) -> tuple[str, ...]:
    """Where an event travels: ``topic``, ``bus`` or both."""
    return tuple(c for c in ("topic", "bus") if c in event.via)


def topic_consumers(catalog: Catalog) -> tuple[Consumer, ...]:
    """The consumers subscribed to topics (queue and push), not via bus nor of object events."""
    return tuple(c for c in catalog.consumers if c.route is None and c.objects is None)


def topic_events(catalog: Catalog) -> tuple[Event, ...]:
    """The events carried by their domain's SNS topic."""
    return tuple(e for e in catalog.events if "topic" in e.via)


def expected_consumers(catalog: Catalog, qualified: str, message: dict[str, Any]) -> set[str]:
    """Who should receive this SNS message: consumers of the event subscribed to topics whose filter policy matches
    (:func:`eventform.catalog.filters.matches`); ``message`` is what the publisher sends (SNS API shape)."""
    return {
        consumer.qualified_name
        for consumer in catalog.consumers_of(qualified)
        if consumer.route is None and receives(consumer, qualified, message)
    }


def receives(consumer: Consumer, qualified: str, message: dict[str, Any]) -> bool:
    """Does SNS deliver this message of ``qualified`` to the consumer's subscription on that event's topic?"""
    policy = filters.subscription_policy(list(consumer.events_from(qualified.split("/", 1)[0])), consumer.filter)
    return filters.matches(policy, consumer.filter_scope, message["MessageAttributes"], message["Message"])


def sns_example_matrix(catalog: Catalog) -> list[tuple[Consumer, str, int, bool]]:
    """(consumer, event, example index, delivered?) for every topic subscriber (queue or push) and every catalog
    example of the events it consumes: the message the publisher would send, matched as SNS matches it. The
    SNS twin of :func:`eventform.catalog.buses.example_matrix` (what ``lint --matrix`` prints for rules)."""
    from eventform.runtime.publisher import Publisher

    publisher = Publisher(catalog, "matrix")
    messages: dict[tuple[str, int], dict[str, Any]] = {}
    rows = []
    for consumer in topic_consumers(catalog):
        for qualified in consumer.events:
            for index, example in enumerate(catalog.event(qualified).latest.examples):
                if (qualified, index) not in messages:
                    event, envelope = publisher.envelope(qualified, example, event_id=f"example-{index}")
                    messages[(qualified, index)] = publisher.sns_message(event, envelope)
                rows.append((consumer, qualified, index, receives(consumer, qualified, messages[(qualified, index)])))
    return rows


def expected_on_bus(catalog: Catalog, qualified: str, bus_event: dict[str, Any]) -> set[Receiver]:
    """Every target of every via-bus consumer whose rule on the event's domain bus matches ``bus_event`` (the event
    as EventBridge delivers it), with the rule pattern synthesis generates (:func:`patterns.rule_pattern`)."""
    domain = qualified.split("/", 1)[0]
    source = catalog.domain(domain).source
    receivers = set()
    for consumer in catalog.consumers_of(qualified):
        if consumer.route is None:
            continue
        pattern = patterns.rule_pattern(source, list(consumer.events_from(domain)), consumer.route.pattern)
        if patterns.matches(pattern, bus_event):
            receivers |= {Receiver(consumer.qualified_name, t.name) for t in consumer.route.targets}
    return receivers


def bus_event(
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    *,
    event_id: str,
    time: str,
    account: str,
    region: str,
    resources: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An event as EventBridge delivers it to targets (the shape patterns and input transformers see)."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time,
        "region": region,
        "resources": list(resources),
        "detail": detail,
    }


@dataclass(frozen=True)
class ObjectProbe:
    """An object the rehearsal writes (and deletes) so that one consumer's selection is exercised."""

    bucket_domain: str
    bucket: str
    key: str


def object_probes(catalog: Catalog) -> Iterator[ObjectProbe]:
    """One key per distinct key filter any consumer of a bucket declares (prefix + name + suffix), so every object
    path is exercised; a bucket nobody filters gets one key at its root, and a bucket without object consumers (a
    delivery stream's archive, rehearsed through the delivery stream) none."""
    for domain in catalog.domains:
        for bucket in domain.buckets:
            seen: set[tuple[str, str]] = set()
            consumers = catalog.bucket_consumers(domain.name, bucket.name)
            if not consumers:
                continue
            for consumer in consumers:
                objects = consumer.objects
                assert objects is not None
                seen.add((objects.prefix, objects.suffix))
            for prefix, suffix in sorted(seen) or [("", "")]:
                yield ObjectProbe(domain.name, bucket.name, f"{prefix}eventform-rehearsal{suffix or '.bin'}")


def _selects(objects: ObjectSource, kind: str, key: str) -> bool:
    return kind in objects.events and key.startswith(objects.prefix) and key.endswith(objects.suffix)


def expected_for_object(
    catalog: Catalog, probe: ObjectProbe, kind: str, s3_event: dict[str, Any], bucket_name: str
) -> set[str]:
    """Consumers that must receive this object event: S3's event kinds and key filters for notification and topic
    consumers; for ``via: bus`` consumers the default-bus pattern (``buckets.object_pattern`` with the consumer's
    own conditions) matched against ``s3_event``, the event as S3 sends it to EventBridge."""
    receivers = set()
    for consumer in catalog.bucket_consumers(probe.bucket_domain, probe.bucket):
        objects = consumer.objects
        assert objects is not None
        if objects.path == "bus":
            if OBJECT_EVENTS[kind].detail_types is None:
                continue
            route = consumer.route
            pattern = buckets.object_pattern(objects, bucket_name, route.pattern if route else None)
            if patterns.matches(pattern, s3_event):
                receivers.add(consumer.qualified_name)
        elif _selects(objects, kind, probe.key):
            receivers.add(consumer.qualified_name)
    return receivers


def s3_bus_event(
    kind: str, bucket_name: str, key: str, size: int, *, event_id: str, time: str, account: str, region: str
) -> dict[str, Any]:
    """The event S3 puts on the default bus for an object write or permanent delete (Amazon S3 EventBridge docs)."""
    detail_type, reason = OBJECT_DETAIL[kind]
    obj: dict[str, Any] = {"key": key, "sequencer": "0"}
    if kind == "created":
        obj["size"] = size
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket_name},
        "object": obj,
        "request-id": "rehearsal",
        "requester": account,
        "reason": reason,
    }
    if kind == "removed":
        detail["deletion-type"] = "Permanently Deleted"
    return bus_event(
        "aws.s3",
        detail_type,
        detail,
        event_id=event_id,
        time=time,
        account=account,
        region=region,
        resources=(f"arn:aws:s3:::{bucket_name}",),
    )

