"""A catalog stream and its Lambda consumer in the synthesized stacks: the encrypted stream, the mapping with every
failure bound the catalog states, the function's read grant on exactly that stream, the DLQ, and what the local
environment leaves to the runner."""

from __future__ import annotations

import json

from cdktn_provider_aws.dynamodb_table import DynamodbTable
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.kinesis_stream import KinesisStream
from cdktn_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from cdktn_provider_aws.lambda_function import LambdaFunction
from cdktn_provider_aws.sqs_queue import SqsQueue
from cdktn_provider_aws.ssm_parameter import SsmParameter

PROD = "333333333333"
STREAM_ARN = f"arn:aws:kinesis:eu-west-1:{PROD}:stream/prod-orders-order-activity"
RESERVATIONS = f"arn:aws:dynamodb:eu-west-1:{PROD}:table/prod-inventory-reserve-stock-reservations"


def test_the_stream_is_on_demand_encrypted_with_the_domain_key_and_keeps_a_week(stack) -> None:
    orders = stack("prod-orders")
    stream = orders.only(KinesisStream.TF_RESOURCE_TYPE)
    assert stream["name"] == "prod-orders-order-activity"
    assert stream["stream_mode_details"] == {"stream_mode": "ON_DEMAND"} and "shard_count" not in stream
    assert stream["retention_period"] == 168
    assert (stream["encryption_type"], stream["kms_key_id"]) == (
        "KMS",
        f"arn:aws:kms:eu-west-1:{PROD}:alias/eventform/prod/orders",
    )
    assert stream["tags"]["domain"] == "orders" and stream["tags"]["data-classification"] == "confidential"
    located = orders.only(SsmParameter.TF_RESOURCE_TYPE, name="/eventform/prod/orders/streams/order-activity")
    assert located["value"].startswith("${aws_kinesis_stream.")
    assert "order_activity_stream_arn" in orders.config["output"]


def test_service_managed_environments_use_kinesis_own_key(stack) -> None:
    stream = stack("dev-orders").only(KinesisStream.TF_RESOURCE_TYPE)
    assert (stream["encryption_type"], stream["kms_key_id"]) == ("KMS", "alias/aws/kinesis")


def test_the_mapping_bounds_every_failure_and_filters_to_the_consumers_events(stack) -> None:
    orders = stack("prod-orders")
    mapping = orders.only(LambdaEventSourceMapping.TF_RESOURCE_TYPE)
    assert mapping["event_source_arn"].startswith("${aws_kinesis_stream.")  # created after the stream
    expected = {
        "starting_position": "TRIM_HORIZON",
        "batch_size": 200,
        "maximum_batching_window_in_seconds": 5,
        "parallelization_factor": 2,
        "maximum_retry_attempts": 3,
        "maximum_record_age_in_seconds": 3600,
        "bisect_batch_on_function_error": True,
        "function_response_types": ["ReportBatchItemFailures"],
        "enabled": True,
    }
    assert {k: mapping[k] for k in expected} == expected
    (pattern,) = [json.loads(f["pattern"]) for f in mapping["filter_criteria"]["filter"]]
    assert pattern == {
        "data": {
            "source": ["com.example.orders"],
            "type": ["order.cancelled", "order.created"],
            "data": {"country": [{"anything-but": ["US"]}]},
        }
    }
    dlq = orders.only(SqsQueue.TF_RESOURCE_TYPE, name="prod-orders-order-metrics-dlq")
    assert dlq["kms_master_key_id"].endswith("alias/eventform/prod/orders")
    assert mapping["destination_config"]["on_failure"]["destination_arn"].startswith("${aws_sqs_queue.")
    assert "order_metrics_function_arn" in orders.config["output"]


def test_the_function_may_read_exactly_its_stream_and_send_failures_to_its_dlq(stack) -> None:
    orders = stack("prod-orders")
    read = json.loads(orders.only(IamRolePolicy.TF_RESOURCE_TYPE, name="stream-read")["policy"])["Statement"]
    assert read == [
        {
            "Sid": "ReadOwnStream",
            "Effect": "Allow",
            "Action": [
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
            ],
            "Resource": STREAM_ARN,
        }
    ]
    grants = json.loads(orders.only(IamRolePolicy.TF_RESOURCE_TYPE, name="catalog-grants")["policy"])["Statement"]
    by_sid = {s["Sid"]: s for s in grants}
    assert by_sid["SendFailuresToOwnDlq"]["Resource"] == f"arn:aws:sqs:eu-west-1:{PROD}:prod-orders-order-metrics-dlq"
    assert (
        "alias/eventform/prod/orders"
        in by_sid["UseDomainKeys"]["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]
    )
    assert not any(
        a.startswith("sqs:Receive")
        for s in grants
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )
    function = orders.only(LambdaFunction.TF_RESOURCE_TYPE, function_name="prod-orders-order-metrics")
    assert function["reserved_concurrent_executions"] == 10  # bounded: shards x parallelization may not exceed it


def test_locally_the_runner_plays_the_mapping(stack) -> None:
    local = stack("local-orders")
    assert local.resources(LambdaEventSourceMapping.TF_RESOURCE_TYPE) == {}  # moto would invoke on every PutRecord
    assert local.only(KinesisStream.TF_RESOURCE_TYPE)["name"] == "local-orders-order-activity"
    assert local.only(IamRolePolicy.TF_RESOURCE_TYPE, name="stream-read")  # the grant is deployed all the same


# A table consumer: the DynamoDB stream of reserve-stock's reservations table, INSERTs as inventory/stock.reserved.
def test_a_table_consumer_reads_the_owners_table_stream(stack) -> None:
    inventory = stack("prod-inventory")
    table = inventory.only(DynamodbTable.TF_RESOURCE_TYPE, name="prod-inventory-reserve-stock-reservations")
    assert (table["stream_enabled"], table["stream_view_type"]) == (True, "NEW_AND_OLD_IMAGES")
    mapping = next(
        m
        for m in inventory.resources(LambdaEventSourceMapping.TF_RESOURCE_TYPE).values()
        if "stock-availability" in m["function_name"]
    )
    assert mapping["event_source_arn"].startswith("${aws_dynamodb_table.") and mapping["event_source_arn"].endswith(
        ".stream_arn}"
    )
    expected = {
        "starting_position": "TRIM_HORIZON",
        "batch_size": 100,
        "maximum_batching_window_in_seconds": 2,
        "maximum_retry_attempts": 5,
        "maximum_record_age_in_seconds": 7200,
        "bisect_batch_on_function_error": True,
        "function_response_types": ["ReportBatchItemFailures"],
    }
    assert {k: mapping[k] for k in expected} == expected
    # Lambda filters DynamoDB records on dynamodb only: the consumer's own filter, nothing generated on eventName
    (pattern,) = [json.loads(f["pattern"]) for f in mapping["filter_criteria"]["filter"]]
    assert pattern == {"dynamodb": {"NewImage": {"event_id": {"S": [{"exists": True}]}}}}
    function = inventory.only(LambdaFunction.TF_RESOURCE_TYPE, function_name="prod-inventory-stock-availability")
    assert json.loads(function["environment"]["variables"]["EVENTFORM_TABLE_EVENTS"]) == {
        "INSERT": {"source": "com.example.inventory", "type": "stock.reserved", "version": 1}
    }
    read = [
        json.loads(p["policy"])["Statement"]
        for p in inventory.resources(IamRolePolicy.TF_RESOURCE_TYPE).values()
        if p["name"] == "stream-read"
    ]
    assert read == [
        [
            {
                "Sid": "ReadTheTableStream",
                "Effect": "Allow",
                "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                "Resource": f"{RESERVATIONS}/stream/*",
            },
            {"Sid": "ListTheStreams", "Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": "*"},
        ]
    ]
    local = stack("local-inventory")
    assert all(
        "stock-availability" not in m["function_name"]
        for m in local.resources(LambdaEventSourceMapping.TF_RESOURCE_TYPE).values()
    )
