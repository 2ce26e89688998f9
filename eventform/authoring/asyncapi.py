"""Export the catalog as AsyncAPI 3.0: one document per domain, for EventCatalog, code generators and the like.

One channel per real transport, addressed by its AWS name with an ``{env}`` parameter
(:mod:`eventform.authoring.channels`): the domain's SNS topic, its EventBridge bus, its buckets and their SNS topics,
and the channels its consumers take from (other domains' topics and buses, the default bus). ``send`` operations: the
domain publishing on its topic (``publish.*``) and bus (``put-events.*``), its schedules, its handlers' ``emits``;
``receive`` operations: one per consumer and source channel, carrying the condition the stacks generate (the SNS
binding with the filter policy where the binding can express it, and always ``x-eventform-filter``; the rule's name,
bus and pattern as ``x-eventform-rule``; the S3 key filter as ``x-eventform-notification``) and the rule's targets.
Messages are what travels on the wire: on SNS the CloudEvents envelope (raw delivery) whose ``data`` is the event's
JSON Schema, on a bus the EventBridge event whose ``detail`` is that envelope, from a bucket S3's own notification.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from eventform.authoring.channels import TEMPLATE, Channel, Delivery, deliveries, domain_channels, where
from eventform.catalog.model import OBJECT_EVENTS, Catalog, Consumer, Domain, Event, EventVersion, Pipe, Target

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


def _bus_message(catalog: Catalog, event: Event, version: EventVersion) -> dict[str, Any]:
    """The event as EventBridge carries it: ``source``, ``detail-type`` = the event name, ``detail`` = the envelope."""
    domain = catalog.domain(event.domain)
    sns = _message(catalog, event, version)
    schema = {
        "type": "object",
        "required": ["source", "detail-type", "detail"],
        "properties": {
            "source": {"const": domain.source},
            "detail-type": {"const": event.name},
            "detail": sns["payload"]["schema"],
        },
    }
    message = {key: value for key, value in sns.items() if key not in ("headers", "correlationId", "examples")}
    message |= {
        "title": f"{event.name} v{version.number} on EventBridge",
        "contentType": "application/json",
        "correlationId": {"location": "$message.payload#/detail/correlationid"},
        "payload": {"schemaFormat": sns["payload"]["schemaFormat"], "schema": schema},
        "examples": [
            {"name": f"example-{index + 1}", "payload": {"detail-type": event.name, "detail": {"data": example}}}
            for index, example in enumerate(version.examples)
        ],
    }
    return message


def _object_message(kind: str, on_bus: bool) -> dict[str, Any]:
    """An S3 object event as S3 sends it: a notification (bucket, bucket topic) or an EventBridge event."""
    spec = OBJECT_EVENTS[kind]
    if on_bus:
        schema = {
            "type": "object",
            "required": ["source", "detail-type", "detail"],
            "properties": {
                "source": {"const": "aws.s3"},
                "detail-type": {"enum": list(spec.detail_types or ())},
                "detail": {"type": "object", "required": ["bucket", "object"]},
            },
        }
    else:
        schema = {
            "type": "object",
            "required": ["Records"],
            "properties": {
                "Records": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "eventSource": {"const": "aws:s3"},
                            "eventName": {"type": "string", "description": ", ".join(spec.s3_types)},
                            "s3": {"type": "object", "required": ["bucket", "object"]},
                        },
                    },
                }
            },
        }
    return {
        "name": f"object.{kind}",
        "title": f"S3 object {kind}" + (" (EventBridge)" if on_bus else " (S3 notification)"),
        "summary": "Handlers receive it as the CloudEvent object." + kind + " (eventform/runtime/objects.py).",
        "contentType": "application/json",
        "payload": {"schemaFormat": DRAFT7_FORMAT, "schema": schema},
    }


def _channel_object(catalog: Catalog, channel: Channel) -> dict[str, Any]:
    """The channel with its real address (``{env}`` and, for buckets, ``{account}``/``{region}`` parameters)."""
    address = channel.address()
    parameters = {"env": {"description": "Deployment environment, e.g. dev, staging, prod."}}
    if channel.kind == "bucket":
        parameters |= {
            "account": {"description": "The environment's AWS account id."},
            "region": {"description": "The environment's AWS region."},
        }
    if channel.kind == "default-bus":
        parameters = {}
    owner = catalog.domain(channel.domain).owner if channel.domain else "AWS"
    where = f"the {channel.domain} domain" if channel.domain else "the account"
    result: dict[str, Any] = {
        "address": address,
        "title": f"{channel.label} {address}",
        "description": f"{channel.label} of {where} (owner {owner}).",
        "messages": {},
        "x-eventform-transport": channel.kind,
    }
    if parameters:
        result["parameters"] = parameters
    if channel.kind in ("topic", "bucket-topic"):
        ordering: dict[str, Any] = {"type": "FIFO" if channel.fifo else "standard"}
        if channel.fifo:
            topic = catalog.domain(channel.domain).topic
            ordering["contentBasedDeduplication"] = bool(topic and topic.content_based_deduplication)
        result["bindings"] = {"sns": {"name": address, "ordering": ordering, "bindingVersion": "0.1.0"}}
    return result


class _Document:
    """Channels, operations and messages of one document, filled in as the domain's facts are read."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}

    def channel(self, channel: Channel) -> str:
        key = channel.key
        self.channels.setdefault(key, _channel_object(self.catalog, channel))
        return key

    def carry(self, channel: Channel, event: Event) -> list[dict[str, str]]:
        """Put every version of ``event`` on ``channel``; return the operation's message references."""
        key = self.channel(channel)
        on_bus = channel.kind == "bus"
        refs = []
        for version in event.versions:
            mid = message_id(event, version) + (".bus" if on_bus else "")
            if mid not in self.messages:
                build = _bus_message if on_bus else _message
                self.messages[mid] = build(self.catalog, event, version)
            self.channels[key]["messages"][mid] = {"$ref": f"#/components/messages/{mid}"}
            refs.append({"$ref": f"#/channels/{key}/messages/{mid}"})
        return refs

    def carry_objects(self, channel: Channel, kinds: tuple[str, ...]) -> list[dict[str, str]]:
        key = self.channel(channel)
        on_bus = channel.kind == "default-bus"
        refs = []
        for kind in kinds:
            mid = f"s3.{kind}" + (".bus" if on_bus else "")
            self.messages.setdefault(mid, _object_message(kind, on_bus))
            self.channels[key]["messages"][mid] = {"$ref": f"#/components/messages/{mid}"}
            refs.append({"$ref": f"#/channels/{key}/messages/{mid}"})
        return refs


def _sns_policy_fits_binding(policy: dict[str, Any]) -> bool:
    """The SNS binding's ``filterPolicy`` takes strings, lists of strings or objects per key (no ``$or``, no
    numeric or other operator lists); a policy beyond that is carried only as ``x-eventform-filter``."""
    return (
        all(
            isinstance(v, (str, dict)) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
            for k, v in policy.items()
            if k != "$or"
        )
        and "$or" not in policy
    )


def _target(consumer: Consumer, target: Target) -> dict[str, Any]:
    found: dict[str, Any] = {"name": target.name, "type": target.kind}
    if target.arn or target.reference:
        found["destination"] = where(target.arn, target.reference)
    if target.stream is not None:  # a catalog stream or delivery stream, by name
        found["destination"] = f"catalog {target.stream}"
    if target.api is not None:
        found["endpoint"] = f"{target.api.method} {target.api.endpoint}"
    if target.kind == "queue":
        found["queue"] = TEMPLATE.queue(consumer.domain, consumer.physical_name, False)
    if target.input_path:
        found["input_path"] = target.input_path
    if target.input_transformer is not None:
        found["input_transformer"] = {
            "paths": target.input_transformer.paths,
            "template": target.input_transformer.template,
        }
    if target.partition_key_path:
        found["partition_key_path"] = target.partition_key_path
    return found


def _receive(doc: _Document, delivery: Delivery) -> None:
    consumer, channel = delivery.consumer, delivery.channel
    catalog = doc.catalog
    if consumer.objects is not None:
        refs = doc.carry_objects(channel, delivery.events)
        source = consumer.objects.bucket
    else:
        refs = [r for name in delivery.events for r in doc.carry(channel, catalog.domain(channel.domain).event(name))]
        source = channel.domain
    operation: dict[str, Any] = {
        "action": "receive",
        "title": f"{consumer.name} receives from {channel.address()}",
        "summary": consumer.description,
        "channel": {"$ref": f"#/channels/{doc.channel(channel)}"},
        "messages": refs,
    }
    if consumer.handler:
        operation["x-eventform-handler"] = f"handlers/{consumer.handler}/handler.py"
    if delivery.kind in ("subscription", "push"):
        queue = TEMPLATE.queue(consumer.domain, consumer.physical_name, consumer.fifo)
        function = TEMPLATE.function(consumer.domain, consumer.physical_name)
        endpoint = {"name": queue} if delivery.kind == "subscription" else {"name": function}
        subscriber: dict[str, Any] = {
            "protocol": "sqs" if delivery.kind == "subscription" else "lambda",
            "endpoint": endpoint,
            "rawMessageDelivery": delivery.kind == "subscription",
            "filterPolicyScope": "MessageBody" if consumer.filter_scope == "body" else "MessageAttributes",
        }
        if delivery.condition and _sns_policy_fits_binding(delivery.condition):
            subscriber["filterPolicy"] = delivery.condition
        operation["bindings"] = {"sns": {"consumers": [subscriber], "bindingVersion": "0.1.0"}}
        if delivery.condition:
            operation["x-eventform-filter"] = {"scope": consumer.filter_scope, "policy": delivery.condition}
    elif delivery.kind == "rule":
        operation["x-eventform-rule"] = {
            "name": delivery.rule_name,
            "bus": channel.address(),
            "pattern": delivery.condition,
            "targets": [_target(consumer, t) for t in consumer.route.targets] if consumer.route else [],
        }
    else:
        operation["x-eventform-notification"] = {
            "destination": "function" if consumer.delivery == "push" else "queue",
            **(delivery.condition or {}),
        }
    doc.operations[f"consume.{consumer.name}.{source}"] = operation


def document(catalog: Catalog, domain: Domain) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of one domain (deterministic: sorted, no timestamps)."""
    doc = _Document(catalog)
    for channel in domain_channels(catalog, domain):
        key = doc.channel(channel)
        verb = "put-events" if channel.kind == "bus" else "publish"
        for event in channel.events:
            for version, ref in zip(event.versions, doc.carry(channel, event), strict=True):
                mid = ref["$ref"].rsplit("/", 1)[1]
                doc.operations[f"{verb}.{message_id(event, version)}"] = {
                    "action": "send",
                    "title": f"{'Put' if channel.kind == 'bus' else 'Publish'} {event.name} v{version.number}",
                    "channel": {"$ref": f"#/channels/{key}"},
                    "messages": [{"$ref": f"#/channels/{key}/messages/{mid}"}],
                }
        if channel.kind == "bus":
            for schedule in domain.schedules:
                if schedule.target_kind == "bus":  # schedules to a queue or a function do not use the bus
                    event = domain.event(schedule.event or "")
                    doc.operations[f"schedule.{schedule.name}"] = {
                        "action": "send",
                        "title": f"Scheduler puts {event.name} ({schedule.expression})",
                        "summary": schedule.description,
                        "channel": {"$ref": f"#/channels/{key}"},
                        "messages": doc.carry(channel, event)[-1:],
                        "x-eventform-schedule": {
                            "expression": schedule.expression,
                            "timezone": schedule.timezone,
                            "payload": schedule.payload,
                        },
                    }
    for consumer in domain.consumers:
        for delivery in deliveries(catalog, consumer):
            _receive(doc, delivery)
        for qualified in consumer.emits:  # the handler publishes these: a send operation on their channel
            event = catalog.event(qualified)
            owner = catalog.domain(event.domain)
            channel = next(
                c for c in domain_channels(catalog, owner) if c.kind in ("topic", "bus") and event in c.events
            )
            doc.operations[f"emit.{consumer.name}.{event.name}"] = {
                "action": "send",
                "title": f"{consumer.name} publishes {event.name}",
                "channel": {"$ref": f"#/channels/{doc.channel(channel)}"},
                "messages": doc.carry(channel, event),
            }
    for channel in doc.channels.values():
        channel["messages"] = dict(sorted(channel["messages"].items()))
    extensions = {"x-eventform-pipes": [_pipe(pipe) for pipe in domain.pipes]} if domain.pipes else {}
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
        "channels": dict(sorted(doc.channels.items())),
        "operations": dict(sorted(doc.operations.items())),
        "components": {"messages": dict(sorted(doc.messages.items()))},
        **extensions,
    }


def _pipe(pipe: Pipe) -> dict[str, Any]:
    """A pipe is point to point (no channel of its own): its source, filters, enrichment and target."""
    source = pipe.source
    described: dict[str, Any] = {
        "name": TEMPLATE.pipe(pipe.domain, pipe.name),
        "description": pipe.description,
        "source": {"kind": source.kind, "reference": source.reference, "batch_size": source.batch_size},
        "filters": list(pipe.filters),
        "target": {"kind": pipe.target.kind, "destination": where(pipe.target.arn, pipe.target.reference)},
    }
    if source.events:
        described["source"]["events"] = list(source.events)
    if pipe.enrichment is not None:
        described["enrichment"] = f"handlers/{pipe.enrichment.handler}/handler.py"
    return described


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
