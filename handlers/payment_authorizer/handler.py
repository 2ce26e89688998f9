"""payments/payment-authorizer: serves the authorize-payment workflow's task (a ``via: workflow`` consumer).

The workflow sends payment.authorization_requested with its task token; this handler asks the payment provider to
authorise the amount and answers the token: success with the provider's payment id (the workflow then puts
payment.authorized on the bus), or failure ``PaymentDeclined`` (the workflow's Catch ends it as not authorised).
The provider here is a rule kept in an SSM-free environment variable, ``AUTHORIZATION_LIMIT`` (amounts above it are
declined), which stands in for the provider's API call; the token handling is the real thing.
"""

from __future__ import annotations

import hashlib
import os

from eventform.runtime.handler import CloudEvent, EventHandler, schemas_dir_for
from eventform.runtime.tasks import Task

app = EventHandler("payments/payment-authorizer", schemas_dir_for(__file__))
DEFAULT_LIMIT = "1000"


def payment_id(order_id: str, event_id: str) -> str:
    """The provider's id for this authorisation: stable per request, so a retried request gets the same id."""
    return "pay_" + hashlib.sha256(f"{order_id}:{event_id}".encode()).hexdigest()[:16]


@app.on("payments/payment.authorization_requested")
def authorize(event: CloudEvent) -> None:
    task = Task.of(event)
    request = event.data
    limit = float(os.environ.get("AUTHORIZATION_LIMIT", DEFAULT_LIMIT))
    if request["amount"] > limit:
        task.fail("PaymentDeclined", f"{request['amount']} {request['currency']} is above the authorisation limit")
        return
    task.succeed({"payment_id": payment_id(request["order_id"], event.id), "approved": True})


lambda_handler = app.lambda_handler
