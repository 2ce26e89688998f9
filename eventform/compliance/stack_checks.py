"""Cross-resource checks over one whole synthesized stack: what a single-resource checkov check cannot see.

A DLQ's alarm, a FIFO topic's subscribers or a queue's consumer function are other resources, joined by
deterministic names and ARNs rather than Terraform references, so checkov's graph does not connect them. These
checks keep checkov's discipline (one file per check in ``policies/stack/``, an ``id``, ``supported_resources``,
a module-level ``check`` instance, a passing and a failing fixture) and their results go into the same report.
"""

from __future__ import annotations

import importlib.util
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventform.catalog.model import Environment

PASSED, FAILED = "PASSED", "FAILED"
REFERENCE = re.compile(r"^\$\{(?P<type>[a-z0-9_]+)\.(?P<name>[^.}]+)\.[a-z_]+\}$")


@dataclass(frozen=True)
class StackResult:
    resource: str  # Terraform address, e.g. aws_sqs_queue.consumer-ledger_dlq_1A2B3C4D
    result: str  # PASSED | FAILED
    detail: str = ""


class StackView:
    """One stack's Terraform JSON with lookups by address, ARN or name; knows its environment when given one."""

    def __init__(self, name: str, config: dict[str, Any], environment: Environment | None = None) -> None:
        self.name = name
        self.config = config
        self.environment = environment

    @property
    def env_name(self) -> str:
        return self.environment.name if self.environment else self.name.split("-", 1)[0]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.config.get("resource", {}).get(resource_type, {}).items() if k != "//"}

    def find(self, resource_type: str, pointer: Any, name_key: str = "name") -> tuple[str, dict[str, Any]] | None:
        """Resolve a reference (``${aws_sqs_queue.x.arn}``), an ARN or a plain name to (address, config)."""
        if not isinstance(pointer, str):
            return None
        match = REFERENCE.match(pointer)
        if match:
            if match["type"] != resource_type:
                return None
            conf = self.resources(resource_type).get(match["name"])
            return (f"{resource_type}.{match['name']}", conf) if conf is not None else None
        wanted = pointer.rsplit(":", 1)[-1]
        for key, conf in sorted(self.resources(resource_type).items()):
            if conf.get(name_key) == wanted:
                return f"{resource_type}.{key}", conf
        return None


class StackCheck(ABC):
    """Base of eventform-side checks: ``evaluate`` yields one result per resource it has an opinion on."""

    id: str
    name: str
    guideline: str
    supported_resources: tuple[str, ...]

    @abstractmethod
    def evaluate(self, stack: StackView) -> Iterator[StackResult]: ...


def load_stack_checks(directory: Path) -> tuple[StackCheck, ...]:
    """Import every ``*.py`` in ``directory`` (like checkov's external checks) and collect ``check`` instances."""
    found: list[StackCheck] = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith(("_", ".")):
            continue
        spec = importlib.util.spec_from_file_location(f"eventform_stack_check_{path.stem}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        check = getattr(module, "check", None)
        if isinstance(check, StackCheck):
            found.append(check)
    ids = [c.id for c in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate stack check ids in {directory}: {', '.join(duplicates)}")
    return tuple(sorted(found, key=lambda c: c.id))


COMPOSITE_MEMBER = re.compile(r'ALARM\("([^"]+)"\)')


def paged_through_composites(stack: StackView) -> set[str]:
    """Names of the alarms that are members of a composite alarm with an alarm action: they notify through it."""
    return {
        member
        for conf in stack.resources("aws_cloudwatch_composite_alarm").values()
        if conf.get("alarm_actions")
        for member in COMPOSITE_MEMBER.findall(str(conf.get("alarm_rule", "")))
    }


def run_stack_checks(checks: tuple[StackCheck, ...], stack: StackView) -> list[tuple[StackCheck, StackResult]]:
    return [(check, result) for check in checks for result in check.evaluate(stack)]


__all__ = [
    "FAILED",
    "PASSED",
    "StackCheck",
    "StackResult",
    "StackView",
    "load_stack_checks",
    "paged_through_composites",
    "run_stack_checks",
]
