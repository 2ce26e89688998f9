"""payments/settle-captures (enrichment): adds the settlement fee and the net amount to each captured payment before
the settlement workflow starts, from the fee rates finance keeps in an SSM parameter (JSON, rate per currency).

A lookup without side effects, as enrichments must be (Pipes may ask twice for the same batch). A currency without
a rate fails the batch: settling without the fee would be wrong, and the queue's DLQ keeps it for a fix.
"""

from __future__ import annotations

import json
import os
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any

from eventform.runtime.enrichment import Enricher
from eventform.runtime.handler import CloudEvent, clients, schemas_dir_for

app = Enricher("payments/settle-captures", schemas_dir_for(__file__))
CENT = Decimal("0.01")


class MissingFeeRateError(Exception):
    """No fee rate is configured for the payment's currency."""


@cache
def fee_rates() -> dict[str, str]:
    """Read once per cold start: rates change with a deployment of the parameter, not between batches."""
    parameter = clients.get("ssm").get_parameter(Name=os.environ["FEE_RATES_PARAMETER"])
    return json.loads(parameter["Parameter"]["Value"])


@app.on("payments/payment.captured")
def add_fee(event: CloudEvent) -> dict[str, Any]:
    payment = event.data
    rate = fee_rates().get(payment["currency"])
    if rate is None:
        raise MissingFeeRateError(f"no settlement fee rate for {payment['currency']} ({event.id})")
    amount = Decimal(str(payment["amount"]))
    fee = (amount * Decimal(rate)).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return {"fee_rate": rate, "fee": str(fee), "net_amount": str(amount - fee), "currency": payment["currency"]}


lambda_handler = app.lambda_handler
