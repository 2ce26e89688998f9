"""The rehearsal's workflow steps on moto's Step Functions interpreter (in process): the catalog's state machine
created as the local rehearsal creates it, started with what the workflow target's tap got, its task served by the
sample's handler, its outcome and task messages read back from the execution history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventform.catalog.loader import load
from eventform.catalog.naming import Names
from eventform.local import workflow_runner
from eventform.local.runner import LambdaContext
from eventform.runtime.handler import clients
from eventform.runtime.records import sqs_event
from tests.conftest import mocked_aws

REGION = "us-east-1"
NAMES = Names(env="local", region=REGION, account_id="123456789012")
TAP = "payments/authorize-orders -> authorize"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mocked_aws(monkeypatch, REGION, step_functions=True):
        clients.reset()
        states = boto3.client("stepfunctions", region_name=REGION)
        clients.override("stepfunctions", states)
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName=NAMES.queue("payments", "payment-authorizer", False))["QueueUrl"]
        boto3.client("events", region_name=REGION).create_event_bus(Name=NAMES.bus("payments"))
        yield {"states": states, "sqs": sqs, "queue": queue}
        clients.reset()


def test_the_workflow_is_started_from_its_tap_and_its_task_is_served(aws: dict[str, Any], project_root: Path) -> None:
    from handlers.payment_authorizer import handler

    catalog = load(project_root)[0]
    workflow_runner.deploy(catalog, NAMES, aws["states"])
    workflow_runner.deploy(catalog, NAMES, aws["states"])  # twice: the second finds it
    assert [m["name"] for m in aws["states"].list_state_machines()["stateMachines"]] == [
        "local-payments-authorize-payment"
    ]
    assert workflow_runner.workflow_targets(catalog) == {TAP: catalog.domain("payments").workflows[0]}
    body = json.dumps({"correlationid": "e1", "data": {"order_id": "ord_1", "total": 20.0, "currency": "EUR"}})
    executions = workflow_runner.start(catalog, NAMES, aws["states"], [(TAP, "orders/order.created v1#0", body)])
    assert len(executions) == 1 and executions[0].started_by == f"{TAP} (orders/order.created v1#0)"

    def serve() -> None:  # what the runner's drain does for the task consumer's queue
        messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], WaitTimeSeconds=1).get("Messages", [])
        if messages:
            event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q", REGION)
            assert handler.lambda_handler(event, LambdaContext("f", 30)) == {"batchItemFailures": []}

    workflow_runner.settle(aws["states"], executions, timeout=20, drain=serve)
    (execution,) = executions
    assert execution.judged == (True, "SUCCEEDED")
    ((event_type, event_id, queue_url),) = execution.tasks
    assert event_type == "payment.authorization_requested" and event_id and queue_url.endswith("payment-authorizer")


def test_an_execution_still_running_or_failing_at_runtime_fails_the_rehearsal(project_root: Path) -> None:
    workflow = load(project_root)[0].domain("payments").workflows[0]
    running = workflow_runner.Execution(workflow, "arn", "tap")
    assert running.judged == (False, "still RUNNING when the time ran out")
    own = workflow_runner.Execution(workflow, "arn", "tap", status="FAILED", error="PaymentNotAuthorized")
    assert own.judged == (True, "FAILED (PaymentNotAuthorized)")
    runtime = workflow_runner.Execution(workflow, "arn", "tap", status="FAILED", error="States.Runtime")
    assert runtime.judged == (False, "FAILED (States.Runtime)")
