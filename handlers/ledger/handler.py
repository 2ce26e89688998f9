"""payments/ledger: book authorisations and captures, in order per order (FIFO queue, one group per order)."""

from __future__ import annotations

import os

from eventform.runtime.handler import CloudEvent, EventHandler, clients, schemas_dir_for

app = EventHandler("payments/ledger", schemas_dir_for(__file__), fifo=True)


def _book(event: CloudEvent, kind: str) -> None:
    payment = event.data
    dynamodb = clients.get("dynamodb")
    try:
        dynamodb.put_item(
            TableName=os.environ["ENTRIES_TABLE"],
            Item={
                "pk": {"S": f"{payment['order_id']}#{payment['payment_id']}#{kind}"},
                "amount": {"N": str(payment["amount"])},
                "currency": {"S": payment["currency"]},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return  # booked by an earlier delivery


@app.on("payments/payment.authorized")
def authorized(event: CloudEvent) -> None:
    _book(event, "authorized")


@app.on("payments/payment.captured")
def captured(event: CloudEvent) -> None:
    _book(event, "captured")


lambda_handler = app.lambda_handler
