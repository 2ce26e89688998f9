"""Lambda reading a stream for a consumer (a catalog Kinesis stream, or a catalog table's DynamoDB stream): the event
source mapping and what the function's role needs to read that one stream (the consumer's other grants are the
function's own, see :mod:`modules.function`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from constructs import Construct

from modules.function import ConsumerFunction
from modules.policies import Statement, document

# What Lambda's event source mapping reads a stream with, through the function's role (AWS: Lambda with Kinesis,
# the execution role's permissions); SubscribeToShard only serves enhanced fan-out consumers, which eventform does
# not create.
STREAM_READ_ACTIONS = (
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
)
# A table's stream (AWS: Lambda with DynamoDB, execution role permissions); ListStreams takes no resource but "*".
TABLE_STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
UNSCOPED_TABLE_ACTIONS = ("dynamodb:ListStreams",)


def read_statements(kind: str, policy_arn: str) -> tuple[Statement, ...]:
    """What reading one stream takes: its Kinesis stream ARN, or ``<table ARN>/stream/*`` for a table."""
    if kind == "kinesis":
        return (Statement("ReadOwnStream", "Allow", STREAM_READ_ACTIONS, (policy_arn,)),)
    return (
        Statement("ReadTheTableStream", "Allow", TABLE_STREAM_READ_ACTIONS, (f"{policy_arn}/stream/*",)),
        Statement("ListTheStreams", "Allow", UNSCOPED_TABLE_ACTIONS, ("*",)),
    )


@dataclass(frozen=True)
class StreamMapping:
    """The mapping's settings, as the catalog resolved them."""

    stream_arn: str  # a reference where the stream is in this stack (Terraform creates the mapping after it)
    policy_stream_arn: str  # the deterministic ARN (a table's, for a table), so the role's policy reads as plain text
    kind: str  # kinesis | table
    starting_position: str
    batch_size: int
    batching_window: int
    parallelization: int
    max_attempts: int
    max_record_age: int
    bisect_on_error: bool
    on_failure_arn: str  # the consumer's DLQ: Lambda sends the failed batch's description (shard, sequence range)
    filters: tuple[dict[str, Any], ...]
    enabled: bool  # False locally: the local runner plays the mapping


class StreamConsumer(Construct):
    """The function's read grant on exactly its stream, then the mapping. The stream's key (customer-managed
    environments) is among the function's own keys (``UseDomainKeys``)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: ConsumerFunction,
        mapping: StreamMapping,
        create_mapping: bool,
    ) -> None:
        super().__init__(scope, id)
        statements = read_statements(mapping.kind, mapping.policy_stream_arn)
        self.policy = IamRolePolicy(
            self, "policy", name="stream-read", role=function.role.id, policy=document(*statements)
        )
        self.mapping: LambdaEventSourceMapping | None = None
        if not create_mapping:
            return
        self.mapping = LambdaEventSourceMapping(
            self,
            "mapping",
            event_source_arn=mapping.stream_arn,
            function_name=function.function.arn,
            starting_position=mapping.starting_position,
            batch_size=mapping.batch_size,
            maximum_batching_window_in_seconds=mapping.batching_window,
            parallelization_factor=mapping.parallelization,
            maximum_retry_attempts=mapping.max_attempts,
            maximum_record_age_in_seconds=mapping.max_record_age,
            bisect_batch_on_function_error=mapping.bisect_on_error,
            destination_config={"on_failure": {"destination_arn": mapping.on_failure_arn}},
            function_response_types=["ReportBatchItemFailures"],
            filter_criteria={
                "filter": [{"pattern": json.dumps(f, sort_keys=True, separators=(",", ":"))} for f in mapping.filters]
            }
            if mapping.filters
            else None,
            enabled=mapping.enabled,
            depends_on=[self.policy],  # Lambda checks the role can read the stream when it creates the mapping
        )
