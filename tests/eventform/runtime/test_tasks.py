"""Task tokens through real boto3 calls: moto runs the state machine (its ASL interpreter, enabled per test), the
task's message arrives on SQS with its token, and the runtime's answers move the execution on."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from eventform.runtime.envelope import CloudEvent
from eventform.runtime.tasks import MissingTaskTokenError, Task
from tests.conftest import mocked_aws

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/test-workflow"


def _definition(queue_url: str) -> str:
    return json.dumps(
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {
                        "QueueUrl": queue_url,
                        "MessageBody": {
                            "specversion": "1.0",
                            "id.$": "States.UUID()",
                            "source": "com.example.payments",
                            "type": "payment.authorization_requested",
                            "data.$": "$.data",
                            "tasktoken.$": "$$.Task.Token",
                        },
                    },
                    "ResultPath": "$.answer",
                    "HeartbeatSeconds": 60,  # moto accepts heartbeats only where the state has one (AWS: always)
                    "End": True,
                }
            },
        }
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mocked_aws(monkeypatch, REGION, step_functions=True):
        sqs = boto3.client("sqs", region_name=REGION)
        states = boto3.client("stepfunctions", region_name=REGION)
        url = sqs.create_queue(QueueName="payment-authorizer")["QueueUrl"]
        machine = states.create_state_machine(name="authorize", definition=_definition(url), roleArn=ROLE)
        yield {"sqs": sqs, "states": states, "url": url, "machine": machine["stateMachineArn"]}


def _start(aws: dict[str, Any]) -> str:
    data = {"order_id": "ord_1", "amount": 10, "currency": "EUR"}
    return aws["states"].start_execution(stateMachineArn=aws["machine"], input=json.dumps({"data": data}))[
        "executionArn"
    ]


def _task_event(aws: dict[str, Any]) -> CloudEvent:
    for _ in range(100):
        messages = aws["sqs"].receive_message(QueueUrl=aws["url"], WaitTimeSeconds=0).get("Messages", [])
        if messages:
            return CloudEvent.from_dict(json.loads(messages[0]["Body"]))
        time.sleep(0.05)
    raise AssertionError("the workflow sent no task message")


def _finished(aws: dict[str, Any], execution: str) -> dict[str, Any]:
    for _ in range(100):
        described = aws["states"].describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("the execution is still running")


def test_success_is_the_states_result(aws: dict[str, Any]) -> None:
    execution = _start(aws)
    event = _task_event(aws)
    assert event.type == "payment.authorization_requested" and event.data["order_id"] == "ord_1"
    task = Task.of(event, client=aws["states"])
    assert task.heartbeat() is True
    assert task.succeed({"payment_id": "pay_1", "approved": True}) is True
    described = _finished(aws, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["answer"] == {"approved": True, "payment_id": "pay_1"}


def test_failure_fails_the_state_with_its_error(aws: dict[str, Any]) -> None:
    execution = _start(aws)
    task = Task.of(_task_event(aws), client=aws["states"])
    assert task.fail("PaymentDeclined", "above the limit") is True
    described = _finished(aws, execution)
    assert described["status"] == "FAILED"
    assert described.get("error") == "PaymentDeclined"  # moto drops the cause (AWS keeps it: the cause below)
    history = aws["states"].get_execution_history(executionArn=execution)["events"]
    failed = [e["taskFailedEventDetails"] for e in history if "taskFailedEventDetails" in e]
    assert [f["error"] for f in failed] == ["PaymentDeclined"]


def test_an_answer_to_a_closed_task_is_not_an_error_of_the_message() -> None:
    """AWS answers TaskTimedOut when "the task associated with the token has already been closed" (SendTaskSuccess,
    errors); moto answers InvalidToken once the execution ended, so AWS's answer is stubbed on a real client."""
    client = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        for operation in ("send_task_success", "send_task_failure", "send_task_heartbeat"):
            stub.add_client_error(operation, service_error_code="TaskTimedOut", http_status_code=400)
        task = Task(token="t" * 40, event_id="e1", client=client)
        assert task.succeed({"payment_id": "pay_1"}) is False
        assert task.fail("PaymentDeclined") is False
        assert task.heartbeat() is False
        stub.assert_no_pending_responses()


def test_a_malformed_token_raises(aws: dict[str, Any]) -> None:
    event = CloudEvent(id="e1", source="s", type="t", data={}, extensions={"tasktoken": "not-a-token"})
    with pytest.raises(ClientError, match="InvalidToken"):
        Task.of(event, client=aws["states"]).succeed({})


def test_an_event_without_a_token_is_refused() -> None:
    with pytest.raises(MissingTaskTokenError, match="carries no tasktoken"):
        Task.of(CloudEvent(id="e1", source="s", type="t", data={}))


def test_output_over_the_quota_is_refused_before_the_call() -> None:
    task = Task(token="t", event_id="e1", client=object())
    with pytest.raises(ValueError, match="at most 262144"):
        task.succeed({"blob": "x" * 262_144})
