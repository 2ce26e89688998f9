"""The enrichment on real SQS records: catalog captures published through the FIFO topic into the settlement
consumer's queue (moto), read as Pipes reads them, enriched with the fee rates from SSM."""

from __future__ import annotations

import json

import pytest

from eventform.runtime.handler import EventValidationError
from handlers.settlement_fees import handler

PARAMETER = "/payments/settlement/fee-rates"


@pytest.fixture
def rates(aws, monkeypatch):
    monkeypatch.setenv("FEE_RATES_PARAMETER", PARAMETER)
    aws("ssm").put_parameter(Name=PARAMETER, Type="String", Value=json.dumps({"EUR": "0.014", "GBP": "0.02"}))
    handler.fee_rates.cache_clear()
    yield
    handler.fee_rates.cache_clear()


def test_each_capture_is_forwarded_with_its_fee_beside_the_unchanged_event(rates, topology, context) -> None:
    settlement = topology("payments/settlement")
    captures = [
        {"payment_id": "pay_1", "order_id": "ord_A", "amount": 39.0, "currency": "EUR"},
        {"payment_id": "pay_2", "order_id": "ord_B", "amount": 120.5, "currency": "GBP"},
    ]
    for capture in captures:
        settlement.publisher.publish("payments/payment.captured", capture)
    records = settlement.receive()["Records"]  # the array Pipes sends to the enrichment
    assert len(records) == 2
    output = handler.lambda_handler(records, context)
    assert [item["event"]["data"] for item in output] == captures  # the fact travels unchanged
    assert [item["event"]["type"] for item in output] == ["payment.captured"] * 2
    assert [item["enrichment"] for item in output] == [
        {"fee_rate": "0.014", "fee": "0.55", "net_amount": "38.45", "currency": "EUR"},
        {"fee_rate": "0.02", "fee": "2.41", "net_amount": "118.09", "currency": "GBP"},
    ]


def test_a_currency_without_a_rate_fails_the_whole_batch(rates, catalog, topology, context) -> None:
    settlement = topology("payments/settlement")
    capture = catalog.event("payments/payment.captured").latest.examples[0]
    settlement.publisher.publish("payments/payment.captured", {**capture, "currency": "CHF"})
    with pytest.raises(handler.MissingFeeRateError, match="CHF"):
        handler.lambda_handler(settlement.receive()["Records"], context)


def test_a_payload_that_breaks_the_schema_is_refused(rates, catalog, topology, context) -> None:
    settlement = topology("payments/settlement")
    capture = catalog.event("payments/payment.captured").latest.examples[0]
    settlement.publisher.publish("payments/payment.captured", capture)
    records = settlement.receive()["Records"]
    records[0]["body"] = records[0]["body"].replace(f'"amount":{capture["amount"]}', '"amount":-1')
    with pytest.raises(EventValidationError, match=r"payment\.captured"):
        handler.lambda_handler(records, context)
