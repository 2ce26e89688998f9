"""The sample workflow end to end on moto's Step Functions interpreter: the catalog's definition (resolved as for an
environment) sends the task to the authorizer's queue, the handler answers the token, and the workflow puts
payment.authorized on the payments bus, or ends PaymentNotAuthorized when the provider declines."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from eventform.catalog import workflows
from eventform.catalog.naming import Names
from eventform.runtime.envelope import CloudEvent
from eventform.runtime.records import sqs_event
from handlers.ledger.handler import app as ledger
from handlers.payment_authorizer import handler

REGION = "us-east-1"
NAMES = Names(env="test", region=REGION, account_id="123456789012")
ORDER = {"correlationid": "evt-1", "data": {"order_id": "ord_1001", "total": 39.0, "currency": "EUR"}}


@pytest.fixture
def workflow(catalog, aws) -> Iterator[dict[str, Any]]:
    sqs, events, states = aws("sqs"), aws("events"), aws("stepfunctions")
    tasks = sqs.create_queue(QueueName=NAMES.queue("payments", "payment-authorizer", False))["QueueUrl"]
    announced = sqs.create_queue(QueueName="announced")["QueueUrl"]
    announced_arn = sqs.get_queue_attributes(QueueUrl=announced, AttributeNames=["QueueArn"])["Attributes"]
    events.create_event_bus(Name=NAMES.bus("payments"))
    events.put_rule(Name="all", EventBusName=NAMES.bus("payments"), EventPattern='{"source": ["com.example.payments"]}')
    events.put_targets(
        Rule="all", EventBusName=NAMES.bus("payments"), Targets=[{"Id": "q", "Arn": announced_arn["QueueArn"]}]
    )
    model = catalog.domain("payments").workflows[0]
    machine = states.create_state_machine(
        name=workflows.state_machine_name(NAMES, model),
        definition=workflows.definition_text(catalog, NAMES, model),
        roleArn="arn:aws:iam::123456789012:role/workflow",
    )["stateMachineArn"]
    yield {"sqs": sqs, "states": states, "tasks": tasks, "announced": announced, "machine": machine}


def _wait(probe: Any) -> Any:
    for _ in range(200):
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("nothing arrived")


def _serve_task(aws: dict[str, Any], context: Any) -> dict[str, Any]:
    messages = _wait(lambda: aws["sqs"].receive_message(QueueUrl=aws["tasks"]).get("Messages"))
    response = handler.lambda_handler(sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:tasks", REGION), context)
    assert response == {"batchItemFailures": []}
    return json.loads(messages[0]["Body"])


def _finished(aws: dict[str, Any], execution: str) -> dict[str, Any]:
    return _wait(lambda: (d := aws["states"].describe_execution(executionArn=execution))["status"] != "RUNNING" and d)


def test_an_authorised_order_is_announced_on_the_bus(workflow: dict[str, Any], context: Any) -> None:
    execution = workflow["states"].start_execution(stateMachineArn=workflow["machine"], input=json.dumps(ORDER))
    task = _serve_task(workflow, context)
    assert task["type"] == "payment.authorization_requested" and task["tasktoken"]
    assert task["data"] == {"order_id": "ord_1001", "amount": 39.0, "currency": "EUR"}
    assert task["correlationid"] == "evt-1"
    assert _finished(workflow, execution["executionArn"])["status"] == "SUCCEEDED"
    bodies = _wait(lambda: workflow["sqs"].receive_message(QueueUrl=workflow["announced"]).get("Messages"))
    announced = json.loads(bodies[0]["Body"])
    assert announced["detail-type"] == "payment.authorized"
    envelope = announced["detail"]
    assert envelope["type"] == "payment.authorized" and envelope["correlationid"] == "evt-1"
    assert envelope["data"] == {
        "payment_id": handler.payment_id("ord_1001", task["id"]),
        "order_id": "ord_1001",
        "amount": 39.0,
        "currency": "EUR",
    }
    # what the workflow puts is an event the catalog's consumers accept: payment.authorized v1's schema
    ledger.validate(CloudEvent.from_dict(envelope))


def test_a_declined_order_ends_the_workflow_not_authorised(
    workflow: dict[str, Any], context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHORIZATION_LIMIT", "10")
    execution = workflow["states"].start_execution(stateMachineArn=workflow["machine"], input=json.dumps(ORDER))
    _serve_task(workflow, context)
    described = _finished(workflow, execution["executionArn"])
    assert (described["status"], described.get("error")) == ("FAILED", "PaymentNotAuthorized")
    assert not workflow["sqs"].receive_message(QueueUrl=workflow["announced"]).get("Messages")
