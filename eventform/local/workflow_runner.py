"""Workflows in the local rehearsal: moto's Step Functions interpreter runs the deployed state machines.

moto 5.x stores state machines and, only when its ``stepfunctions.execute_state_machine`` setting is on (off by
default; set here through the server's ``/moto-api/config``), runs executions with its ASL interpreter (a port of
LocalStack's), calling SQS, EventBridge and the other services through the same server (``MOTO_PORT``, which `local
up` sets). What the rehearsal does with it:

1. a rule target of ``type: workflow`` delivers locally to its tap queue (moto's bus reaches no state machine); the
   rehearsal records the input as delivered (the transformer's output) and starts an execution of the deployed
   state machine with exactly that input, as EventBridge would;
2. the interpreter runs the definition: a ``sqs:sendMessage.waitForTaskToken`` state sends the task consumer its
   envelope with the token, which the runner then hands to the consumer's handler like any queued event, and the
   handler answers through ``eventform.runtime.tasks`` (SendTaskSuccess/Failure on the embedded AWS);
3. the rehearsal waits for each execution to end and reads its history: the task messages it sent (their event ids
   become expectations: the task consumer must handle each) and its status.

Observed and judged: each execution ended (SUCCEEDED, or FAILED with an error the definition names itself, such as
a Fail state's); a failure with a ``States.*`` error (a runtime error, a task that failed or timed out) or an
execution still running fails the rehearsal. Not run: Lambda tasks (moto cannot run functions; such an execution
fails with a ``States.*``-free Lambda error that is reported as not exercised), X-Ray, logging.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from eventform.catalog.model import Catalog, Workflow
from eventform.catalog.workflows import (
    TOKEN_ATTRIBUTE,
    definition_text,
    log_group_name,
    state_machine_arn,
    state_machine_name,
)

RUNNING = "RUNNING"


@dataclass
class Execution:
    workflow: Workflow
    arn: str
    started_by: str  # "<consumer> -> <target>" and the item that reached it
    status: str = RUNNING
    error: str | None = None
    tasks: tuple[tuple[str, str, str], ...] = ()  # (qualified event, event id, queue) of each task message sent

    @property
    def judged(self) -> tuple[bool, str]:
        """(held, outcome): ended, and not with a States.* error (a runtime error, not the definition's own)."""
        if self.status == RUNNING:
            return False, "still RUNNING when the time ran out"
        if self.status == "SUCCEEDED":
            return True, "SUCCEEDED"
        outcome = f"{self.status} ({self.error or 'no error'})"
        return not (self.error or "").startswith("States.") and self.status == "FAILED", outcome


def enable(endpoint: str) -> None:
    """Turn on moto's ASL interpreter for this server (a server-wide setting, off by default)."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def deploy(catalog: Catalog, names: Any, states: Any) -> None:
    """Create each catalog state machine on the embedded AWS as the stacks define it elsewhere (the definition
    resolved for ``local``, its role, type, logging and tracing): the local stacks build its role and log group but
    not the machine, because the provider's ValidateStateMachineDefinition call is one moto does not implement."""
    existing = {m["name"] for m in states.list_state_machines()["stateMachines"]}
    for workflow in (w for d in catalog.domains for w in d.workflows):
        name = state_machine_name(names, workflow)
        if name in existing:
            continue
        role = names.event_role(workflow.domain, "workflow", workflow.name)
        log_group = f"arn:aws:logs:{names.region}:{names.account_id}:log-group:{log_group_name(names, workflow)}:*"
        states.create_state_machine(
            name=name,
            definition=definition_text(catalog, names, workflow),
            roleArn=f"arn:aws:iam::{names.account_id}:role/{role}",
            type=workflow.type,
            loggingConfiguration={
                "level": workflow.logging.level,
                "includeExecutionData": workflow.logging.execution_data,
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": log_group}}],
            },
            tracingConfiguration={"enabled": True},
        )


def workflow_targets(catalog: Catalog) -> dict[str, Workflow]:
    """ "<consumer> -> <target>" (a tap's receiver) -> the workflow the rule target starts."""
    found = {}
    for domain in catalog.domains:
        own = {w.name: w for w in domain.workflows}
        for consumer in domain.consumers:
            for target in consumer.route.targets if consumer.route else ():
                if target.kind == "workflow" and target.workflow in own:
                    found[f"{consumer.qualified_name} -> {target.name}"] = own[target.workflow]
    return found


def start(catalog: Catalog, names: Any, states: Any, observed: list[tuple[str, str, str]]) -> list[Execution]:
    """Start one execution per input a workflow target's tap received: (receiver, what reached it, body)."""
    targets = workflow_targets(catalog)
    started = []
    for receiver, origin, body in observed:
        workflow = targets.get(receiver)
        if workflow is None:
            continue
        arn = state_machine_arn(names, workflow)
        # a name of its own: moto's generated names collide when executions start within the same instant
        name = f"rehearsal-{uuid.uuid4().hex}"
        execution = states.start_execution(stateMachineArn=arn, name=name, input=body)["executionArn"]
        started.append(Execution(workflow, execution, f"{receiver} ({origin})"))
    return started


def settle(states: Any, executions: list[Execution], timeout: float, drain: Any) -> None:
    """Let the runner serve the tasks (``drain``) until every execution ended or ``timeout``; read each one's
    status, error and the task messages it sent."""
    deadline = time.monotonic() + timeout
    pending = list(executions)
    while pending and time.monotonic() < deadline:
        drain()
        for execution in list(pending):
            described = states.describe_execution(executionArn=execution.arn)
            if described["status"] != RUNNING:
                execution.status, execution.error = described["status"], described.get("error")
                pending.remove(execution)
        if pending:
            time.sleep(0.2)
    for execution in executions:
        execution.tasks = task_messages(states, execution.arn)


def task_messages(states: Any, execution: str) -> tuple[tuple[str, str, str], ...]:
    """(type, event id, queue URL) of every task-token message the execution sent, from its history."""
    found = []
    history = states.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    for event in history:
        details = event.get("taskScheduledEventDetails")
        if not details or details.get("resource") != "sendMessage.waitForTaskToken":
            continue
        parameters = json.loads(details.get("parameters") or "{}")
        body = parameters.get("MessageBody")
        body = json.loads(body) if isinstance(body, str) else body
        if isinstance(body, dict) and body.get(TOKEN_ATTRIBUTE):
            found.append((str(body.get("type")), str(body.get("id")), str(parameters.get("QueueUrl"))))
    return tuple(found)


TASK_ROUNDS = 3  # task-token states one execution may pass in sequence during a rehearsal (the sample has one)


class Rehearsal:
    """The workflow steps of ``local rehearse``: start from what the workflow taps got, then before each of the
    runner's drains wait until every running execution has sent its next task (the interpreter runs in the
    background), finally read each execution's outcome."""

    def __init__(self, catalog: Catalog, names: Any, states: Any, endpoint: str, timeout: float) -> None:
        self.catalog, self.names, self.states, self.timeout = catalog, names, states, timeout
        self.executions: list[Execution] = []
        self.served: dict[str, int] = {}
        enable(endpoint)
        deploy(catalog, names, states)

    def start(self, observed: list[tuple[str, str, str]]) -> None:
        self.executions += start(self.catalog, self.names, self.states, observed)

    def next_tasks(self) -> None:
        deadline = time.monotonic() + min(self.timeout, 15.0)
        waiting = list(self.executions)
        while waiting and time.monotonic() < deadline:
            for execution in list(waiting):
                status = self.states.describe_execution(executionArn=execution.arn)["status"]
                sent = len(task_messages(self.states, execution.arn))
                if status != RUNNING or sent > self.served.get(execution.arn, 0):
                    self.served[execution.arn] = sent
                    waiting.remove(execution)
            if waiting:
                time.sleep(0.1)

    def finish(self) -> list[Execution]:
        settle(self.states, self.executions, self.timeout, drain=lambda: None)
        return self.executions
