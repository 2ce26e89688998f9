"""Rule targets the embedded AWS cannot deliver to, observed through their tap queues and judged against lint.

Locally every EventBridge target that is not the consumer's own queue (Lambda, SNS, Step Functions, Kinesis,
Firehose, API destination, another account's bus) delivers to a tap queue ``<env>-<domain>-<consumer>-<target>-tap``
with the same input path or input transformer (``modules/stacks/bus_wiring.py``). moto renders the input itself, and
differs from AWS (see the README): it ignores ``InputPath``, leaves ``account`` out of the event, renders ``$.time``
as epoch seconds, inserts strings raw outside quotes, keeps ``<name>`` for a missing path. So each observed payload
is compared with what AWS would send (:func:`eventform.catalog.patterns.render_input`, the same rendering as
``lint --matrix``); when they differ and the payload is exactly what moto renders from the catalog's own
transformer, the difference is moto's and is reported as such; anything else is a failure (the deployed rule or
target differs from the catalog).
"""

from __future__ import annotations

import calendar
import json
import time
from dataclasses import dataclass
from typing import Any

from eventform.catalog import patterns
from eventform.catalog.model import Catalog, Consumer, Target
from eventform.catalog.naming import Names
from eventform.catalog.routing import Receiver

AS_PREDICTED = "as predicted"
MOTO_DIFFERS = "as predicted, moto renders differently"
NOT_PREDICTED = "NOT AS PREDICTED"


@dataclass(frozen=True)
class Tap:
    """One tap queue: the consumer and rule target it stands in for."""

    consumer: Consumer
    target: Target
    queue_url: str
    queue_arn: str

    @property
    def receiver(self) -> Receiver:
        return Receiver(self.consumer.qualified_name, self.target.name)

    @property
    def replayed(self) -> bool:
        """Lambda targets are replayed into the consumer's handler by the runner; the others are only recorded."""
        return self.target.kind == "lambda"


def taps(catalog: Catalog, names: Names, sqs: Any) -> list[Tap]:
    """Every deployed tap queue of the catalog's via-bus consumers (a missing one: its stack is not deployed)."""
    found = []
    for consumer in catalog.consumers:
        if consumer.route is None:
            continue
        for target in consumer.route.targets:
            if target.kind == "queue":
                continue
            name = names.target_tap(consumer.domain, consumer.physical_name, target.name)
            try:
                url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            except sqs.exceptions.QueueDoesNotExist:
                continue
            found.append(Tap(consumer, target, url, names.queue_arn(name)))
    return found


def take(sqs: Any, tap: Tap) -> list[str]:
    """Every message waiting in the tap (bodies, in arrival order), deleted: what the target would have received."""
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=tap.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return bodies
        bodies.extend(m["Body"] for m in messages)
        sqs.delete_message_batch(
            QueueUrl=tap.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def predicted(names: Names, consumer: Consumer, target: Target, event: dict[str, Any]) -> str:
    """What AWS sends this target for ``event`` (as ``lint --matrix`` renders it), with the rule's real name."""
    source_domain = _source_domain(consumer, event)
    rule = names.rule(consumer.domain, consumer.physical_name, source_domain)
    bus = None if source_domain == "objects" else names.bus(source_domain)
    transformer = target.input_transformer
    return patterns.render_input(
        event,
        target.input_path,
        transformer.paths if transformer else None,
        transformer.template if transformer else None,
        rule_name=rule,
        rule_arn=names.rule_arn(bus, rule),
    )


def _source_domain(consumer: Consumer, event: dict[str, Any]) -> str:
    if consumer.objects is not None:
        return "objects"
    detail = event.get("detail", {})
    source = event.get("source")
    for qualified in consumer.events:
        domain, name = qualified.split("/", 1)
        if name == event.get("detail-type") and (not isinstance(detail, dict) or detail.get("source") == source):
            return domain
    return consumer.events[0].split("/", 1)[0]


def moto_rendering(target: Target, event: dict[str, Any]) -> str | None:
    """What moto 5's events backend puts on an SQS target for ``event`` with this target's shaping (None: moto
    fails, PutEvents answers HTTP 500). It runs moto's own template parser on the event as moto stores it."""
    from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
    from moto.events.utils import EventTemplateParser

    epoch = calendar.timegm(time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ"))  # botocore sends whole seconds
    stored = {**event, "time": epoch, "ingestion-time": epoch}
    transformer = target.input_transformer
    try:
        rendered = EventTemplateParser.parse(
            input_template=transformer.template if transformer else None,
            input_paths_map=transformer.paths if transformer else {},
            event=stored,
        )
        if "time" in rendered:
            rendered["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(float(rendered["time"])))
    except (ValueError, TypeError, KeyError):
        return None
    return json.dumps(rendered)


def same(a: str, b: str) -> bool:
    """Equal as JSON values when both are JSON (key order and spacing aside), else as text."""
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return a == b


def judge(names: Names, consumer: Consumer, target: Target, event: dict[str, Any], delivered: str) -> tuple[str, str]:
    """(verdict, what AWS would send) for one payload a rule target received."""
    expected = predicted(names, consumer, target, event)
    if same(expected, delivered):
        return AS_PREDICTED, expected
    moto = moto_rendering(target, event)
    if moto is not None and same(moto, delivered):
        return MOTO_DIFFERS, expected
    return NOT_PREDICTED, expected
