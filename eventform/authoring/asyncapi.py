"""Export the catalog as AsyncAPI 3.0: one document per domain, for EventCatalog, code generators and the like.

A domain's document holds its own topic as a channel with a ``send`` operation per event version, and, for each of
its consumers, the source topics as channels with a ``receive`` operation (and a ``send`` operation for each event
its handler ``emits``). Messages are what travels on the wire:
the CloudEvents envelope (raw SNS delivery) whose ``data`` is the event's JSON Schema from the catalog.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from eventform.catalog.model import Catalog, Domain, Event, EventVersion

ASYNCAPI_VERSION = "3.0.0"
# Our schemas stick to keywords draft-07 shares with 2020-12; one using 2020-12-only keywords is labelled as such.
DRAFT7_FORMAT = "application/schema+json;version=draft-07"
DRAFT2020_FORMAT = "application/schema+json;version=2020-12"
ONLY_2020 = frozenset(
    {
        "prefixItems",
        "$defs",
        "unevaluatedProperties",
        "unevaluatedItems",
        "$dynamicRef",
        "$dynamicAnchor",
        "dependentRequired",
        "dependentSchemas",
        "$anchor",
    }
)


def _keywords(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        return set(schema) | {k for value in schema.values() for k in _keywords(value)}
    if isinstance(schema, list):
        return {k for value in schema for k in _keywords(value)}
    return set()


def message_id(event: Event, version: EventVersion) -> str:
    return f"{event.name}.v{version.number}"


def channel_id(domain: str) -> str:
    return f"{domain}-events"


def envelope_schema(domain: Domain, event: Event, version: EventVersion) -> dict[str, Any]:
    data = copy.deepcopy(version.schema)
    data.pop("$schema", None)
    data.pop("$id", None)
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "description": "Unique per source: with it, the idempotency key of consumers."},
            "source": {"const": domain.source},
            "type": {"const": event.name},
            "dataversion": {"const": version.number},  # an integer, as the runtime requires
            "time": {"type": "string", "format": "date-time"},
            "correlationid": {"type": "string"},
            "traceparent": {"type": "string"},
            "datacontenttype": {"const": "application/json"},
            "data": data,
        },
    }


def _message(catalog: Catalog, event: Event, version: EventVersion) -> dict[str, Any]:
    domain = catalog.domain(event.domain)
    schema = envelope_schema(domain, event, version)
    schema_format = DRAFT2020_FORMAT if _keywords(version.schema) & ONLY_2020 else DRAFT7_FORMAT
    headers = {
        "type": "object",
        "description": "SNS message attributes (copied to SQS message attributes on raw delivery).",
        "properties": {
            "type": {"const": event.name},
            "version": {"const": str(version.number)},
            "source": {"const": domain.source},
            **{name: {"type": "string"} for name in event.attributes},
        },
    }
    message: dict[str, Any] = {
        "name": event.name,
        "title": f"{event.name} v{version.number}",
        "summary": event.description,
        "contentType": "application/cloudevents+json",
        "correlationId": {"location": "$message.payload#/correlationid"},
        "headers": headers,
        "payload": {"schemaFormat": schema_format, "schema": schema},
        "examples": [
            {"name": f"example-{index + 1}", "payload": {"type": event.name, "data": example}}
            for index, example in enumerate(version.examples)
        ],
    }
    if event.pii:
        message["x-eventform-pii"] = list(event.pii)
    if event.message_group:
        message["x-eventform-message-group"] = event.message_group
    return message


def _channel(catalog: Catalog, domain_name: str, events: list[Event]) -> dict[str, Any]:
    domain = catalog.domain(domain_name)
    fifo = bool(domain.topic and domain.topic.fifo)
    return {
        "address": "{env}-" + f"{domain_name}-events" + (".fifo" if fifo else ""),
        "title": f"{domain_name} events",
        "description": f"SNS {'FIFO ' if fifo else ''}topic of the {domain_name} domain (owner {domain.owner}).",
        "parameters": {"env": {"description": "Deployment environment, e.g. dev, staging, prod."}},
        "messages": {
            message_id(event, version): {"$ref": f"#/components/messages/{message_id(event, version)}"}
            for event in events
            for version in event.versions
        },
    }


def document(catalog: Catalog, domain: Domain) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of one domain (deterministic: sorted, no timestamps)."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    if domain.events:
        channels[channel_id(domain.name)] = _channel(catalog, domain.name, list(domain.events))
        for event in domain.events:
            for version in event.versions:
                mid = message_id(event, version)
                messages[mid] = _message(catalog, event, version)
                operations[f"publish.{mid}"] = {
                    "action": "send",
                    "title": f"Publish {event.name} v{version.number}",
                    "channel": {"$ref": f"#/channels/{channel_id(domain.name)}"},
                    "messages": [{"$ref": f"#/channels/{channel_id(domain.name)}/messages/{mid}"}],
                }
    for consumer in domain.consumers:
        for source in consumer.source_domains():
            consumed = [catalog.domain(source).event(name) for name in consumer.events_from(source)]
            channel = channels.setdefault(channel_id(source), _channel(catalog, source, []))
            refs = []
            for event in consumed:
                for version in event.versions:
                    mid = message_id(event, version)
                    messages.setdefault(mid, _message(catalog, event, version))
                    channel["messages"][mid] = {"$ref": f"#/components/messages/{mid}"}
                    refs.append({"$ref": f"#/channels/{channel_id(source)}/messages/{mid}"})
            operation: dict[str, Any] = {
                "action": "receive",
                "title": f"{consumer.name} receives from {source}",
                "summary": consumer.description,
                "channel": {"$ref": f"#/channels/{channel_id(source)}"},
                "messages": refs,
            }
            if consumer.handler:
                operation["x-eventform-handler"] = f"handlers/{consumer.handler}/handler.py"
            if consumer.filter:
                operation["x-eventform-filter"] = {"scope": consumer.filter_scope, "policy": consumer.filter}
            operations[f"consume.{consumer.name}.{source}"] = operation
        for qualified in consumer.emits:  # the handler publishes these: a send operation on the target's topic
            event = catalog.event(qualified)
            channel = channels.setdefault(channel_id(event.domain), _channel(catalog, event.domain, []))
            refs = []
            for version in event.versions:
                mid = message_id(event, version)
                messages.setdefault(mid, _message(catalog, event, version))
                channel["messages"][mid] = {"$ref": f"#/components/messages/{mid}"}
                refs.append({"$ref": f"#/channels/{channel_id(event.domain)}/messages/{mid}"})
            operations[f"emit.{consumer.name}.{event.name}"] = {
                "action": "send",
                "title": f"{consumer.name} publishes {event.name}",
                "channel": {"$ref": f"#/channels/{channel_id(event.domain)}"},
                "messages": refs,
            }
    for channel in channels.values():
        channel["messages"] = dict(sorted(channel["messages"].items()))
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": f"{domain.name} domain events",
            "version": _version(domain),
            "description": domain.description,
            "contact": {"name": domain.owner},
            "tags": [{"name": f"owner:{domain.owner}"}, {"name": f"data-classification:{domain.data_classification}"}],
        },
        "id": f"urn:{domain.source}",
        "defaultContentType": "application/cloudevents+json",
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {"messages": dict(sorted(messages.items()))},
    }


def _version(domain: Domain) -> str:
    """A document version that grows when an event version is added: the sum of the events' latest versions."""
    return f"1.{sum(event.latest.number for event in domain.events)}.0"


def export(catalog: Catalog, out: Path) -> list[Path]:
    """Write ``<out>/<domain>.asyncapi.json`` for every domain; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for domain in catalog.domains:
        path = out / f"{domain.name}.asyncapi.json"
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(document(catalog, domain), indent=2, ensure_ascii=False) + "\n")
        temporary.replace(path)
        written.append(path)
    return written


__all__ = ["ASYNCAPI_VERSION", "document", "envelope_schema", "export"]
