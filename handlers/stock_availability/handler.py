"""inventory/stock-availability: the reserved quantity per SKU, projected from reserve-stock's reservations table.

Each new reservation arrives as ``inventory/stock.reserved`` (the item is the payload); the runtime's idempotency,
keyed on the stream record's eventID, keeps a retried batch from adding a reservation twice.
"""

from __future__ import annotations

import os

from eventform.runtime.handler import CloudEvent, EventHandler, clients, schemas_dir_for

app = EventHandler("inventory/stock-availability", schemas_dir_for(__file__))


@app.on("inventory/stock.reserved")
def reserved(event: CloudEvent) -> int:
    sku = event.data["pk"].split("#", 1)[1]
    clients.get("dynamodb").update_item(
        TableName=os.environ["AVAILABILITY_TABLE"],
        Key={"pk": {"S": sku}},
        UpdateExpression="ADD reserved :quantity",
        ExpressionAttributeValues={":quantity": {"N": str(event.data["quantity"])}},
    )
    return int(event.data["quantity"])


lambda_handler = app.lambda_handler
