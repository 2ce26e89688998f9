"""payments/index-invoice: S3 notifies the consumer's queue of each invoice PDF written to the invoices bucket; the
index records the current version of every invoice once, whatever S3 redelivers."""

from __future__ import annotations

import os

from eventform.runtime.handler import CloudEvent, EventHandler, clients, schemas_dir_for

app = EventHandler("payments/index-invoice", schemas_dir_for(__file__))


@app.on("object.created")
def index(event: CloudEvent) -> str:
    s3, dynamodb = clients.get("s3"), clients.get("dynamodb")
    head = s3.head_object(Bucket=event.data["bucket"], Key=event.data["key"])  # the role may read these objects
    invoice = event.data["key"].removeprefix("invoices/").removesuffix(".pdf")
    dynamodb.put_item(
        TableName=os.environ["INVOICES_TABLE"],
        Item={
            "pk": {"S": invoice},
            "key": {"S": event.data["key"]},
            "size": {"N": str(head["ContentLength"])},
            "version_id": {"S": event.data.get("version_id") or "null"},
            "event_id": {"S": event.id},
        },
    )
    return invoice


lambda_handler = app.lambda_handler
