"""The stream runner: plays Lambda's Kinesis event source mapping against the embedded AWS (or moto in process).

moto invokes a Kinesis mapping's function on every PutRecord, whatever the mapping's state, and cannot run it
(no Docker), so the local stacks create no Kinesis mapping and this runner reads the stream instead: every shard from
where it last stopped (``TRIM_HORIZON`` the first time, as the sample's consumer asks), the mapping's filters applied
to each record with EventBridge's matching (Lambda's event filtering drops what matches none, before invoking), the
rest invoked in batches of the mapping's size with exactly Lambda's event. A partial batch response is honoured
as Lambda honours it: the shard resumes at the lowest failed sequence number, retried up to the mapping's maximum
retry attempts; then the failed record's batch description goes to the on-failure destination (the consumer's
DLQ) as Lambda's on-failure record, and the shard moves on.

Differences from Lambda, on purpose: retries happen at once (no backoff); bisection is not played (each retry
starts at the failed record, which is where bisection would narrow it to); the batching window is not waited for.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventform.catalog import patterns
from eventform.local.runner import HandlerError, LambdaContext, Tally
from eventform.runtime.records import kinesis_event

Handler = Callable[[dict[str, Any], Any], dict[str, Any] | None]


@dataclass
class StreamBinding:
    """One stream consumer: its stream, the handler Lambda would invoke, the mapping's settings, and the shard
    positions read so far (so that each drain continues where the last one stopped)."""

    consumer: str
    stream_name: str
    stream_arn: str
    handler: Handler
    filters: tuple[dict[str, Any], ...]
    batch_size: int = 100
    max_attempts: int = 3
    dlq_url: str | None = None  # the on-failure destination
    sqs: Any = None  # the client the on-failure record is sent with (required with dlq_url)
    region: str = "us-east-1"
    positions: dict[str, str] = field(default_factory=dict)  # shard id -> last sequence number read


@dataclass
class StreamTally(Tally):
    filtered_out: int = 0  # records the mapping's filters dropped before invoking
    dead_lettered: int = 0  # batches described to the on-failure destination


def passes(filters: tuple[dict[str, Any], ...], record: dict[str, Any]) -> bool:
    """Lambda's event filtering on a Kinesis record: data, when it is JSON, is matched as that JSON."""
    try:
        data = json.loads(record["Data"])
    except (ValueError, UnicodeDecodeError):
        return not filters  # Lambda drops a non-JSON record when the mapping has filters on data
    return not filters or any(patterns.matches(f, {"data": data}) for f in filters)


def _read_shard(kinesis: Any, binding: StreamBinding, shard: str) -> list[dict[str, Any]]:
    after = binding.positions.get(shard)
    options = (
        {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
        if after
        else {"ShardIteratorType": "TRIM_HORIZON"}
    )
    iterator = kinesis.get_shard_iterator(StreamName=binding.stream_name, ShardId=shard, **options)["ShardIterator"]
    records: list[dict[str, Any]] = []
    while iterator:
        page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        records += [{**r, "ShardId": shard} for r in page["Records"]]
        if not page["Records"] or page.get("MillisBehindLatest", 0) == 0:
            break
        iterator = page.get("NextShardIterator")
    return records


def drain_stream(kinesis: Any, binding: StreamBinding, tally: StreamTally | None = None) -> StreamTally:
    """Read every shard of the binding's stream to its end and play the mapping on what is new."""
    tally = tally or StreamTally()
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=binding.stream_name)["Shards"]]
    for shard in sorted(shards):
        records = _read_shard(kinesis, binding, shard)
        if records:
            binding.positions[shard] = records[-1]["SequenceNumber"]
        kept = [r for r in records if passes(binding.filters, r)]
        tally.filtered_out += len(records) - len(kept)
        for start in range(0, len(kept), binding.batch_size):
            _play_batch(kinesis, binding, kept[start : start + binding.batch_size], tally)
    return tally


def _play_batch(kinesis: Any, binding: StreamBinding, batch: list[dict[str, Any]], tally: StreamTally) -> None:
    attempts = 0
    while batch:
        tally.invocations += 1
        tally.received += len(batch)
        event = kinesis_event(batch, binding.stream_arn, binding.region)
        try:
            response = binding.handler(event, LambdaContext(function_name=binding.consumer)) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception as error:  # the whole batch failed (Powertools raises when every record failed)
            failed = {r["SequenceNumber"] for r in batch}
            tally.errors.append(
                HandlerError(binding.consumer, batch[0]["SequenceNumber"], type(error).__name__, str(error))
            )
        sequences = [r["SequenceNumber"] for r in batch]
        first_failed = next((i for i, s in enumerate(sequences) if s in failed), None)
        if first_failed is None:
            tally.succeeded += len(batch)
            return
        tally.succeeded += first_failed  # checkpointed up to the failed record
        tally.received -= len(batch) - first_failed  # what comes again is counted when it comes again
        attempts += 1
        if attempts > binding.max_attempts:
            tally.failed += 1
            _on_failure(binding, batch[first_failed], attempts, tally)
            batch, attempts = batch[first_failed + 1 :], 0  # the shard moves past the failed record
        else:
            batch = batch[first_failed:]


def _on_failure(binding: StreamBinding, record: dict[str, Any], attempts: int, tally: StreamTally) -> None:
    """Lambda's on-failure record for a stream: the batch described (shard, sequence range), not its data."""
    tally.dead_lettered += 1
    if binding.dlq_url is None:
        return
    description = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
        "responseContext": {"statusCode": 200, "functionError": "BatchItemFailure"},
        "KinesisBatchInfo": {
            "shardId": record["ShardId"],
            "startSequenceNumber": record["SequenceNumber"],
            "endSequenceNumber": record["SequenceNumber"],
            "batchSize": 1,
            "streamArn": binding.stream_arn,
        },
    }
    binding.sqs.send_message(QueueUrl=binding.dlq_url, MessageBody=json.dumps(description, sort_keys=True))


def decode(record: dict[str, Any]) -> str:
    """The text of a Lambda Kinesis record's data (base64), for recorders that read what the handler got."""
    return base64.b64decode(record["kinesis"]["data"]).decode()
