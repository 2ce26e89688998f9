"""inventory/reserve-stock: reserve each ordered item with a DynamoDB conditional write, so a redelivered order
never reserves twice (the condition, not luck, makes it idempotent)."""

from __future__ import annotations

import os

from eventform.runtime.handler import CloudEvent, EventHandler, clients, schemas_dir_for

app = EventHandler("inventory/reserve-stock", schemas_dir_for(__file__))


@app.on("orders/order.created")
def reserve(event: CloudEvent) -> int:
    table = os.environ["RESERVATIONS_TABLE"]
    dynamodb = clients.get("dynamodb")
    reserved = 0
    for item in event.data["items"]:
        try:
            dynamodb.put_item(
                TableName=table,
                Item={
                    "pk": {"S": f"{event.data['order_id']}#{item['sku']}"},
                    "quantity": {"N": str(item["quantity"])},
                    "event_id": {"S": event.id},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            reserved += 1
        except dynamodb.exceptions.ConditionalCheckFailedException:
            continue  # already reserved by an earlier delivery of this order
    return reserved


lambda_handler = app.lambda_handler
