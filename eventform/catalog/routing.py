"""The routing contract: from the catalog alone, which consumers a published event must reach.

The rehearsal compares what the embedded AWS delivered with this; ``eventform add`` uses it to report how many
examples reach a new consumer."""

from __future__ import annotations

from typing import Any

from eventform.catalog import filters
from eventform.catalog.model import Catalog, Consumer


def topic_consumers(catalog: Catalog) -> tuple[Consumer, ...]:
    """The consumers the rehearsal's routing contract covers: subscribed to topics (not ``via: bus``, and not
    consumers of a bucket's object events, which the tests prove by writing objects)."""
    return tuple(c for c in catalog.consumers if c.route is None and c.objects is None)


def topic_events(catalog: Catalog) -> tuple[Any, ...]:
    """The events the rehearsal publishes: those carried by their domain's SNS topic."""
    return tuple(e for e in catalog.events if "topic" in e.via)


def expected_consumers(catalog: Catalog, qualified: str, message: dict[str, Any]) -> set[str]:
    """Who should receive this SNS message, from the catalog alone (consumed events + filter policies); consumers
    on buses are not SNS subscribers (see the module's docstring). Filters are matched as SNS matches them
    (:func:`eventform.catalog.filters.matches`); ``message`` is what the publisher sends (SNS API shape)."""
    domain = qualified.split("/", 1)[0]
    receivers = set()
    for consumer in catalog.consumers_of(qualified):
        if consumer.route is not None:
            continue
        policy = filters.subscription_policy(list(consumer.events_from(domain)), consumer.filter)
        if filters.matches(policy, consumer.filter_scope, message["MessageAttributes"], message["Message"]):
            receivers.add(consumer.qualified_name)
    return receivers
