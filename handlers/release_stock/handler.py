"""inventory/release-stock: pushed by an EventBridge rule when an order is cancelled (unless fraud is suspected);
records the release once per order with a conditional write, so a retried push never releases twice."""

from __future__ import annotations

import os

from eventform.runtime.handler import CloudEvent, EventHandler, clients, schemas_dir_for

app = EventHandler("inventory/release-stock", schemas_dir_for(__file__))


@app.on("orders/order.cancelled")
def release(event: CloudEvent) -> int:
    dynamodb = clients.get("dynamodb")
    try:
        dynamodb.put_item(
            TableName=os.environ["RELEASES_TABLE"],
            Item={
                "pk": {"S": event.data["order_id"]},
                "reason": {"S": event.data["reason"]},
                "event_id": {"S": event.id},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return 0  # released by an earlier delivery of this cancellation
    return 1


lambda_handler = app.lambda_handler
