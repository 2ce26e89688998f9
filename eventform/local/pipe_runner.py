"""Plays an EventBridge Pipe with an SQS source in process, the way Pipes runs it: moto stores pipes but runs none.

One cycle: receive a batch from the source queue (at most the pipe's batch size), keep the records that pass the
pipe's filters (EventBridge's matching on the record, ``body`` parsed as Pipes parses it) and delete the others,
as Pipes does; invoke the enrichment handler with the kept records as one JSON array; send what it returns to the
target in one call (Step Functions and Lambda take the whole array) or one message per item (SQS, SNS, bus); delete
the batch. Any failure makes the whole batch visible again, so the queue's redrive policy moves a batch that keeps
failing to its DLQ after ``maxReceiveCount`` receives, exactly as with Pipes. (Failed batches become visible at once
rather than after the visibility timeout, like :mod:`eventform.local.runner`.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventform.catalog import patterns
from eventform.catalog.model import Pipe, PipeTarget
from eventform.local.runner import LAMBDA_MAX_BATCH, Handler, LambdaContext
from eventform.runtime.records import sqs_event

Deliver = Callable[[list[Any]], Any]  # what the target's client returns is not used


@dataclass
class PipeTally:
    received: int = 0
    filtered_out: int = 0
    forwarded: int = 0  # items sent to the target
    failed_batches: int = 0
    errors: list[str] = field(default_factory=list)


def passes(pipe: Pipe, record: dict[str, Any]) -> bool:
    """Does the record pass the pipe's filters (OR-ed; no filter passes everything)?"""
    return passes_filters(pipe.filters, record)


def passes_filters(filters: tuple[dict[str, Any], ...], record: dict[str, Any]) -> bool:
    """The same with filters as deployed (``FilterCriteria.Filters[].Pattern``, parsed)."""
    return not filters or any(patterns.matches(f, record) for f in filters)


def parsed(record: dict[str, Any]) -> dict[str, Any]:
    """The record as Pipes filters it: a JSON body is matched as JSON, anything else as a string."""
    try:
        return {**record, "body": json.loads(record["body"])}
    except (TypeError, ValueError):
        return record


def target_delivery(
    target: PipeTarget, client: Callable[[str], Any], pipe_name: str, arn: str | None = None
) -> Deliver:
    """Send what the pipe forwards to its target, with the call Pipes makes for that kind of target. ``arn``: the
    target in the environment played (``target.arn_in(environment)``); required when the catalog names the target
    per environment rather than by one ARN."""
    arn = arn or target.arn
    if arn is None:
        raise ValueError(f"pipe {pipe_name}: its target is named per environment; pass arn=target.arn_in(environment)")
    if target.kind in ("stepfunctions", "workflow"):  # a catalog workflow: pass its ARN in the environment
        states = client("stepfunctions")
        return lambda items: states.start_execution(stateMachineArn=arn, input=json.dumps(items))
    if target.kind == "queue":
        sqs = client("sqs")
        url = sqs.get_queue_url(QueueName=str(arn).rsplit(":", 1)[1])["QueueUrl"]
        return lambda items: [sqs.send_message(QueueUrl=url, MessageBody=json.dumps(item)) for item in items]
    if target.kind == "sns":
        sns = client("sns")
        return lambda items: [sns.publish(TopicArn=arn, Message=json.dumps(item)) for item in items]
    if target.kind == "bus":
        events = client("events")

        def put(items: list[Any]) -> None:
            entries = [
                {
                    "EventBusName": arn,
                    "Source": f"Pipe {pipe_name}",
                    "DetailType": "Event from aws:sqs",
                    "Detail": json.dumps(item),
                }
                for item in items
            ]
            failed = events.put_events(Entries=entries).get("FailedEntryCount", 0)
            if failed:
                raise RuntimeError(f"{failed} of {len(entries)} events were not put on {arn}")

        return put
    raise NotImplementedError(f"the local pipe runner cannot reach a {target.kind} target; pass deliver= yourself")


def play_once(
    sqs: Any,
    pipe: Pipe,
    queue_url: str,
    queue_arn: str,
    deliver: Deliver,
    tally: PipeTally,
    enrichment: Handler | None = None,
    region: str = "us-east-1",
) -> int:
    """One receive -> filter -> enrich -> deliver cycle; returns the number of messages received."""
    messages = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=min(pipe.source.batch_size, LAMBDA_MAX_BATCH),
        WaitTimeSeconds=0,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    if not messages:
        return 0
    tally.received += len(messages)
    records = sqs_event(messages, queue_arn, region)["Records"]
    kept = [r for r in records if passes(pipe, parsed(r))]
    dropped = [r for r in records if r not in kept]
    _delete(sqs, queue_url, dropped)
    tally.filtered_out += len(dropped)
    if not kept:
        return len(messages)
    try:
        context = LambdaContext(function_name=pipe.qualified_name)
        items: Any = enrichment(kept, context) if enrichment else kept  # type: ignore[arg-type]  # Pipes sends a list
        if items:  # an empty enrichment result: the target is not invoked
            deliver(items)
        tally.forwarded += len(items or [])
    except Exception as error:  # the whole batch fails: received again, then the queue's DLQ
        tally.failed_batches += 1
        tally.errors.append(f"{pipe.qualified_name}: {type(error).__name__}: {error}")
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": 0} for i, r in enumerate(kept)
            ],
        )
        return len(messages)
    _delete(sqs, queue_url, kept)
    return len(messages)


def drain(
    sqs: Any,
    pipe: Pipe,
    queue_url: str,
    queue_arn: str,
    deliver: Deliver,
    enrichment: Handler | None = None,
    region: str = "us-east-1",
    idle_rounds: int = 2,
) -> PipeTally:
    """Play the pipe until its source queue came back empty ``idle_rounds`` times in a row."""
    tally, quiet = PipeTally(), 0
    while quiet < idle_rounds:
        received = play_once(sqs, pipe, queue_url, queue_arn, deliver, tally, enrichment, region)
        quiet = quiet + 1 if received == 0 else 0
    return tally


def _delete(sqs: Any, queue_url: str, records: list[dict[str, Any]]) -> None:
    if records:
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)],
        )
