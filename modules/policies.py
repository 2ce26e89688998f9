"""Typed IAM policy statements rendered to deterministic JSON (sorted keys, stable order)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    principal: dict[str, Any] | str | None = None
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": self.effect,
            "Action": list(self.actions) if len(self.actions) > 1 else self.actions[0],
        }
        if self.resources:  # trust policies name no resource
            rendered["Resource"] = list(self.resources) if len(self.resources) > 1 else self.resources[0]
        if self.principal is not None:
            rendered["Principal"] = self.principal
        if self.conditions:
            rendered["Condition"] = self.conditions
        return rendered


def document(*statements: Statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [s.render() for s in statements]}, sort_keys=True)


def deny_insecure_transport(actions: tuple[str, ...], resource: str) -> Statement:
    """Refuse every request that does not use TLS (aws:SecureTransport = false)."""
    return Statement(
        sid="DenyInsecureTransport",
        effect="Deny",
        principal="*",
        actions=actions,
        resources=(resource,),
        conditions={"Bool": {"aws:SecureTransport": "false"}},
    )


def service_may_send(
    sid: str,
    service: str,
    queue_arn: str,
    source_arns: tuple[str, ...],
    *,
    source_account: str | None = None,
    action: str = "sqs:SendMessage",
) -> Statement:
    """Only these sources of this service may send to the queue or topic (aws:SourceArn: the confused-deputy guard;
    ``source_account`` too where the source's ARN names no account, as S3 buckets' do not)."""
    conditions: dict[str, dict[str, Any]] = {"ArnEquals": {"aws:SourceArn": sorted(source_arns)}}
    if source_account:
        conditions["StringEquals"] = {"aws:SourceAccount": source_account}
    return Statement(
        sid=sid,
        effect="Allow",
        principal={"Service": service},
        actions=(action,),
        resources=(queue_arn,),
        conditions=conditions,
    )


def account_root(account_id: str) -> dict[str, str]:
    return {"AWS": f"arn:aws:iam::{account_id}:root"}
