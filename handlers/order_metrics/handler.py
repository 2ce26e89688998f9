"""orders/order-metrics: counts placed and cancelled orders per country from the order-activity stream.

An atomic counter is not idempotent by itself (ADD runs again on a redelivery); the runtime's idempotency, keyed on
the CloudEvents id, is what makes a retried or bisected Kinesis batch count each order once.
"""

from __future__ import annotations

import os

from eventform.runtime.handler import CloudEvent, EventHandler, clients, schemas_dir_for

app = EventHandler("orders/order-metrics", schemas_dir_for(__file__))


def _count(event: CloudEvent, what: str) -> None:
    clients.get("dynamodb").update_item(
        TableName=os.environ["COUNTS_TABLE"],
        Key={"pk": {"S": f"{event.data['country']}#{what}#{(event.time or '')[:10]}"}},
        UpdateExpression="ADD orders :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


@app.on("orders/order.created")
def placed(event: CloudEvent) -> None:
    _count(event, "placed")


@app.on("orders/order.cancelled")
def cancelled(event: CloudEvent) -> None:
    _count(event, "cancelled")


lambda_handler = app.lambda_handler
