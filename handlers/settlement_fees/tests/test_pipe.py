"""The whole settle-captures pipe, played in moto: captures published on the FIFO topic reach the settlement queue,
the pipe's filter drops zero amounts, the enrichment adds the fee, and the settlement workflow (a Step Functions
state machine in moto) is started with the enriched batch; a batch that keeps failing ends in the queue's DLQ."""

from __future__ import annotations

import dataclasses
import json

import pytest

from eventform.local import pipe_runner
from handlers.settlement_fees import handler

PARAMETER = "/payments/settlement/fee-rates"
DEFINITION = {"StartAt": "Settle", "States": {"Settle": {"Type": "Pass", "End": True}}}


@pytest.fixture
def pipe(aws, catalog, monkeypatch):
    """The catalog's pipe, its target pointed at a state machine in moto (same kind, same call)."""
    monkeypatch.setenv("FEE_RATES_PARAMETER", PARAMETER)
    aws("ssm").put_parameter(Name=PARAMETER, Type="String", Value=json.dumps({"EUR": "0.014", "GBP": "0.02"}))
    handler.fee_rates.cache_clear()
    machine = aws("stepfunctions").create_state_machine(
        name="settlement", definition=json.dumps(DEFINITION), roleArn="arn:aws:iam::123456789012:role/settlement"
    )["stateMachineArn"]
    declared = next(p for p in catalog.domain("payments").pipes if p.name == "settle-captures")
    yield dataclasses.replace(declared, target=dataclasses.replace(declared.target, arn=machine))
    handler.fee_rates.cache_clear()


def executions(aws, pipe) -> list[list[dict]]:
    states = aws("stepfunctions")
    listed = states.list_executions(stateMachineArn=pipe.target.arn)["executions"]
    return [json.loads(states.describe_execution(executionArn=e["executionArn"])["input"]) for e in listed]


def test_captures_are_filtered_enriched_and_start_the_settlement(aws, topology, pipe) -> None:
    settlement = topology("payments/settlement")
    captures = [
        {"payment_id": "pay_1", "order_id": "ord_A", "amount": 39.0, "currency": "EUR"},
        {"payment_id": "pay_2", "order_id": "ord_B", "amount": 0, "currency": "EUR"},  # the filter drops it
        {"payment_id": "pay_3", "order_id": "ord_C", "amount": 120.5, "currency": "GBP"},
    ]
    for capture in captures:
        settlement.publisher.publish("payments/payment.captured", capture)
    deliver = pipe_runner.target_delivery(pipe.target, aws, pipe.name)
    tally = pipe_runner.drain(
        settlement.sqs, pipe, settlement.queue_url, settlement.queue_arn, deliver, handler.lambda_handler
    )
    assert (tally.received, tally.filtered_out, tally.forwarded, tally.failed_batches) == (3, 1, 2, 0)
    started = [item for batch in executions(aws, pipe) for item in batch]
    assert sorted((i["event"]["data"]["payment_id"], i["enrichment"]["fee"]) for i in started) == [
        ("pay_1", "0.55"),
        ("pay_3", "2.41"),
    ]
    assert settlement.depth(settlement.queue_url) == 0 and settlement.depth(settlement.dlq_url) == 0


def test_a_batch_that_keeps_failing_goes_to_the_queue_dlq(aws, topology, pipe) -> None:
    settlement = topology("payments/settlement", max_receive_count=2)
    settlement.publisher.publish(
        "payments/payment.captured", {"payment_id": "pay_9", "order_id": "ord_Z", "amount": 10, "currency": "CHF"}
    )
    deliver = pipe_runner.target_delivery(pipe.target, aws, pipe.name)
    tally = pipe_runner.drain(
        settlement.sqs, pipe, settlement.queue_url, settlement.queue_arn, deliver, handler.lambda_handler
    )
    assert tally.failed_batches == 2 and "MissingFeeRateError" in tally.errors[0]
    assert executions(aws, pipe) == []  # nothing reached the target
    assert settlement.depth(settlement.queue_url) == 0 and settlement.depth(settlement.dlq_url) == 1
