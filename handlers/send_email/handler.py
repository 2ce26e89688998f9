"""notifications/send-email: the order confirmation and the welcome e-mail, sent through Amazon SES.

SES, not an SNS notification topic: e-mail needs a subject, a body and a verified sender, which SES models and SNS
e-mail subscriptions do not (SNS e-mail is for operators, not customers)."""

from __future__ import annotations

import os

from eventform.runtime.handler import CloudEvent, EventHandler, clients, schemas_dir_for

app = EventHandler("notifications/send-email", schemas_dir_for(__file__))


def _send(to: str, subject: str, text: str) -> str:
    response = clients.get("ses").send_email(
        Source=os.environ.get("EMAIL_SENDER", "shop@example.com"),
        Destination={"ToAddresses": [to]},
        Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}},
    )
    return response["MessageId"]


@app.on("orders/order.created")
def order_confirmation(event: CloudEvent) -> str:
    order = event.data
    return _send(
        order["customer"]["email"],
        f"Your order {order['order_id']}",
        f"Thank you! We received your order of {order['total']} {order['currency']}.",
    )


@app.on("users/user.registered")
def welcome(event: CloudEvent) -> str:
    return _send(event.data["email"], "Welcome!", "Your account is ready.")


lambda_handler = app.lambda_handler
