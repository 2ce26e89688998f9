from __future__ import annotations

import json

from eventform.catalog.streams import mapping_filters
from eventform.local.stream_runner import StreamBinding, drain_stream
from eventform.runtime.publisher import Publisher
from handlers.order_metrics import handler

STREAM = "test-orders-order-activity"


def make_table(aws, name: str) -> None:
    aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_orders_on_the_stream_are_counted_per_country_once(aws, catalog, monkeypatch) -> None:
    monkeypatch.setenv("COUNTS_TABLE", "counts")
    make_table(aws, "counts")
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]
    created = catalog.event("orders/order.created").latest.examples
    cancelled = catalog.event("orders/order.cancelled").latest.examples
    publisher = Publisher(catalog, "test", kinesis=kinesis, stream_names={"orders/order-activity": STREAM})
    publisher.put_records(
        "orders/order-activity",
        [("orders/order.created", e) for e in created] + [("orders/order.cancelled", e) for e in cancelled],
    )
    consumer = next(c for c in catalog.consumers if c.name == "order-metrics")
    assert consumer.stream is not None
    binding = StreamBinding(
        consumer="order-metrics",
        stream_name=STREAM,
        stream_arn=arn,
        handler=handler.lambda_handler,
        filters=mapping_filters(catalog, consumer.stream),
        batch_size=consumer.stream.batch_size,
        max_attempts=consumer.stream.retries.max_attempts,
    )
    tally = drain_stream(kinesis, binding)
    counts = {
        i["pk"]["S"].rsplit("#", 1)[0]: int(i["orders"]["N"]) for i in aws("dynamodb").scan(TableName="counts")["Items"]
    }
    outside_us = [e for e in created if e["country"] != "US"]
    assert sum(v for k, v in counts.items() if k.endswith("#placed")) == len(outside_us)
    assert "US#placed" not in counts  # the filter kept US orders out before the handler ran
    assert counts["DE#cancelled"] == 1
    assert tally.filtered_out == len(created) - len(outside_us) and tally.failed == 0
    assert drain_stream(kinesis, binding).received == 0  # the next drain continues where this one stopped


def test_a_failing_record_is_retried_then_described_to_the_dlq(aws, catalog, monkeypatch) -> None:
    monkeypatch.setenv("COUNTS_TABLE", "missing-table")  # every update fails
    kinesis, sqs = aws("kinesis"), aws("sqs")
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]
    dlq = sqs.create_queue(QueueName="order-metrics-dlq")["QueueUrl"]
    publisher = Publisher(catalog, "test", kinesis=kinesis, stream_names={"orders/order-activity": STREAM})
    publisher.put_records(
        "orders/order-activity",
        [("orders/order.cancelled", catalog.event("orders/order.cancelled").latest.examples[0])],
    )
    binding = StreamBinding("order-metrics", STREAM, arn, handler.lambda_handler, (), 10, 2, dlq, sqs)
    tally = drain_stream(kinesis, binding)
    assert tally.invocations == 3 and tally.failed == 1 and tally.dead_lettered == 1  # first try + 2 retries
    record = sqs.receive_message(QueueUrl=dlq)["Messages"][0]
    info = json.loads(record["Body"])["KinesisBatchInfo"]
    assert info["streamArn"] == arn and info["batchSize"] == 1
