"""users/crm-sync: keeps the marketing contact list in step with sign-ups that opted in.

A push consumer: SNS invokes it directly (no queue), so a failure is retried by Lambda and then lands in the
consumer's on-failure DLQ. The write is an upsert keyed on the user id, so a retried event changes nothing twice.
"""

from __future__ import annotations

import os

from eventform.runtime.handler import CloudEvent, EventHandler, clients, schemas_dir_for

app = EventHandler("users/crm-sync", schemas_dir_for(__file__))


@app.on("users/user.registered")
def add_contact(event: CloudEvent) -> str:
    user = event.data
    clients.get("dynamodb").put_item(
        TableName=os.environ["CONTACTS_TABLE"],
        Item={
            "pk": {"S": user["user_id"]},
            "country": {"S": user["country"]},
            "registered_event": {"S": event.id},
        },
    )
    return user["user_id"]


lambda_handler = app.lambda_handler
