"""Task tokens: a handler that serves a workflow's task reports back to Step Functions through this module.

A workflow's ``sqs:sendMessage.waitForTaskToken`` state sends a ``via: workflow`` consumer the CloudEvents envelope
of an event it takes, with the task token as the ``tasktoken`` extension (eventform.catalog.workflows checks the
definition says so). The business function gets that event like any other and answers with :class:`Task`::

    @app.on("payments/payment.authorization_requested")
    def authorize(event: CloudEvent) -> None:
        task = Task.of(event)
        task.heartbeat()                      # long work: tell the workflow the task is alive (HeartbeatSeconds)
        task.succeed({"payment_id": "pay_1"}) # or task.fail("PaymentDeclined", "the provider said no")

The handler runtime runs the function once per event id (idempotency), so a redelivered message does not answer
twice. A token whose task has closed meanwhile (it timed out, or an earlier attempt answered before the message
could be deleted) is not an error of this message: Step Functions says ``TaskTimedOut`` (or ``TaskDoesNotExist``
once the execution is gone), the call returns ``False`` and logs it, and the message is done; retrying it could never
succeed. A malformed token (``InvalidToken``) is a bug and raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from eventform.runtime.envelope import CloudEvent, EventValidationError

TOKEN_ATTRIBUTE = "tasktoken"
MAX_ERROR = 256  # characters of SendTaskFailure's error
MAX_CAUSE = 32_768  # characters of its cause
MAX_OUTPUT = 262_144  # bytes of SendTaskSuccess's output (UTF-8)
CLOSED = ("TaskTimedOut", "TaskDoesNotExist")  # the task is over: nothing left to answer

logger = Logger(service="eventform.tasks")


class MissingTaskTokenError(EventValidationError):
    """The event carries no task token: it did not come from a workflow's task state."""


@dataclass(frozen=True)
class Task:
    """The workflow task an event asks to be served: answer it exactly once with :meth:`succeed` or :meth:`fail`,
    and send :meth:`heartbeat` while working longer than the state's ``HeartbeatSeconds``."""

    token: str
    event_id: str
    client: Any = None  # a boto3 stepfunctions client; None: the runtime's shared one (eventform.runtime.handler)

    @classmethod
    def of(cls, event: CloudEvent, client: Any = None) -> Task:
        token = event.extensions.get(TOKEN_ATTRIBUTE)
        if not isinstance(token, str) or not token:
            raise MissingTaskTokenError(f"event {event.id} ({event.type}) carries no {TOKEN_ATTRIBUTE}")
        return cls(token=token, event_id=event.id, client=client)

    def succeed(self, output: dict[str, Any]) -> bool:
        """SendTaskSuccess with ``output`` (JSON, at most 256 KiB): the state's result. False: the task had closed."""
        text = json.dumps(output, sort_keys=True, separators=(",", ":"))
        if len(text.encode()) > MAX_OUTPUT:
            raise ValueError(f"task output of {len(text.encode())} bytes: Step Functions takes at most {MAX_OUTPUT}")
        return self._send("send_task_success", output=text)

    def fail(self, error: str, cause: str = "") -> bool:
        """SendTaskFailure: the state fails with ``error`` (what its Catch/Retry match on) and ``cause``. False: the
        task had closed."""
        return self._send("send_task_failure", error=error[:MAX_ERROR], cause=cause[:MAX_CAUSE])

    def heartbeat(self) -> bool:
        """SendTaskHeartbeat: the task is alive (restarts its HeartbeatSeconds). False: the task had closed."""
        return self._send("send_task_heartbeat")

    def _send(self, operation: str, **arguments: Any) -> bool:
        client = self.client or _shared_client()
        try:
            getattr(client, operation)(taskToken=self.token, **arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in CLOSED:
                raise
            logger.warning(
                "task already closed", extra={"event_id": self.event_id, "operation": operation, "code": code}
            )
            return False
        logger.info("task answered", extra={"event_id": self.event_id, "operation": operation})
        return True


def _shared_client() -> Any:
    from eventform.runtime.handler import clients

    return clients.get("stepfunctions")


__all__ = ["CLOSED", "TOKEN_ATTRIBUTE", "MissingTaskTokenError", "Task"]
