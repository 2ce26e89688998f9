"""The stream runner: plays Lambda's Kinesis and DynamoDB stream event source mappings against the embedded AWS (or
moto in process).

moto invokes a stream mapping's function on every PutRecord or table write, whatever the mapping's state, and cannot
run it (no Docker; for a table it then even drops the records from the stream), so the local stacks create no stream
mapping and this runner reads the stream instead: every shard from
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
    kind: str = "kinesis"  # kinesis (stream_arn: the stream) | table (stream_arn: the table's stream)
    positions: dict[str, str] = field(default_factory=dict)  # shard id -> last sequence number read
    errors: list[HandlerError] = field(default_factory=list)  # what the handler wrapper recorded, per event


@dataclass
class StreamTally(Tally):
    filtered_out: int = 0  # records the mapping's filters dropped before invoking
    dead_lettered: int = 0  # batches described to the on-failure destination


def passes(filters: tuple[dict[str, Any], ...], record: dict[str, Any], kind: str = "kinesis") -> bool:
    """Lambda's event filtering: a Kinesis record's data, when it is JSON, is matched as that JSON; a DynamoDB
    record as it is (its ``dynamodb`` key, in DynamoDB's typed JSON)."""
    if not filters:
        return True
    if kind == "table":
        return any(patterns.matches(f, _change(record)) for f in filters)
    try:
        data = json.loads(record["Data"])
    except (ValueError, UnicodeDecodeError):
        return False  # Lambda drops a non-JSON record when the mapping has filters on data
    return any(patterns.matches(f, {"data": data}) for f in filters)


def _change(record: dict[str, Any]) -> dict[str, Any]:
    """A GetRecords record of a table's stream in Lambda's JSON shape (boto3 reads the creation time as a datetime)."""
    change = dict(record["dynamodb"])
    created: Any = change.get("ApproximateCreationDateTime")
    if hasattr(created, "timestamp"):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {k: v for k, v in record.items() if k != "ShardId"} | {"dynamodb": change}


def sequence(record: dict[str, Any], kind: str) -> str:
    return record["dynamodb"]["SequenceNumber"] if kind == "table" else record["SequenceNumber"]


def _shards(client: Any, binding: StreamBinding) -> list[str]:
    if binding.kind == "table":
        description = client.describe_stream(StreamArn=binding.stream_arn)["StreamDescription"]
        return sorted(s["ShardId"] for s in description["Shards"])
    return sorted(s["ShardId"] for s in client.list_shards(StreamName=binding.stream_name)["Shards"])


def _read_shard(client: Any, binding: StreamBinding, shard: str) -> list[dict[str, Any]]:
    after = binding.positions.get(shard)
    table = binding.kind == "table"
    options: dict[str, Any] = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER" if after else "TRIM_HORIZON"}
    if after:
        options["SequenceNumber" if table else "StartingSequenceNumber"] = after
    where = {"StreamArn": binding.stream_arn} if table else {"StreamName": binding.stream_name}
    iterator = client.get_shard_iterator(**where, ShardId=shard, **options)["ShardIterator"]
    records: list[dict[str, Any]] = []
    while iterator:
        page = client.get_records(ShardIterator=iterator, Limit=1000 if table else 10_000)
        records += [{**r, "ShardId": shard} for r in page["Records"]]
        if not page["Records"] or page.get("MillisBehindLatest", 0) == 0 or table:
            break
        iterator = page.get("NextShardIterator")
    return records


def drain_stream(client: Any, binding: StreamBinding, tally: StreamTally | None = None) -> StreamTally:
    """Read every shard of the binding's stream to its end and play the mapping on what is new. ``client``: a
    Kinesis client, or a DynamoDB Streams client for a table."""
    tally = tally or StreamTally()
    for shard in _shards(client, binding):
        records = _read_shard(client, binding, shard)
        if records:
            binding.positions[shard] = sequence(records[-1], binding.kind)
        kept = [r for r in records if passes(binding.filters, r, binding.kind)]
        tally.filtered_out += len(records) - len(kept)
        tally.received += len(kept)
        for start in range(0, len(kept), binding.batch_size):
            _play_batch(binding, kept[start : start + binding.batch_size], tally)
    return tally


def lambda_event(binding: StreamBinding, batch: list[dict[str, Any]]) -> dict[str, Any]:
    """What the mapping invokes the function with."""
    if binding.kind == "table":
        return {"Records": [{**_change(r), "eventSourceARN": binding.stream_arn} for r in batch]}
    return kinesis_event(batch, binding.stream_arn, binding.region)


def _play_batch(binding: StreamBinding, batch: list[dict[str, Any]], tally: StreamTally) -> None:
    attempts = 0
    while batch:
        tally.invocations += 1
        event = lambda_event(binding, batch)
        try:
            response = binding.handler(event, LambdaContext(function_name=binding.consumer)) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception as error:  # the whole batch failed (Powertools raises when every record failed)
            failed = {sequence(r, binding.kind) for r in batch}
            if not binding.errors:  # else the binding recorded each record's own exception
                first = sequence(batch[0], binding.kind)
                tally.errors.append(HandlerError(binding.consumer, first, type(error).__name__, str(error)))
        tally.errors.extend(binding.errors)
        binding.errors.clear()
        sequences = [sequence(r, binding.kind) for r in batch]
        first_failed = next((i for i, s in enumerate(sequences) if s in failed), None)
        if first_failed is None:
            tally.succeeded += len(batch)
            return
        tally.succeeded += first_failed  # checkpointed up to the failed record; the rest comes again
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
    number = sequence(record, binding.kind)
    info = "DDBStreamBatchInfo" if binding.kind == "table" else "KinesisBatchInfo"
    description = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
        "responseContext": {"statusCode": 200, "functionError": "BatchItemFailure"},
        info: {
            "shardId": record["ShardId"],
            "startSequenceNumber": number,
            "endSequenceNumber": number,
            "batchSize": 1,
            "streamArn": binding.stream_arn,
        },
    }
    binding.sqs.send_message(QueueUrl=binding.dlq_url, MessageBody=json.dumps(description, sort_keys=True))


def decode(record: dict[str, Any]) -> str:
    """The text of a Lambda Kinesis record's data (base64), for recorders that read what the handler got."""
    return base64.b64decode(record["kinesis"]["data"]).decode()
