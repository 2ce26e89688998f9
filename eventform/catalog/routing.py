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
