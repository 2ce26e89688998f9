"""The catalog model of Step Functions workflows a domain owns (``workflows:``).

Part of :mod:`eventform.catalog.model` (which re-exports every name); kept apart so that module stays small. A
workflow's definition is an Amazon States Language file beside the catalog whose task states name catalog things by
placeholder (``${consumer:<domain>/<consumer>}``, ``${queue:<domain>/<consumer>}``, ``${bus}``); the loader has
checked the file, its placeholders and the events it emits, so synthesis only substitutes names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

WorkflowType = Literal["STANDARD", "EXPRESS"]
WorkflowLogLevel = Literal["ALL", "ERROR", "FATAL"]
PlaceholderKind = Literal["consumer", "queue", "bus"]

# AWS: a state machine runs a Standard execution for at most one year, an Express one for at most five minutes.
MAX_STANDARD_TIMEOUT = 365 * 86400
MAX_EXPRESS_TIMEOUT = 300
MAX_STATE_NAME = 80  # characters of a state name
MAX_DEFINITION_BYTES = 1_048_576  # a definition's size (UTF-8)


@dataclass(frozen=True)
class WorkflowLogging:
    """What the state machine logs to its encrypted log group. ``ALL`` logs every transition, so the path an
    execution took is visible; ``execution_data`` (inputs and outputs of states) stays off unless the catalog says
    so, because payments and orders carry personal data (the loader refuses it where the events hold PII)."""

    level: WorkflowLogLevel = "ALL"
    execution_data: bool = False


@dataclass(frozen=True)
class Placeholder:
    """A ``${kind:target}`` in the definition: what it names and where (the JSON path, for messages)."""

    kind: PlaceholderKind
    target: str  # consumer, queue: <domain>/<consumer>; bus: ""
    at: str  # JSON path in the definition, e.g. States.Authorize.Parameters.QueueUrl

    @property
    def text(self) -> str:
        return f"${{{self.kind}:{self.target}}}" if self.target else f"${{{self.kind}}}"


@dataclass(frozen=True)
class Workflow:
    """A state machine ``<env>-<domain>-<workflow>``: its definition (placeholders unresolved), type, timeout,
    logging and the catalog events it puts on the domain's bus."""

    domain: str
    name: str
    description: str
    path: Path  # the definition file
    definition: dict[str, Any]
    type: WorkflowType = "STANDARD"
    timeout: int | None = None  # seconds; None: AWS's maximum for the type (TimeoutSeconds of the definition wins)
    emits: tuple[str, ...] = ()  # <domain>/<event>, put with events:putEvents on the domain's bus
    logging: WorkflowLogging = WorkflowLogging()
    placeholders: tuple[Placeholder, ...] = ()
    task_queues: tuple[str, ...] = ()  # <domain>/<consumer>: queues it sends a task token to (.waitForTaskToken)

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}/{self.name}"

    @property
    def functions(self) -> tuple[str, ...]:
        """Consumers (qualified) whose functions its tasks invoke: the role's lambda:InvokeFunction resources."""
        return tuple(sorted({p.target for p in self.placeholders if p.kind == "consumer"}))

    @property
    def queues(self) -> tuple[str, ...]:
        """Consumers (qualified) whose queues it sends messages to: the role's sqs:SendMessage resources."""
        return tuple(sorted({p.target for p in self.placeholders if p.kind == "queue"}))

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.definition.get("States", {}))


__all__ = [
    "MAX_DEFINITION_BYTES",
    "MAX_EXPRESS_TIMEOUT",
    "MAX_STANDARD_TIMEOUT",
    "MAX_STATE_NAME",
    "Placeholder",
    "PlaceholderKind",
    "Workflow",
    "WorkflowLogLevel",
    "WorkflowLogging",
    "WorkflowType",
]
