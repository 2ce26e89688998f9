"""Each checkov check in policies/resource: a passing and a failing fixture, in checkov's own parsed shape
(scalars wrapped in one-element lists, as the terraform_json parser hands them to scan_resource_conf)."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from checkov.common.models.enums import CheckResult


def wrap(resource: dict[str, Any]) -> dict[str, Any]:
    """Plain Terraform JSON arguments -> checkov's shape (scalars and blocks inside one-element lists)."""
    wrapped: dict[str, Any] = {}
    for key, found in resource.items():
        if key == "tags":
            wrapped[key] = [found]
        elif isinstance(found, dict):
            wrapped[key] = [wrap(found)]
        else:
            wrapped[key] = [found]
    return wrapped


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TLS_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "sqs:*",
    "Resource": "arn:aws:sqs:eu-west-1:1:q",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
SNS_SEND = {
    "Effect": "Allow",
    "Principal": {"Service": "sns.amazonaws.com"},
    "Action": "sqs:SendMessage",
    "Resource": "arn:aws:sqs:eu-west-1:1:q",
}
TAGS = {"env": "prod", "domain": "orders", "owner": "team-checkout", "data-classification": "confidential"}

# check module -> (resource type, passing arguments, failing arguments)
CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "QueueRedrivesToDLQ": (
        "aws_sqs_queue",
        {
            "name": "q",
            "redrive_policy": json.dumps({"deadLetterTargetArn": "arn:aws:sqs:r:1:q-dlq", "maxReceiveCount": 5}),
        },
        {
            "name": "q",
            "redrive_policy": json.dumps({"deadLetterTargetArn": "arn:aws:sqs:r:1:q-dlq", "maxReceiveCount": 50}),
        },
    ),
    "QueueTopicEncryptedAtRest": ("aws_sqs_queue", {"name": "q", "sqs_managed_sse_enabled": True}, {"name": "q"}),
    "ServicePrincipalHasSourceCondition": (
        "aws_sqs_queue_policy",
        {"policy": policy({**SNS_SEND, "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:r:1:t"}}}, TLS_DENY)},
        {"policy": policy(SNS_SEND, TLS_DENY)},
    ),
    "PolicyDeniesInsecureTransport": (
        "aws_sns_topic_policy",
        {"arn": "arn:aws:sns:r:1:t", "policy": policy(TLS_DENY)},
        {"arn": "arn:aws:sns:r:1:t", "policy": policy({**TLS_DENY, "Condition": {}})},
    ),
    "SqsMappingReportsBatchItemFailures": (
        "aws_lambda_event_source_mapping",
        {
            "event_source_arn": "${aws_sqs_queue.orders_queue_1A2B.arn}",
            "function_name": "${aws_lambda_function.handler_3C4D.arn}",
            "batch_size": 10,
            "function_response_types": ["ReportBatchItemFailures"],
        },
        {"event_source_arn": "arn:aws:sqs:eu-west-1:1:q", "function_name": "f", "batch_size": 10},
    ),
    "StreamMappingBoundedFailures": (
        "aws_lambda_event_source_mapping",
        {
            "event_source_arn": "${aws_kinesis_stream.stream-order-activity_stream_1D3A2724.arn}",
            "function_name": "${aws_lambda_function.handler_3C4D.arn}",
            "starting_position": "TRIM_HORIZON",
            "maximum_retry_attempts": 3,
            "maximum_record_age_in_seconds": 3600,
            "bisect_batch_on_function_error": True,
            "function_response_types": ["ReportBatchItemFailures"],
            "destination_config": {"on_failure": {"destination_arn": "${aws_sqs_queue.dlq_1A2B.arn}"}},
        },
        {  # AWS's defaults: retry forever, keep records until they expire, no destination
            "event_source_arn": "arn:aws:kinesis:eu-west-1:111111111111:stream/s",
            "function_name": "f",
            "starting_position": "LATEST",
        },
    ),
    "StateMachineLoggedAndTraced": (
        "aws_sfn_state_machine",
        {
            "name": "prod-payments-authorize-payment",
            "definition": "{}",
            "role_arn": "${aws_iam_role.role_1A2B.arn}",
            "logging_configuration": {
                "level": "ALL",
                "include_execution_data": False,
                "log_destination": "${aws_cloudwatch_log_group.logs_3C4D.arn}:*",
            },
            "tracing_configuration": {"enabled": True},
        },
        {  # logged, but not traced: an execution cannot be followed into its tasks
            "name": "m",
            "definition": "{}",
            "role_arn": "r",
            "logging_configuration": {"level": "ERROR", "log_destination": "arn:aws:logs:r:1:log-group:g:*"},
        },
    ),
    "FirehoseEncryptedWithErrorPrefix": (
        "aws_kinesis_firehose_delivery_stream",
        {
            "name": "prod-orders-order-archive",
            "destination": "extended_s3",
            "server_side_encryption": {
                "enabled": True,
                "key_type": "CUSTOMER_MANAGED_CMK",
                "key_arn": "${data.aws_kms_key.key-orders.arn}",
            },
            "extended_s3_configuration": {
                "bucket_arn": "arn:aws:s3:::b",
                "prefix": "events/type=!{partitionKeyFromQuery:type}/",
                "error_output_prefix": "errors/!{firehose:error-output-type}/",
                "dynamic_partitioning_configuration": {"enabled": True},
            },
        },
        {  # AWS's defaults: SSE off, no error prefix
            "name": "s",
            "destination": "extended_s3",
            "extended_s3_configuration": {"bucket_arn": "arn:aws:s3:::b", "prefix": "events/"},
        },
    ),
    "EventTargetRetryAndDLQ": (
        "aws_cloudwatch_event_target",
        {
            "rule": "${aws_cloudwatch_event_rule.r.name}",
            "arn": "${aws_lambda_function.f.arn}",
            "retry_policy": {"maximum_retry_attempts": 4, "maximum_event_age_in_seconds": 3600},
            "dead_letter_config": {"arn": "${aws_sqs_queue.dlq.arn}"},
        },
        {
            "rule": "${aws_cloudwatch_event_rule.r.name}",
            "arn": "${aws_lambda_function.f.arn}",
            "retry_policy": {"maximum_retry_attempts": 4},
        },
    ),
    "AsyncInvokeOnFailureDestination": (
        "aws_lambda_function_event_invoke_config",
        {
            "function_name": "${aws_lambda_function.f.function_name}",
            "maximum_retry_attempts": 2,
            "destination_config": {"on_failure": {"destination": "${aws_sqs_queue.dlq.arn}"}},
        },
        {"function_name": "${aws_lambda_function.f.function_name}", "maximum_retry_attempts": 2},
    ),
    "HandlerPolicyLeastPrivilege": (
        "aws_iam_role_policy",
        {
            "role": "r",
            "policy": policy(
                {
                    "Effect": "Allow",
                    "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                    "Resource": "arn:aws:sqs:r:1:q",
                },
                {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"},
            ),
        },
        {"role": "r", "policy": policy({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"})},
    ),
    "EventBusPolicyOrgCondition": (
        "aws_cloudwatch_event_bus_policy",
        {
            "event_bus_name": "orders",
            "policy": policy(
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "events:PutEvents",
                    "Resource": "arn:aws:events:r:1:event-bus/orders",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                }
            ),
        },
        {
            "event_bus_name": "orders",
            "policy": policy(
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "events:PutEvents", "Resource": "*"}
            ),
        },
    ),
    "ApiMethodAuthorizedAndValidated": (
        "aws_api_gateway_method",
        {
            "rest_api_id": "${aws_api_gateway_rest_api.api.id}",
            "resource_id": "${aws_api_gateway_resource.r.id}",
            "http_method": "POST",
            "authorization": "AWS_IAM",
            "request_validator_id": "${aws_api_gateway_request_validator.v.id}",
        },
        {  # open to anyone, body unchecked
            "rest_api_id": "${aws_api_gateway_rest_api.api.id}",
            "resource_id": "${aws_api_gateway_resource.r.id}",
            "http_method": "POST",
            "authorization": "NONE",
        },
    ),
    "RequiredTags": ("aws_sns_topic", {"name": "t", "tags": TAGS}, {"name": "t", "tags": {"env": "prod"}}),
}


def load(module: str):
    return importlib.import_module(f"policies.resource.{module}").check


@pytest.mark.parametrize("module", sorted(CASES))
def test_passing_fixture_passes(module: str) -> None:
    resource_type, passing, _ = CASES[module]
    check = load(module)
    assert resource_type in check.supported_resources
    assert check.scan_entity_conf(wrap(passing), resource_type) == CheckResult.PASSED


@pytest.mark.parametrize("module", sorted(CASES))
def test_failing_fixture_fails(module: str) -> None:
    resource_type, _, failing = CASES[module]
    assert load(module).scan_entity_conf(wrap(failing), resource_type) == CheckResult.FAILED


def test_plain_json_shape_gives_the_same_answers() -> None:
    """The helpers accept the synthesized JSON unwrapped too (fixtures written either way agree)."""
    for module, (resource_type, passing, failing) in CASES.items():
        check = load(module)
        assert check.scan_entity_conf(passing, resource_type) == CheckResult.PASSED, module
        assert check.scan_entity_conf(failing, resource_type) == CheckResult.FAILED, module


def test_dead_letter_queues_need_no_redrive_and_receive_count_bounds() -> None:
    check = load("QueueRedrivesToDLQ")
    assert check.scan_entity_conf({"name": "q-dlq"}, "aws_sqs_queue") == CheckResult.PASSED
    for count, expected in ((0, CheckResult.FAILED), (1, CheckResult.PASSED), (10, CheckResult.PASSED)):
        redrive = json.dumps({"deadLetterTargetArn": "arn:aws:sqs:r:1:q-dlq", "maxReceiveCount": count})
        assert check.scan_entity_conf({"name": "q", "redrive_policy": redrive}, "aws_sqs_queue") == expected
    assert check.scan_entity_conf({"name": "q"}, "aws_sqs_queue") == CheckResult.FAILED


def test_wildcard_actions_fail_even_with_named_resources() -> None:
    check = load("HandlerPolicyLeastPrivilege")
    for action in ("*", "sqs:*"):
        conf = {"policy": policy({"Effect": "Allow", "Action": action, "Resource": "arn:aws:sqs:r:1:q"})}
        assert check.scan_entity_conf(conf, "aws_iam_policy") == CheckResult.FAILED


def test_inline_queue_policies_are_checked_like_policy_resources() -> None:
    """eventform writes queue policies inline on aws_sqs_queue: both policy checks read them there."""
    tls = load("PolicyDeniesInsecureTransport")
    source = load("ServicePrincipalHasSourceCondition")
    good = {"name": "q", "policy": policy({**SNS_SEND, "Condition": {"ArnEquals": {"aws:SourceArn": "t"}}}, TLS_DENY)}
    assert tls.scan_entity_conf(good, "aws_sqs_queue") == CheckResult.PASSED
    assert source.scan_entity_conf(good, "aws_sqs_queue") == CheckResult.PASSED
    assert tls.scan_entity_conf({"name": "q"}, "aws_sqs_queue") == CheckResult.FAILED
    assert source.scan_entity_conf({"name": "q", "policy": policy(SNS_SEND, TLS_DENY)}, "aws_sqs_queue") == (
        CheckResult.FAILED
    )


def test_a_state_machine_with_logging_off_fails() -> None:
    check = load("StateMachineLoggedAndTraced")
    off = {
        "logging_configuration": {"level": "OFF", "log_destination": "g:*"},
        "tracing_configuration": {"enabled": True},
    }
    assert check.scan_entity_conf(wrap(off), "aws_sfn_state_machine") == CheckResult.FAILED
    nowhere = {"logging_configuration": {"level": "ALL"}, "tracing_configuration": {"enabled": True}}
    assert check.scan_entity_conf(wrap(nowhere), "aws_sfn_state_machine") == CheckResult.FAILED


@pytest.mark.parametrize(
    "change",
    [
        {"server_side_encryption": {"enabled": True, "key_type": "AWS_OWNED_CMK"}},  # encrypted, but not by a CMK
        {"extended_s3_configuration": {"bucket_arn": "b", "error_output_prefix": "errors/",  # no error type
                                       "dynamic_partitioning_configuration": {"enabled": True}}},
    ],
    ids=["aws-owned-key", "partitioned-without-error-type"],
)
def test_a_delivery_stream_fails_without_a_cmk_or_the_error_type(change: dict[str, Any]) -> None:
    resource_type, passing, _ = CASES["FirehoseEncryptedWithErrorPrefix"]
    check = load("FirehoseEncryptedWithErrorPrefix")
    assert check.scan_entity_conf(wrap({**passing, **change}), resource_type) == CheckResult.FAILED
def test_api_stages_need_access_logs_and_tracing() -> None:
    check = load("ApiMethodAuthorizedAndValidated")
    logs = {"destination_arn": "${aws_cloudwatch_log_group.l.arn}", "format": '{"requestId":"$context.requestId"}'}
    stage = {"rest_api_id": "a", "stage_name": "v1", "deployment_id": "d"}
    assert check.scan_entity_conf(wrap({**stage, "access_log_settings": logs, "xray_tracing_enabled": True}), (
        "aws_api_gateway_stage"
    )) == CheckResult.PASSED
    assert check.scan_entity_conf(wrap({**stage, "access_log_settings": logs}), "aws_api_gateway_stage") == (
        CheckResult.FAILED
    )
    assert check.scan_entity_conf(wrap({**stage, "xray_tracing_enabled": True}), "aws_api_gateway_stage") == (
        CheckResult.FAILED
    )
    cognito = {"http_method": "POST", "authorization": "COGNITO_USER_POOLS"}
    assert check.scan_entity_conf(wrap(cognito), "aws_api_gateway_method") == CheckResult.FAILED  # no validator
