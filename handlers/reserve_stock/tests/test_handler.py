from __future__ import annotations

import copy

from eventform.local import runner
from handlers.reserve_stock import handler


def make_table(aws, name: str, key: str = "pk") -> None:
    aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_order_reserves_each_item_once_even_when_delivered_twice(aws, topology, catalog, monkeypatch, context) -> None:
    monkeypatch.setenv("RESERVATIONS_TABLE", "reservations")
    make_table(aws, "reservations")
    shop = topology("inventory/reserve-stock")
    order = copy.deepcopy(catalog.event("orders/order.created").latest.examples[0])  # physical goods
    shop.publisher.publish("orders/order.created", order)
    event = shop.receive()
    assert len(event["Records"]) == 1
    assert handler.lambda_handler(event, context) == {"batchItemFailures": []}
    assert handler.lambda_handler(event, context) == {"batchItemFailures": []}  # at-least-once: a redelivery
    items = aws("dynamodb").scan(TableName="reservations")["Items"]
    assert len(items) == len(order["items"]) == 1
    assert items[0]["quantity"] == {"N": "2"}


def test_digital_orders_never_reach_the_queue(topology, catalog) -> None:
    shop = topology("inventory/reserve-stock")
    digital = catalog.event("orders/order.created").latest.examples[1]
    assert digital["shipping"]["method"] == "digital"
    shop.publisher.publish("orders/order.created", digital)
    assert shop.receive()["Records"] == []


def test_a_poison_message_ends_in_the_dlq_after_max_receives(aws, topology, catalog, monkeypatch) -> None:
    monkeypatch.setenv("RESERVATIONS_TABLE", "missing-table")  # every write fails
    shop = topology("inventory/reserve-stock", max_receive_count=3)
    shop.publisher.publish("orders/order.created", catalog.event("orders/order.created").latest.examples[0])
    binding = runner.QueueBinding("reserve-stock", shop.queue_url, shop.queue_arn, handler.lambda_handler)
    tallies = runner.drain(shop.sqs, [binding])
    assert tallies["reserve-stock"].failed == 3 and tallies["reserve-stock"].succeeded == 0
    assert shop.depth(shop.queue_url) == 0 and shop.depth(shop.dlq_url) == 1
