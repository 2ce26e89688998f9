"""Synthesis of the sample catalog's EventBridge Pipes: the pipe per source kind (SQS FIFO queue, Kinesis stream,
DynamoDB table stream), its role (exactly its source, enrichment, target, DLQ and key), the enrichment function,
the DLQ and alarm of stream sources, logs and encryption, and the table stream eventform turns on."""

from __future__ import annotations

import json

from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.dynamodb_table import DynamodbTable
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from cdktn_provider_aws.lambda_function import LambdaFunction
from cdktn_provider_aws.pipes_pipe import PipesPipe
from cdktn_provider_aws.sqs_queue import SqsQueue

from eventform.catalog.naming import LIMITS

PROD, DEV = "333333333333", "111111111111"
PIPES = {"payments": "settle-captures", "inventory": "reservation-feed", "users": "marketing-signups"}


def policy_of(configuration, role_key_fragment: str) -> dict[str, dict]:
    (policy,) = [
        p
        for p in configuration.resources(IamRolePolicy.TF_RESOURCE_TYPE).values()
        if p["role"] == f"${{aws_iam_role.{role_key_fragment}.id}}"
    ]
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


def role_key(configuration, name: str) -> str:
    (key,) = [k for k, r in configuration.resources(IamRole.TF_RESOURCE_TYPE).items() if r["name"] == name]
    return key


def test_every_environment_gets_each_sample_pipe_named_within_the_limit(stack, synthesized) -> None:
    environments = {p.environment.name for p in synthesized.stacks}
    for env in environments:
        for domain, pipe in PIPES.items():
            built = stack(f"{env}-{domain}").only(PipesPipe.TF_RESOURCE_TYPE)
            assert built["name"] == f"{env}-{domain}-{pipe}" and len(built["name"]) <= LIMITS["pipe"]
            assert built["description"]
            assert built["depends_on"][0].startswith("aws_iam_role_policy.")  # permissions before the pipe starts
            assert f"{pipe.replace('-', '_')}_pipe_arn" in stack(f"{env}-{domain}").config["output"]
    assert stack("prod-orders").resources(PipesPipe.TF_RESOURCE_TYPE) == {}


def test_a_queue_source_drains_the_consumer_queue_in_fifo_batches_through_the_enrichment(stack) -> None:
    payments = stack("prod-payments")
    pipe = payments.only(PipesPipe.TF_RESOURCE_TYPE)
    (queue_key,) = [
        k
        for k, q in payments.resources(SqsQueue.TF_RESOURCE_TYPE).items()
        if q["name"] == "prod-payments-settlement.fifo"
    ]
    assert pipe["source"] == f"${{aws_sqs_queue.{queue_key}.arn}}"  # a reference: the queue exists first
    # FIFO: at most 10 per batch and no batching window (AWS refuses one)
    assert pipe["source_parameters"]["sqs_queue_parameters"] == {"batch_size": 10}
    (criteria,) = pipe["source_parameters"]["filter_criteria"]["filter"]
    assert json.loads(criteria["pattern"]) == {"body": {"data": {"amount": [{"numeric": [">", 0]}]}}}
    assert pipe["enrichment"].startswith("${aws_lambda_function.pipe-settle-captures-enrichment_function_")
    assert pipe["target"] == f"arn:aws:states:eu-west-1:{PROD}:stateMachine:settlement"
    assert pipe["target_parameters"] == {
        "step_function_state_machine_parameters": {"invocation_type": "FIRE_AND_FORGET"}
    }
    # the queue is a consumer without a handler: nothing else reads it, and its redrive is the pipe's DLQ
    queue = payments.resources(SqsQueue.TF_RESOURCE_TYPE)[queue_key]
    assert json.loads(queue["redrive_policy"])["maxReceiveCount"] == 5
    names = {q["name"] for q in payments.resources(SqsQueue.TF_RESOURCE_TYPE).values()}
    assert not any("pipe-dlq" in n for n in names)
    assert all(
        "settlement" not in m["event_source_arn"]
        for m in payments.resources(LambdaEventSourceMapping.TF_RESOURCE_TYPE).values()
    )


def test_the_pipe_role_trusts_pipes_for_this_pipe_and_allows_exactly_its_resources(stack) -> None:
    payments = stack("prod-payments")
    role = payments.only(IamRole.TF_RESOURCE_TYPE, name="prod-payments-settle-captures-pipe-role")
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "pipes.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {
        "ArnLike": {"aws:SourceArn": [f"arn:aws:pipes:eu-west-1:{PROD}:pipe/prod-payments-settle-captures"]},
        "StringEquals": {"aws:SourceAccount": PROD},
    }
    allowed = policy_of(payments, role_key(payments, "prod-payments-settle-captures-pipe-role"))
    assert set(allowed) == {"ReadTheSource", "InvokeTheEnrichment", "ReachTheTarget", "WriteOwnLogs", "UseTheDomainKey"}
    assert allowed["ReadTheSource"]["Action"] == ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    assert allowed["ReadTheSource"]["Resource"] == f"arn:aws:sqs:eu-west-1:{PROD}:prod-payments-settlement.fifo"
    assert allowed["InvokeTheEnrichment"]["Action"] == "lambda:InvokeFunction"
    assert allowed["InvokeTheEnrichment"]["Resource"] == payments.only(PipesPipe.TF_RESOURCE_TYPE)["enrichment"]
    assert allowed["ReachTheTarget"] == {
        "Sid": "ReachTheTarget",
        "Effect": "Allow",
        "Action": "states:StartExecution",
        "Resource": f"arn:aws:states:eu-west-1:{PROD}:stateMachine:settlement",
    }
    assert allowed["WriteOwnLogs"]["Resource"] == (
        f"arn:aws:logs:eu-west-1:{PROD}:log-group:/aws/vendedlogs/pipes/prod-payments-settle-captures:*"
    )
    key = allowed["UseTheDomainKey"]  # prod is customer-managed: the queue and the pipe's data use the domain key
    assert key["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/eventform/prod/payments"}}
    dev = stack("dev-payments")  # service-managed: no key grant at all
    assert "UseTheDomainKey" not in policy_of(dev, role_key(dev, "dev-payments-settle-captures-pipe-role"))


def test_the_enrichment_function_is_the_handler_wiring_without_queue_or_idempotency(stack) -> None:
    payments = stack("prod-payments")
    function = payments.only(LambdaFunction.TF_RESOURCE_TYPE, function_name="prod-payments-settle-captures-enrichment")
    assert function["handler"] == "handlers.settlement_fees.handler.lambda_handler"
    assert function["timeout"] == 10 and function["tracing_config"] == {"mode": "Active"}
    variables = function["environment"]["variables"]
    assert variables["FEE_RATES_PARAMETER"] == "/payments/settlement/fee-rates"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "payments/settle-captures"
    assert "IDEMPOTENCY_TABLE" not in variables
    grants = policy_of(payments, role_key(payments, "prod-payments-settle-captures-enrichment-role"))
    assert set(grants) == {"WriteOwnLogs", "Tracing", "ReadDeclaredParameters", "UseDomainKeys"}
    assert grants["ReadDeclaredParameters"]["Resource"] == (
        f"arn:aws:ssm:eu-west-1:{PROD}:parameter/payments/settlement/fee-rates"
    )
    mapped = [m["function_name"] for m in payments.resources(LambdaEventSourceMapping.TF_RESOURCE_TYPE).values()]
    assert not [m for m in mapped if "enrichment" in m]  # Pipes invokes the enrichment: no event source mapping
    assert any("consumer-ledger-function" in m for m in mapped)


def test_a_table_source_turns_on_the_consumer_table_stream(stack) -> None:
    inventory = stack("prod-inventory")
    table_key, table = next(
        (k, t)
        for k, t in inventory.resources(DynamodbTable.TF_RESOURCE_TYPE).items()
        if t["name"] == "prod-inventory-reserve-stock-reservations"
    )
    assert table["stream_enabled"] is True and table["stream_view_type"] == "NEW_AND_OLD_IMAGES"
    others = [t for t in inventory.resources(DynamodbTable.TF_RESOURCE_TYPE).values() if t is not table]
    assert others and all("stream_enabled" not in t for t in others)  # only the table a pipe reads
    pipe = inventory.only(PipesPipe.TF_RESOURCE_TYPE)
    assert pipe["source"] == f"${{aws_dynamodb_table.{table_key}.stream_arn}}"
    parameters = pipe["source_parameters"]["dynamodb_stream_parameters"]
    assert parameters == {
        "batch_size": 100,
        "maximum_batching_window_in_seconds": 10,
        "starting_position": "LATEST",
        "maximum_retry_attempts": 5,
        "maximum_record_age_in_seconds": 3600,
        "on_partial_batch_item_failure": "AUTOMATIC_BISECT",
        "dead_letter_config": {"arn": f"arn:aws:sqs:eu-west-1:{PROD}:prod-inventory-reservation-feed-pipe-dlq"},
    }
    allowed = policy_of(inventory, role_key(inventory, "prod-inventory-reservation-feed-pipe-role"))
    assert set(allowed) == {
        "ReadTheSource",
        "ListTheStreams",
        "ReachTheTarget",
        "DeadLetter",
        "WriteOwnLogs",
        "UseTheDomainKey",
    }
    assert allowed["ReadTheSource"]["Resource"] == pipe["source"]
    assert allowed["ReadTheSource"]["Action"] == [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    ]
    # dynamodb:ListStreams has no resource-level permission: "*" is the only resource AWS takes for it
    assert allowed["ListTheStreams"] == {
        "Sid": "ListTheStreams",
        "Effect": "Allow",
        "Action": "dynamodb:ListStreams",
        "Resource": "*",
    }
    assert allowed["ReachTheTarget"]["Action"] == ["firehose:PutRecord", "firehose:PutRecordBatch"]
    assert allowed["DeadLetter"]["Resource"] == parameters["dead_letter_config"]["arn"]


def test_stream_sources_get_a_dlq_with_its_alarm(stack) -> None:
    for name, dlq in (
        ("prod-inventory", "prod-inventory-reservation-feed-pipe-dlq"),
        ("prod-users", "prod-users-marketing-signups-pipe-dlq"),
    ):
        configuration = stack(name)
        queue = configuration.only(SqsQueue.TF_RESOURCE_TYPE, name=dlq)
        assert queue["kms_master_key_id"].endswith(f":alias/eventform/prod/{name.split('-')[1]}")
        assert queue["message_retention_seconds"] == 14 * 86400
        alarm = configuration.only(CloudwatchMetricAlarm.TF_RESOURCE_TYPE, alarm_name=f"{dlq}-visible-messages")
        assert alarm["dimensions"] == {"QueueName": dlq}
        assert alarm["alarm_actions"] == [f"arn:aws:sns:eu-west-1:{PROD}:prod-platform-alarms"]
        pipe = configuration.only(PipesPipe.TF_RESOURCE_TYPE)
        assert any(d.startswith("aws_sqs_queue.") for d in pipe["depends_on"])  # the DLQ exists before the pipe


def test_a_stream_named_in_the_catalog_is_the_environment_s_own(stack) -> None:
    for env, account in (("dev", DEV), ("prod", PROD)):
        users = stack(f"{env}-users")
        pipe = users.only(PipesPipe.TF_RESOURCE_TYPE)
        assert pipe["source"] == f"arn:aws:kinesis:eu-west-1:{account}:stream/customer-events"
        kinesis = pipe["source_parameters"]["kinesis_stream_parameters"]
        assert kinesis["starting_position"] == "TRIM_HORIZON" and kinesis["batch_size"] == 50
        (criteria,) = pipe["source_parameters"]["filter_criteria"]["filter"]
        assert json.loads(criteria["pattern"]) == {
            "data": {"type": ["user.registered"], "data": {"marketing_opt_in": [True]}}
        }
        assert pipe["target_parameters"] == {"lambda_function_parameters": {"invocation_type": "REQUEST_RESPONSE"}}
        allowed = policy_of(users, role_key(users, f"{env}-users-marketing-signups-pipe-role"))
        assert allowed["ReadTheSource"]["Resource"] == pipe["source"]
        assert allowed["ReachTheTarget"]["Action"] == "lambda:InvokeFunction"
        assert "kinesis:ListStreams" not in allowed["ReadTheSource"]["Action"]  # account-wide: not needed


def test_pipe_logs_and_encryption_follow_the_environment(stack) -> None:
    for env, encrypted, retention in (("prod", True, 365), ("dev", False, 14)):
        payments = stack(f"{env}-payments")
        pipe = payments.only(PipesPipe.TF_RESOURCE_TYPE)
        log_group = payments.only(
            CloudwatchLogGroup.TF_RESOURCE_TYPE, name=f"/aws/vendedlogs/pipes/{env}-payments-settle-captures"
        )
        assert log_group["retention_in_days"] == retention
        assert pipe["log_configuration"]["level"] == "ERROR"
        assert "include_execution_data" not in pipe["log_configuration"]  # payloads (PII) never reach the logs
        assert pipe["log_configuration"]["cloudwatch_logs_log_destination"]["log_group_arn"].startswith(
            "${aws_cloudwatch_log_group."
        )
        if encrypted:
            assert pipe["kms_key_identifier"] == "${data.aws_kms_key.key-payments.arn}"  # the key, found by alias
            assert log_group["kms_key_id"] == pipe["kms_key_identifier"]
        else:
            assert "kms_key_identifier" not in pipe and "kms_key_id" not in log_group
