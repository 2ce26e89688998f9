"""An IAM linter beside checkov: parliament over every policy document eventform generates.

parliament knows every service's actions, their resource types and condition keys (its ``iam_definition.json``), so a
wrong action/resource pair (``dynamodb:ListStreams`` on a stream ARN, ``s3:GetObject`` on a bucket) or an unknown
action or condition key fails the scan. What it sees is what Terraform will send, with two preparations:

- Terraform references (``${aws_lambda_function.x.arn}``) are replaced by an ARN of the referenced type in the
  stack's account and region, so parliament can match it against the action's resource types;
- eventform's known-good patterns are handled explicitly, each for a stated reason (:data:`KNOWN_GOOD`): a finding
  is dropped only when its issue, its policy kind and its statement all fit one of them. Everything else fails.

Trust policies (``assume_role_policy``) name no Resource: they are linted as trust policies, whose only
parliament finding would be that missing Resource. Resource policies (queues, topics, buses, buckets, keys) are linted
like identity policies with their Principal kept.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# Resource attribute -> a stand-in ARN of the right resource type ({r}: region, {a}: account).
REFERENCE_ARNS: dict[tuple[str, str], str] = {
    ("aws_sqs_queue", "arn"): "arn:aws:sqs:{r}:{a}:queue",
    ("aws_sns_topic", "arn"): "arn:aws:sns:{r}:{a}:topic",
    ("aws_lambda_function", "arn"): "arn:aws:lambda:{r}:{a}:function:function",
    ("aws_dynamodb_table", "arn"): "arn:aws:dynamodb:{r}:{a}:table/table",
    # a real stream label holds colons (2025-01-01T00:00:00.000), which parliament's ARN matcher splits on
    ("aws_dynamodb_table", "stream_arn"): "arn:aws:dynamodb:{r}:{a}:table/table/stream/2025-01-01T00-00-00.000",
    ("aws_s3_bucket", "arn"): "arn:aws:s3:::bucket",
    ("aws_kms_key", "arn"): "arn:aws:kms:{r}:{a}:key/00000000-0000-0000-0000-000000000000",
    ("aws_cloudwatch_event_bus", "arn"): "arn:aws:events:{r}:{a}:event-bus/bus",
    ("aws_cloudwatch_event_rule", "arn"): "arn:aws:events:{r}:{a}:rule/rule",
    ("aws_cloudwatch_event_api_destination", "arn"): "arn:aws:events:{r}:{a}:api-destination/destination/id",
    ("aws_iam_role", "arn"): "arn:aws:iam::{a}:role/role",
    ("aws_pipes_pipe", "arn"): "arn:aws:pipes:{r}:{a}:pipe/pipe",
    ("data.aws_kms_key", "arn"): "arn:aws:kms:{r}:{a}:key/00000000-0000-0000-0000-000000000000",
}
REFERENCE = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.[^.}]+\.([a-z_]+)\}")

# Resource types whose documents eventform generates, and which attribute holds them.
DOCUMENTS: dict[str, tuple[str, str]] = {
    "aws_iam_role_policy": ("policy", "identity"),
    "aws_iam_role": ("assume_role_policy", "trust"),
    "aws_sqs_queue_policy": ("policy", "resource"),
    "aws_sns_topic_policy": ("policy", "resource"),
    "aws_cloudwatch_event_bus_policy": ("policy", "resource"),
    "aws_s3_bucket_policy": ("policy", "resource"),
    "aws_kms_key": ("policy", "key"),
}


@dataclass(frozen=True)
class KnownGood:
    """A finding parliament raises on a pattern eventform writes on purpose, and why it is right."""

    issue: str
    kinds: frozenset[str]
    applies: Callable[[dict[str, Any]], bool]  # the statement the finding points at
    reason: str


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return actions if isinstance(actions, list) else [actions]


def _resources(statement: dict[str, Any]) -> list[str]:
    resources = statement.get("Resource", [])
    return resources if isinstance(resources, list) else [resources]


KNOWN_GOOD: tuple[KnownGood, ...] = (
    KnownGood(
        "RESOURCE_STAR",
        frozenset({"key"}),
        lambda s: _resources(s) == ["*"],
        "in a key policy Resource '*' means the key itself (the only form KMS accepts)",
    ),
    KnownGood(
        "RESOURCE_STAR",
        frozenset({"identity"}),
        lambda s: set(_actions(s)) <= {"xray:PutTelemetryRecords", "xray:PutTraceSegments", "dynamodb:ListStreams"},
        "X-Ray's trace API and dynamodb:ListStreams have no resource-level permissions: '*' is the only resource "
        "AWS allows for them",
    ),
    KnownGood(
        "UNKNOWN_CONDITION_FOR_ACTION",
        frozenset({"identity"}),
        lambda s: set(s.get("Condition", {}).get("ForAnyValue:StringEquals", {})) == {"kms:ResourceAliases"},
        "kms:ResourceAliases narrows key/* to the keys behind the domains' aliases (IAM ignores alias ARNs in "
        "Resource); parliament's service definitions predate the key",
    ),
    *(
        KnownGood(
            issue,
            frozenset({"key"}),
            lambda s: "kms:EncryptionContext:aws:logs:arn" in s.get("Condition", {}).get("ArnLike", {}),
            "CloudWatch Logs is scoped by its encryption context (the log group ARN) with ArnLike, the condition AWS "
            "documents for it; parliament types the context key as a string and does not know it for each action",
        )
        for issue in ("UNKNOWN_CONDITION_FOR_ACTION", "MISMATCHED_TYPE")
    ),
)


def _resolved(text: str, region: str, account: str) -> str:
    def arn(match: re.Match[str]) -> str:
        key = (("data." if match.group(1) else "") + match.group(2), match.group(3))
        template = REFERENCE_ARNS.get(key)
        if template is None:
            raise KeyError(f"no stand-in ARN for {match.group(0)}: add it to REFERENCE_ARNS")
        return template.format(r=region, a=account)

    return REFERENCE.sub(arn, text)


@dataclass(frozen=True)
class IamFinding:
    stack: str
    resource: str  # Terraform address
    kind: str  # identity | trust | resource | key
    issue: str
    detail: str
    waived_by: str | None = None  # the KnownGood reason that accepts it

    @property
    def failed(self) -> bool:
        return self.waived_by is None


def _parliament(document: str) -> list[Any]:
    with warnings.catch_warnings():  # parliament imports pkg_resources, deprecated in setuptools
        warnings.simplefilter("ignore")
        from parliament import analyze_policy_string

    return list(analyze_policy_string(document).findings)


def _statement_at(text: str, document: dict[str, Any], finding: Any) -> dict[str, Any] | None:
    """The statement a parliament finding points at: its location is a column of the one-line document, and each
    statement appears in it as ``json.dumps(statement, sort_keys=True)``."""
    location = finding.location if isinstance(finding.location, dict) else {}
    column = location.get("column")
    if not isinstance(column, int):
        return None
    for statement in _statements(document):
        start = text.find(json.dumps(statement, sort_keys=True))
        if start >= 0 and start < column <= start + len(json.dumps(statement, sort_keys=True)) + 1:
            return statement
    return None


def lint_document(stack: str, address: str, kind: str, text: str, region: str, account: str) -> list[IamFinding]:
    document = json.loads(_resolved(text, region, account))
    if kind == "trust":  # a trust policy names no Resource; lint its statements with the role itself as resource
        for statement in _statements(document):
            statement.setdefault("Resource", f"arn:aws:iam::{account}:role/role")
    serialized = json.dumps(document, sort_keys=True)
    results = []
    for finding in _parliament(serialized):
        statement = _statement_at(serialized, document, finding)
        accepted = next(
            (
                good.reason
                for good in KNOWN_GOOD
                if good.issue == finding.issue and kind in good.kinds and statement and good.applies(statement)
            ),
            None,
        )
        detail = json.dumps(finding.detail, default=str, sort_keys=True)[:300]
        results.append(IamFinding(stack, address, kind, finding.issue, detail, accepted))
    return results


def lint_stack(stack: str, config: dict[str, Any], region: str, account: str) -> Iterator[IamFinding]:
    """Every generated policy document of one synthesized stack (its ``cdk.tf.json``)."""
    resources = config.get("resource", {})
    for resource_type, (attribute, kind) in sorted(DOCUMENTS.items()):
        for name, conf in sorted(resources.get(resource_type, {}).items()):
            if name == "//" or not isinstance(conf.get(attribute), str):
                continue
            yield from lint_document(stack, f"{resource_type}.{name}", kind, conf[attribute], region, account)


def document_addresses(config: dict[str, Any]) -> list[str]:
    """Terraform addresses of every policy document the linter reads in one stack."""
    resources = config.get("resource", {})
    return [
        f"{resource_type}.{name}"
        for resource_type, (attribute, _) in sorted(DOCUMENTS.items())
        for name, conf in sorted(resources.get(resource_type, {}).items())
        if name != "//" and isinstance(conf.get(attribute), str)
    ]
