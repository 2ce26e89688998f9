"""A real EventBridge round trip in moto: the rule eventform generates for inventory/release-stock, the publisher's
PutEvents, and the handler invoked with exactly what EventBridge pushes."""

from __future__ import annotations

import json

from eventform.catalog import patterns
from eventform.runtime.publisher import Publisher
from handlers.release_stock import handler
from handlers.reserve_stock.tests.test_handler import make_table


def pushed_events(aws, catalog, payloads: list[dict]) -> list[dict]:
    """Put ``payloads`` on a bus through the consumer's generated rule; return what the rule delivered."""
    events, sqs = aws("events"), aws("sqs")
    consumer = next(c for c in catalog.consumers if c.qualified_name == "inventory/release-stock")
    events.create_event_bus(Name="dev-orders")
    pattern = patterns.rule_pattern("com.example.orders", ["order.cancelled"], consumer.route.pattern)
    events.put_rule(Name="release", EventBusName="dev-orders", EventPattern=json.dumps(pattern))
    queue_url = sqs.create_queue(QueueName="capture")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule="release", EventBusName="dev-orders", Targets=[{"Id": "capture", "Arn": queue_arn}])
    publisher = Publisher(catalog, "dev", events=events, bus_names={"orders": "dev-orders"})
    publisher.put_events([("orders/order.cancelled", payload) for payload in payloads])
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    return [json.loads(m["Body"]) for m in messages]


def test_a_cancellation_is_released_once_even_when_pushed_twice(aws, catalog, monkeypatch, context) -> None:
    monkeypatch.setenv("RELEASES_TABLE", "releases")
    make_table(aws, "releases")
    cancellation = catalog.event("orders/order.cancelled").latest.examples[0]
    fraud = {**cancellation, "order_id": "ord_9", "reason": "fraud_suspected"}
    delivered = pushed_events(aws, catalog, [cancellation, fraud])
    assert [e["detail"]["data"]["order_id"] for e in delivered] == [cancellation["order_id"]]  # fraud filtered
    assert handler.lambda_handler(delivered[0], context) == {"handled": 1}
    assert handler.lambda_handler(delivered[0], context) == {"handled": 1}  # EventBridge/Lambda retry
    items = aws("dynamodb").scan(TableName="releases")["Items"]
    assert [i["pk"]["S"] for i in items] == [cancellation["order_id"]]
