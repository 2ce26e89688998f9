"""The Kinesis streams of a domain stack and its stream consumers: per stream the encrypted ``aws_kinesis_stream``
with its outputs and SSM locator; per consumer its function (the consumers' Lambda wiring, no queue), its DLQ with
alarm as the mapping's on-failure destination, the read grant on its one stream and the event source mapping.

Called from :class:`modules.stacks.domain.DomainStack` through :class:`modules.stacks.base.DomainParts`.
"""

from __future__ import annotations

from typing import Any

from cdktn import Fn, TerraformOutput
from cdktn_provider_aws.dynamodb_table import DynamodbTable
from constructs import Construct

from eventform.catalog.model import Consumer, Domain
from eventform.catalog.streams import mapping_filters
from eventform.catalog.table_streams import STREAM_VIEW
from modules.function import ConsumerFunction
from modules.parameters import locator
from modules.stacks.base import DomainParts, output_id
from modules.stream import EventStream
from modules.stream_consumer import StreamConsumer, StreamMapping


def build_streams(stack: DomainParts, domain: Domain, tags: dict[str, str]) -> dict[str, EventStream]:
    names = stack.names
    built = {}
    for stream in domain.streams:
        made = built[stream.name] = EventStream(
            stack,
            f"stream-{stream.name}",
            name=names.catalog_stream(domain.name, stream.name),
            mode=stream.mode,
            shards=stream.shards,
            retention_hours=stream.retention_hours,
            kms_key=stack.kms_key_for(domain.name),
            tags=tags,
            ignore_tag_readback=stack.environment.is_local,
        )
        TerraformOutput(stack, output_id(stream.name, "stream_arn"), value=made.stream.arn)
        locator(
            stack,
            f"stream-{stream.name}-parameter",
            name=names.parameter(domain.name, "streams", stream.name),
            value=made.stream.name,
            description=f"name of the {stream.qualified_name} Kinesis stream (records: CloudEvents envelopes)",
            tags=tags,
        )
    return built


def build_stream_consumer(
    stack: DomainParts, consumer: Consumer, streams: dict[str, EventStream], tags: dict[str, str]
) -> None:
    """Lambda reads the stream for the consumer's handler; a batch that keeps failing is bisected, retried, then
    described to the consumer's DLQ (Lambda sends the shard and sequence range, not the records)."""
    source = consumer.stream
    assert source is not None  # only stream consumers come here
    names, environment = stack.names, stack.environment
    if source.kind == "table":  # the owner's table (built with its function): its change stream turned on
        owner = next(c for c in stack.catalog.domain(consumer.domain).consumers if c.name == source.table_owner)
        table = _child(
            _child(stack, ConsumerFunction, f"consumer-{owner.physical_name}-function"),
            DynamodbTable,
            f"table-{source.table}",
        )
        table.stream_enabled = True
        table.stream_view_type = STREAM_VIEW
        stream_arn, located = table.stream_arn, table.stream_arn
        policy_arn = names.table_arn(names.table(consumer.domain, owner.physical_name, source.table or ""))
    else:
        stream_name = names.catalog_stream(source.domain, source.stream)
        own = streams.get(source.stream) if source.domain == consumer.domain else None
        stream_arn = own.stream.arn if own else names.stream_arn(stream_name)  # a reference orders it after it
        located = policy_arn = names.stream_arn(stream_name)
    dlq_name = names.dlq(consumer.domain, consumer.physical_name, False)
    dlq = stack.delivery_dlq(
        f"consumer-{consumer.physical_name}-dlq", dlq_name, domain=consumer.domain, tags=tags, consumer=consumer
    )  # its alarm pages through the consumer's composite alarm (modules/stacks/monitoring.py)
    function = stack.consumer_function(consumer, None, tags, failure_queue_arn=dlq.arn_value)
    StreamConsumer(
        stack,
        f"consumer-{consumer.physical_name}-stream",
        function=function,
        mapping=StreamMapping(
            stream_arn=stream_arn,
            policy_stream_arn=policy_arn,
            kind=source.kind,
            starting_position=source.starting_position,
            batch_size=source.batch_size,
            batching_window=source.batching_window,
            parallelization=source.parallelization,
            max_attempts=source.retries.max_attempts,
            max_record_age=source.retries.max_age,
            bisect_on_error=source.retries.bisect_on_error,
            on_failure_arn=dlq.queue.arn,
            filters=mapping_filters(stack.catalog, source),
            enabled=True,
        ),
        # moto invokes a Kinesis mapping's function on every PutRecord whatever its state, and cannot run it:
        # locally the runner plays the mapping from the catalog instead
        create_mapping=not environment.is_local,
    )
    TerraformOutput(stack, output_id(consumer.name, "function_arn"), value=function.function.arn)
    locator(
        stack,
        f"consumer-{consumer.physical_name}-parameter",
        name=names.parameter(consumer.domain, "consumers", consumer.physical_name),
        value=Fn.jsonencode(
            {
                "delivery": "stream",
                "stream_arn": located,
                "function_arn": function.function.arn,
                "dlq_url": dlq.queue.url,
                "dlq_arn": dlq.queue.arn,
            }
        ),
        description=f"delivery, stream_arn, function_arn, dlq_url, dlq_arn of {consumer.qualified_name} (JSON)",
        tags=tags,
    )


def _child(scope: Construct, kind: type, id: str) -> Any:
    """A construct the stack built for a consumer (its function, its table), found by its construct id."""
    child = scope.node.try_find_child(id)
    if not isinstance(child, kind):
        raise LookupError(f"{scope.node.path} has no {kind.__name__} {id!r}: table consumers are built after consumers")
    return child
