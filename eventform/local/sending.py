"""What the rehearsal sends on every channel the catalog declares, each with the receivers the catalog implies.

- topic: every example of every version of every event carried by its domain's SNS topic (the publisher's message);
- bus: the same examples of events carried by their domain's bus, as ``Publisher.put_events`` puts them (with a
  known ``Time``, so target inputs can be predicted exactly);
- FIFO: several events of one message group on each FIFO topic, to check each consumer handled them in order;
- object: per bucket, one object per key filter a consumer declares, written, then deleted permanently;
- schedule: each deployed schedule fired once on demand, sending exactly what Scheduler would send (its target's
  input with the context attributes filled in, source and detail-type from its EventBridge parameters);
- http: every example of the latest version of every event an ingestion endpoint accepts, posted through the
  deployed REST API as :mod:`eventform.local.ingestion_runner` plays it; its receivers are the bus's.

Expected receivers come from :mod:`eventform.catalog.routing`, never from what was observed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from eventform.catalog import routing, streams, table_streams
from eventform.catalog.ingestion import endpoints_of
from eventform.catalog.model import Catalog, Event, Ingestion
from eventform.catalog.naming import Names
from eventform.local.embedded import LOCAL_ENV, LocalError
from eventform.local.ingestion_runner import Gateway
from eventform.runtime.publisher import Publisher

FIFO_SEQUENCE = 4  # events per FIFO message group


@dataclass
class Sent:
    """One thing the rehearsal sent, and who must receive it (from the catalog alone)."""

    channel: str  # topic | bus | fifo | object | schedule | stream | table | http
    event: str  # qualified event, or "<domain>/<bucket> object.<kind>"
    example: str  # "v1#0", the object key, the schedule's name, or "group G #i"
    event_id: str | None  # CloudEvents id the handlers see (None for object events: matched by type and key)
    expected: set[str]  # consumers whose handler (or queue) must receive it
    targets: set[routing.Receiver] = field(default_factory=set)  # bus: (consumer, target) the rules deliver to
    bus_event: dict[str, Any] | None = None  # bus: the event as EventBridge built it (for target inputs)
    object_key: tuple[str, str] | None = None  # object events: (type, key)
    group: str | None = None  # FIFO: the message group
    observed: dict[str, list[str]] = field(default_factory=dict)  # "consumer -> target" -> bodies its tap got
    refused: str | None = None  # the embedded AWS failed to take it (why)
    body: str | None = None  # sent as a plain message (a schedule's queue target): matched by its body


def _clock(start: datetime) -> Any:
    """Distinct whole-second times, so that each event's time is known and differs from the previous one."""
    state = {"now": start}

    def tick() -> datetime:
        state["now"] += timedelta(seconds=1)
        return state["now"]

    return tick


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Channels:
    """Sends on the embedded AWS; ``client(service)`` gives boto3 clients pointed at it."""

    def __init__(
        self,
        catalog: Catalog,
        client: Callable[[str], Any],
        account: str,
        region: str,
        after_send: Callable[[Sent], None] = lambda sent: None,
    ) -> None:
        """``after_send`` runs right after each PutEvents (the rehearsal reads the observed taps there)."""
        self.catalog, self.client, self.account, self.region = catalog, client, account, region
        self.after_send = after_send
        self.versions: dict[tuple[str, str], str] = {}  # objects written, to delete by version
        self.names = Names(env=LOCAL_ENV, region=region, account_id=account)
        self.tick = _clock(datetime.now(UTC).replace(microsecond=0))
        self.publisher = Publisher(
            catalog, LOCAL_ENV, sns=client("sns"), ssm=client("ssm"), events=client("events"), kinesis=client("kinesis")
        )
        self.publisher.clock = self.tick
        self.gateway = Gateway(client("apigateway"), client("events"), self.names)

    # Catalog events -------------------------------------------------------------------------------------
    def examples(self, only: str | None = None) -> list[tuple[Event, int, int, dict[str, Any]]]:
        """(event, version, index, payload) for every example of every version (of one event with ``only``)."""
        chosen = [e for e in self.catalog.events if only in (None, e.qualified_name)]
        if only and not chosen:
            raise LocalError(
                f"unknown event {only!r}; the catalog has {', '.join(e.qualified_name for e in self.catalog.events)}"
            )
        return [
            (event, version.number, index, payload)
            for event in chosen
            for version in event.versions
            for index, payload in enumerate(version.examples)
        ]

    def on_topic(self, event: Event, version: int, payload: dict[str, Any], label: str) -> Sent:
        envelope_event, envelope = self.publisher.envelope(event.qualified_name, payload, version=version)
        message = self.publisher.sns_message(envelope_event, envelope)
        self.publisher.sns.publish(TopicArn=self.publisher.topic_arn(event.domain), **message)
        expected = routing.expected_consumers(self.catalog, event.qualified_name, message)
        return Sent("topic", event.qualified_name, label, envelope["id"], expected)

    def on_bus(self, event: Event, version: int, payload: dict[str, Any], label: str) -> Sent:
        """PutEvents exactly as the publisher sends it, plus a Time (EventBridge's own would be unknown to us)."""
        _, envelope = self.publisher.envelope(event.qualified_name, payload, version=version)
        source = self.catalog.domain(event.domain).source
        moment = self.tick()
        detail = json.dumps(envelope, separators=(",", ":"), sort_keys=True)
        refused = None
        try:
            response = self.client("events").put_events(
                Entries=[
                    {
                        "Source": source,
                        "DetailType": event.name,
                        "Detail": detail,
                        "EventBusName": self.publisher.bus_name(event.domain),
                        "Time": moment,
                    }
                ]
            )
            result = response["Entries"][0]
        except ClientError as error:  # moto answers HTTP 500 when a target's rendering fails (see taps.py)
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 500:
                raise
            refused, result = "the embedded AWS failed PutEvents (HTTP 500)", {"EventId": "-"}
        else:
            if response.get("FailedEntryCount") or "EventId" not in result:
                raise LocalError(f"PutEvents refused {event.qualified_name} {label}: {result}")
        delivered = routing.bus_event(
            source,
            event.name,
            envelope,
            event_id=result["EventId"],
            time=_iso(moment),
            account=self.account,
            region=self.region,
        )
        targets = routing.expected_on_bus(self.catalog, event.qualified_name, delivered)
        consumers = {r.consumer for r in targets}
        sent = Sent("bus", event.qualified_name, label, envelope["id"], consumers, targets, delivered)
        sent.refused = refused
        self.after_send(sent)
        return sent

    def on_stream(self, stream: str, event: Event, version: int, payload: dict[str, Any], label: str) -> Sent:
        """One record on a catalog stream, as ``Publisher.put_records`` puts it; its receivers are the stream's
        consumers whose mapping filters (generated and their own) pass the envelope."""
        event_id, record = self.publisher.stream_record(stream, event.qualified_name, payload, version=version)
        self.client("kinesis").put_record(StreamName=self.publisher.stream_name(stream), **record)
        expected = streams.receivers(self.catalog, stream, json.loads(record["Data"]))
        return Sent("stream", event.qualified_name, label, event_id, expected)

    def on_table(self, table: str, change: str, event: Event, payload: dict[str, Any], label: str) -> Sent:
        """One change of a catalog table (``<domain>/<consumer>/<table>``) with the example as the item: put (an
        insert), put twice (a modification) or put and delete (a removal). Matched by event type and the item's
        key (its ``pk``); the receivers are the table consumers mapping that change whose filters pass it."""
        domain, owner, name = table.split("/")
        table_name = self.names.table(domain, owner, name)
        item = {k: table_streams.typed(v) for k, v in payload.items()}
        dynamodb = self.client("dynamodb")
        dynamodb.put_item(TableName=table_name, Item=item)
        if change == "MODIFY":
            dynamodb.put_item(TableName=table_name, Item=item)
        elif change == "REMOVE":
            dynamodb.delete_item(TableName=table_name, Key={"pk": item["pk"]})
        expected = streams.table_receivers(self.catalog, table, change, payload)
        sent = Sent("table", event.qualified_name, label, None, expected)
        sent.object_key = (event.name, str(payload.get("pk")))
        return sent

    def on_endpoint(self, endpoint: Ingestion, event: Event, payload: dict[str, Any], label: str) -> Sent:
        """The example posted to the endpoint; API Gateway (played) validates it with the deployed model and puts
        the rendered envelope on the bus, where the same rules as for ``on_bus`` must deliver it."""
        moment = self.tick()
        answer = self.gateway.post(endpoint, event.name, json.dumps(payload), request_time=moment, put_time=moment)
        if answer.status not in (202, 500) or answer.entry is None:
            raise LocalError(
                f"{endpoint.qualified_name} answered {answer.status} to {event.qualified_name} {label}: {answer.body}"
            )
        envelope = json.loads(answer.entry["Detail"])
        delivered = routing.bus_event(
            answer.entry["Source"],
            answer.entry["DetailType"],
            envelope,
            event_id=answer.event_id or "-",
            time=_iso(moment),
            account=self.account,
            region=self.region,
        )
        targets = routing.expected_on_bus(self.catalog, event.qualified_name, delivered)
        consumers = {r.consumer for r in targets}
        sent = Sent("http", event.qualified_name, label, envelope["id"], consumers, targets, delivered)
        if answer.status == 500:
            sent.refused = "the embedded AWS failed PutEvents (HTTP 500)"
        self.after_send(sent)
        return sent

    def every_example(self, only: str | None = None) -> list[Sent]:
        sent = []
        carried: dict[str, list[str]] = {}  # event -> the catalog streams it travels on
        for domain in self.catalog.domains:
            for stream in domain.streams:
                for qualified in stream.events:
                    carried.setdefault(qualified, []).append(stream.qualified_name)
        changed: dict[str, list[tuple[str, str]]] = {}  # event -> (table, change) it is, once per table and change
        for consumer in self.catalog.consumers:
            if consumer.stream is not None and consumer.stream.kind == "table":
                for change, qualified in consumer.stream.changes:
                    found = (consumer.stream.qualified_stream, change)
                    if found not in changed.setdefault(qualified, []):
                        changed[qualified].append(found)
        for event, version, index, payload in self.examples(only):
            label = f"v{version}#{index}"
            for channel in routing.channels(event):
                send = self.on_topic if channel == "topic" else self.on_bus
                sent.append(send(event, version, payload, label))
            for carrier in carried.get(event.qualified_name, ()):
                sent.append(self.on_stream(carrier, event, version, payload, label))
            for table, change in changed.get(event.qualified_name, ()):
                sent.append(self.on_table(table, change, event, payload, label))
            if version == event.latest.number:  # an endpoint validates with the latest version's schema
                for endpoint in endpoints_of(self.catalog, event.qualified_name):
                    sent.append(self.on_endpoint(endpoint, event, payload, label))
        return sent

    def chosen(
        self, only: str | None, index: int | None, count: int = 1, payload: dict[str, Any] | None = None
    ) -> list[Sent]:
        """``local publish``: chosen examples (or a given payload of ``only``), ``count`` times, on every channel."""
        picked = self.examples(only)
        if payload is not None:
            event = picked[0][0]
            picked = [(event, event.latest.number, 0, payload)]
        elif index is not None:
            picked = [p for p in picked if p[2] == index]
            if not picked:
                raise LocalError(f"{only or 'no event'} has no example --index {index}")
        sent = []
        for event, version, position, data in picked:
            for _ in range(count):
                for channel in routing.channels(event):
                    send = self.on_topic if channel == "topic" else self.on_bus
                    sent.append(send(event, version, data, f"v{version}#{position}"))
        return sent

    def fifo_sequences(self) -> list[Sent]:
        """Per FIFO topic: FIFO_SEQUENCE events of one message group (the examples in turn, each moved into the
        first example's group), published in order; the report checks every consumer handled them in that order."""
        sent = []
        for domain in self.catalog.domains:
            if domain.topic is None or not domain.topic.fifo:
                continue
            grouped = [e for e in domain.events if e.message_group and "topic" in e.via]
            examples = [(e, v.number, p) for e in grouped for v in e.versions for p in v.examples]
            if not examples:
                continue
            first_event, _, first = examples[0]
            group = str(_field(first, first_event.message_group or ""))  # a value the schemas accept
            for position in range(FIFO_SEQUENCE):
                event, version, payload = examples[position % len(examples)]
                moved = _with_field(payload, event.message_group or "", group)
                item = self.on_topic(event, version, moved, f"group #{position}")
                item.channel, item.group = "fifo", group
                sent.append(item)
        return sent

    # Objects ----------------------------------------------------------------------------------------------
    def objects(self, kind: str) -> list[Sent]:
        """``created``: write one object per key filter; ``removed``: delete those permanently (by version, after
        the handlers ran, since they may read what they are told about). Expected consumers from the catalog."""
        s3, sent = self.client("s3"), []
        body = b"eventform rehearsal object\n"
        for probe in routing.object_probes(self.catalog):
            bucket = self.names.bucket(probe.bucket_domain, probe.bucket)
            if kind == "created":
                self.versions[(bucket, probe.key)] = s3.put_object(Bucket=bucket, Key=probe.key, Body=body)["VersionId"]
            else:
                s3.delete_object(Bucket=bucket, Key=probe.key, VersionId=self.versions.pop((bucket, probe.key)))
            s3_event = routing.s3_bus_event(
                kind,
                bucket,
                probe.key,
                len(body),
                event_id="-",
                time=_iso(self.tick()),
                account=self.account,
                region=self.region,
            )
            expected = routing.expected_for_object(self.catalog, probe, kind, s3_event, bucket)
            label = f"{probe.bucket_domain}/{probe.bucket} object.{kind}"
            sent.append(Sent("object", label, probe.key, None, expected, object_key=(f"object.{kind}", probe.key)))
        return sent

    # Schedules ----------------------------------------------------------------------------------------------
    def schedules(self) -> list[Sent]:
        """Fire every deployed schedule once, as Scheduler would: its target, its input, its parameters."""
        scheduler, sent = self.client("scheduler"), []
        for domain in self.catalog.domains:
            for schedule in domain.schedules:
                deployed = scheduler.get_schedule(
                    Name=self.names.schedule(domain.name, schedule.name),
                    GroupName=self.names.schedule_group(domain.name),
                )
                sent.append(self._fire(domain.name, schedule.name, schedule.consumer, deployed["Target"]))
        return sent

    def _fire(self, domain: str, name: str, consumer: str | None, target: dict[str, Any]) -> Sent:
        execution, moment = str(uuid.uuid4()), self.tick()
        text = (
            target.get("Input", "")
            .replace("<aws.scheduler.execution-id>", execution)
            .replace("<aws.scheduler.scheduled-time>", _iso(moment))
        )
        arn = target["Arn"]
        label = f"{domain}/{name}"
        if ":sqs:" in arn:
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=text)
            expected = {f"{domain}/{consumer}"} if consumer else set()
            return Sent("schedule", label, "SendMessage", None, expected, body=text)
        parameters = target.get("EventBridgeParameters", {})
        response = self.client("events").put_events(
            Entries=[
                {
                    "Source": parameters["Source"],
                    "DetailType": parameters["DetailType"],
                    "Detail": text,
                    "EventBusName": arn,
                    "Time": moment,
                }
            ]
        )
        detail = json.loads(text)
        qualified = f"{domain}/{parameters['DetailType']}"
        delivered = routing.bus_event(
            parameters["Source"],
            parameters["DetailType"],
            detail,
            event_id=response["Entries"][0].get("EventId", "-"),
            time=_iso(moment),
            account=self.account,
            region=self.region,
        )
        targets = routing.expected_on_bus(self.catalog, qualified, delivered)
        sent = Sent("schedule", qualified, label, detail.get("id"), {r.consumer for r in targets}, targets, delivered)
        self.after_send(sent)
        return sent


def _field(payload: dict[str, Any], dotted: str) -> Any:
    node: Any = payload
    for part in dotted.split("."):
        node = node[part]
    return node


def _with_field(payload: dict[str, Any], dotted: str, value: str) -> dict[str, Any]:
    """A copy of ``payload`` with the field at ``dotted`` set (the message group moved into the sequence's group)."""
    copy = json.loads(json.dumps(payload))
    node = copy
    *parents, last = dotted.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return copy
