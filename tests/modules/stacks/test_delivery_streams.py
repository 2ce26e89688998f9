"""A catalog delivery stream in the synthesized stacks: SSE, the partitioned S3 destination with its error prefix,
its least-privilege role, its log group, the rule target that names it, its alarms; and what stays the same for
targets and pipes that name catalog Kinesis streams."""

from __future__ import annotations

import json
from pathlib import Path

from cdktn_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.kinesis_firehose_delivery_stream import KinesisFirehoseDeliveryStream
from cdktn_provider_aws.ssm_parameter import SsmParameter

from eventform.synthesis.app import synthesize
from tests.eventform.catalog.test_bad_input import edit

PROD = "333333333333"
NAME = "prod-orders-order-archive"
ARN = f"arn:aws:firehose:eu-west-1:{PROD}:deliverystream/{NAME}"
BUCKET = f"arn:aws:s3:::prod-orders-archive-{PROD}-eu-west-1"
REPLAY_PIPE = """  replay-orders:
    description: Replays the order activity stream onto the payments analytics bus.
    source: {stream: orders/order-activity, starting_position: TRIM_HORIZON, batch: {size: 10}}
    target: {type: bus, name: analytics}
"""


def statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


def test_the_delivery_stream_partitions_by_type_and_day_with_the_domain_key(stack) -> None:
    orders = stack("prod-orders")
    stream = orders.only(KinesisFirehoseDeliveryStream.TF_RESOURCE_TYPE)
    assert (stream["name"], stream["destination"]) == (NAME, "extended_s3")
    assert stream["server_side_encryption"]["key_type"] == "CUSTOMER_MANAGED_CMK"
    assert stream["server_side_encryption"]["key_arn"].startswith("${data.aws_kms_key.key-orders")
    s3 = stream["extended_s3_configuration"]
    assert s3["bucket_arn"] == BUCKET
    assert s3["prefix"] == (
        "events/type=!{partitionKeyFromQuery:type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
    )
    assert s3["error_output_prefix"] == (
        "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
    )
    assert (s3["buffering_size"], s3["buffering_interval"], s3["compression_format"]) == (64, 300, "GZIP")
    assert s3["kms_key_arn"].startswith("${data.aws_kms_key.key-orders")
    assert s3["dynamic_partitioning_configuration"] == {"enabled": True, "retry_duration": 300}
    extraction, delimiter = s3["processing_configuration"]["processors"]
    assert extraction["type"] == "MetadataExtraction" and delimiter["type"] == "AppendDelimiterToRecord"
    assert {p["parameter_name"]: p["parameter_value"] for p in extraction["parameters"]} == {
        "JsonParsingEngine": "JQ-1.6",
        "MetadataExtractionQuery": "{type: .type}",
    }
    logging = s3["cloudwatch_logging_options"]
    assert logging["enabled"] is True and logging["log_group_name"].startswith("${aws_cloudwatch_log_group.")
    group = orders.only(CloudwatchLogGroup.TF_RESOURCE_TYPE, name=f"/aws/kinesisfirehose/{NAME}")
    assert group["kms_key_id"].startswith("${data.aws_kms_key.key-orders")
    assert any(d.startswith("aws_s3_bucket.") for d in stream["depends_on"])  # the bucket exists first
    located = orders.only(SsmParameter.TF_RESOURCE_TYPE, name="/eventform/prod/orders/delivery_streams/order-archive")
    assert located["value"].startswith("${aws_kinesis_firehose_delivery_stream.")
    assert "order_archive_delivery_stream_arn" in orders.config["output"]


def test_the_firehose_role_writes_under_its_prefixes_only(stack) -> None:
    orders = stack("prod-orders")
    role = orders.only(IamRole.TF_RESOURCE_TYPE, name=f"{NAME}-firehose")
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == [ARN]
    policy = next(
        p for p in orders.resources(IamRolePolicy.TF_RESOURCE_TYPE).values() if "WriteUnderItsPrefixes" in p["policy"]
    )
    found = statements(policy)
    assert found["FindTheBucket"]["Resource"] == BUCKET
    assert found["WriteUnderItsPrefixes"]["Resource"] == [f"{BUCKET}/events/*", f"{BUCKET}/errors/*"]
    assert found["LogDeliveryErrors"]["Resource"] == (
        f"arn:aws:logs:eu-west-1:{PROD}:log-group:/aws/kinesisfirehose/{NAME}:log-stream:DestinationDelivery"
    )
    key = found["EncryptWithTheBucketKey"]
    assert key["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    assert key["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": "alias/eventform/prod/orders"}
    assert key["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"][0] == BUCKET
    assert all(
        "*" not in a for s in found.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )


def test_the_rule_target_sends_the_envelope_with_a_role_for_that_stream_only(stack) -> None:
    orders = stack("prod-orders")
    target = orders.only(CloudwatchEventTarget.TF_RESOURCE_TYPE, arn=ARN)
    assert target["input_path"] == "$.detail" and target["dead_letter_config"]["arn"]
    policies = [statements(p) for p in orders.resources(IamRolePolicy.TF_RESOURCE_TYPE).values() if ARN in p["policy"]]
    (reach,) = [p["ReachThisTargetOnly"] for p in policies if "ReachThisTargetOnly" in p]
    assert (reach["Action"], reach["Resource"]) == (["firehose:PutRecord", "firehose:PutRecordBatch"], ARN)


def test_service_managed_environments_use_firehose_own_key(stack) -> None:
    stream = stack("dev-orders").only(KinesisFirehoseDeliveryStream.TF_RESOURCE_TYPE)
    assert stream["server_side_encryption"] == {"enabled": True, "key_type": "AWS_OWNED_CMK"}
    assert "kms_key_arn" not in stream["extended_s3_configuration"]  # the bucket's default key (aws/s3)


def test_locally_the_delivery_stream_exists_and_the_rule_delivers_to_its_tap(stack) -> None:
    local = stack("local-orders")
    stream = local.only(KinesisFirehoseDeliveryStream.TF_RESOURCE_TYPE)
    assert stream["lifecycle"] == {"ignore_changes": ["server_side_encryption"]}
    (target,) = [
        t for t in local.resources(CloudwatchEventTarget.TF_RESOURCE_TYPE).values() if t["target_id"] == "archive"
    ]
    assert target["arn"].endswith(":local-orders-order-archiver-archive-tap")
    assert local.config["provider"]["aws"][0]["endpoints"][0]["firehose"].startswith("http://127.0.0.1")


def test_the_delivery_stream_has_its_alarms(stack) -> None:
    alarms = {
        a["alarm_name"]: a for a in stack("prod-orders").resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
    }
    freshness = alarms[f"{NAME}-data-freshness"]
    assert (freshness["namespace"], freshness["metric_name"], freshness["statistic"]) == (
        "AWS/Firehose",
        "DeliveryToS3.DataFreshness",
        "Maximum",
    )
    assert freshness["threshold"] == 1050  # 1.5 x 300 s + 600 s
    assert freshness["dimensions"] == {"DeliveryStreamName": NAME}
    failures = {q["id"]: q for q in alarms[f"{NAME}-delivery-failures"]["metric_query"]}
    assert failures["result"]["expression"] == "1 - success"
    assert failures["success"]["metric"]["metric_name"] == "DeliveryToS3.Success"
    assert alarms[f"{NAME}-throttled"]["metric_name"] == "ThrottledRecords"


def test_named_kinesis_targets_and_pipe_sources_reach_the_catalog_stream(project_copy: Path) -> None:
    """A rule target naming a catalog Kinesis stream (partitioned by its key, with the stream key's grant) and a
    pipe of another domain reading one by name (its ARN, and the stream domain's key beside its own)."""
    edit(
        project_copy,
        "catalog/orders.yaml",
        "      archive: {type: firehose, stream: order-archive}",
        "      archive: {type: firehose, stream: order-archive}\n"
        "      activity: {type: kinesis, stream: order-activity}",
    )
    path = project_copy / "catalog/payments.yaml"
    text = path.read_text()
    end_of_pipes_line = text.index("\n", text.index("\npipes:") + 1)  # the pipe goes first under pipes:
    path.write_text(text[: end_of_pipes_line + 1] + REPLAY_PIPE + text[end_of_pipes_line + 1 :])
    result = synthesize(
        project_copy, project_copy / "out", environments=["prod"], stacks=["prod-orders", "prod-payments"]
    )
    stacks = {
        d: json.loads((result.outdir / "stacks" / f"prod-{d}" / "cdk.tf.json").read_text())
        for d in ("orders", "payments")
    }
    targets = stacks["orders"]["resource"][CloudwatchEventTarget.TF_RESOURCE_TYPE].values()
    (kinesis,) = [t for t in targets if t["target_id"] == "activity"]
    stream_arn = f"arn:aws:kinesis:eu-west-1:{PROD}:stream/prod-orders-order-activity"
    assert kinesis["arn"] == stream_arn and kinesis["input_path"] == "$.detail"
    assert kinesis["kinesis_target"] == {"partition_key_path": "$.detail.data.order_id"}
    (found,) = [
        statements(p)
        for p in stacks["orders"]["resource"][IamRolePolicy.TF_RESOURCE_TYPE].values()
        if stream_arn in p["policy"] and "ReachThisTargetOnly" in p["policy"]
    ]
    assert found["ReachThisTargetOnly"]["Action"] == ["kinesis:PutRecord", "kinesis:PutRecords"]
    assert found["EncryptWithTheStreamKey"]["Condition"]["StringEquals"] == {
        "kms:ViaService": "kinesis.eu-west-1.amazonaws.com"
    }
    (pipe,) = [
        p
        for p in stacks["payments"]["resource"]["aws_pipes_pipe"].values()
        if p["name"] == "prod-payments-replay-orders"
    ]
    assert pipe["source"] == stream_arn
    (pipe_policy,) = [
        statements(p)
        for p in stacks["payments"]["resource"][IamRolePolicy.TF_RESOURCE_TYPE].values()
        if "ReadTheSource" in p["policy"] and stream_arn in p["policy"]
    ]
    assert pipe_policy["UseTheDomainKey"]["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"] == [
        "alias/eventform/prod/orders",
        "alias/eventform/prod/payments",
    ]
