"""Lambda wiring from the catalog: package, least-privilege role, log group, tables and the SQS mapping."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.dynamodb_table import DynamodbTable
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from cdktn_provider_aws.lambda_function import LambdaFunction
from cdktn_provider_aws.lambda_function_event_invoke_config import LambdaFunctionEventInvokeConfig
from cdktn_provider_aws.lambda_permission import LambdaPermission
from cdktn_provider_aws.ses_email_identity import SesEmailIdentity
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktn_provider_aws.sqs_queue import SqsQueue

from modules.function import POWERTOOLS_VERSION, RUNTIME

ROOT = Path(__file__).resolve().parents[2]
# Where AWS accepts no narrower resource: X-Ray's trace APIs and dynamodb:ListStreams (the Service Authorization
# Reference lists no resource type for it).
WILDCARD_RESOURCES_ALLOWED = {
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    "dynamodb:ListStreams",
    # a state machine's role delivers its logs (CloudWatch Logs' log delivery APIs take no resource)
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    # a task consumer answers its workflow's tokens: SendTask* has no resource type (the token is the capability)
    "states:SendTaskFailure",
    "states:SendTaskHeartbeat",
    "states:SendTaskSuccess",
}


def test_every_handler_consumer_gets_a_function_with_its_mapping(stack) -> None:
    inventory = stack("prod-inventory")
    function = inventory.only(LambdaFunction.TF_RESOURCE_TYPE, function_name="prod-inventory-reserve-stock")
    assert function["runtime"] == RUNTIME
    assert function["handler"] == "handlers.reserve_stock.handler.lambda_handler"
    assert function["timeout"] == 20 and function["tracing_config"] == {"mode": "Active"}
    (layer,) = inventory.config["data"]["aws_ssm_parameter"].values()
    assert layer["name"] == f"/aws/service/powertools/python/x86_64/{RUNTIME}/{POWERTOOLS_VERSION}"
    assert function["layers"] == ["${data.aws_ssm_parameter.powertools-layer.insecure_value}"]
    variables = function["environment"]["variables"]
    assert variables["IDEMPOTENCY_TABLE"] == "prod-platform-idempotency"
    assert "aws_dynamodb_table" in variables["RESERVATIONS_TABLE"]
    mapping = inventory.only(
        LambdaEventSourceMapping.TF_RESOURCE_TYPE,
        event_source_arn="arn:aws:sqs:eu-west-1:333333333333:prod-inventory-reserve-stock",
    )
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["batch_size"] == 5 and mapping["scaling_config"] == {"maximum_concurrency": 5}
    assert mapping["event_source_arn"] == "arn:aws:sqs:eu-west-1:333333333333:prod-inventory-reserve-stock"
    assert mapping["enabled"] is True
    log_group = inventory.only(CloudwatchLogGroup.TF_RESOURCE_TYPE, name="/aws/lambda/prod-inventory-reserve-stock")
    assert log_group["retention_in_days"] == 365
    assert log_group["kms_key_id"] == "${data.aws_kms_key.key-inventory.arn}"  # Logs takes no alias
    assert inventory.config["data"]["aws_kms_key"]["key-inventory"]["key_id"] == "alias/eventform/prod/inventory"
    assert inventory.only(DynamodbTable.TF_RESOURCE_TYPE, name="prod-inventory-reserve-stock-reservations")


def test_visibility_timeout_is_six_times_the_function_timeout(stack) -> None:
    for name, function_name, queue_name in (
        ("prod-notifications", "prod-notifications-send-email", "prod-notifications-send-email"),
        ("prod-payments", "prod-payments-ledger", "prod-payments-ledger.fifo"),
        ("prod-payments", "prod-payments-index-invoice", "prod-payments-index-invoice"),
    ):
        configuration = stack(name)
        function = configuration.only(LambdaFunction.TF_RESOURCE_TYPE, function_name=function_name)
        queue = configuration.only(SqsQueue.TF_RESOURCE_TYPE, name=queue_name)
        assert queue["visibility_timeout_seconds"] >= 6 * function["timeout"]


def test_roles_are_least_privilege_without_wildcards(stack, synthesized) -> None:
    checked = 0
    for planned in synthesized.stacks:
        configuration = stack(planned.name)
        for policy in configuration.resources(IamRolePolicy.TF_RESOURCE_TYPE).values():
            for statement in json.loads(policy["policy"])["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                assert not any("*" in action for action in actions), statement
                if "*" in resources:
                    assert set(actions) <= WILDCARD_RESOURCES_ALLOWED, statement
                checked += 1
        for role in configuration.resources(IamRole.TF_RESOURCE_TYPE).values():
            trust = json.loads(role["assume_role_policy"])["Statement"][0]
            assert "Resource" not in trust
            if trust["Principal"] != {"Service": "lambda.amazonaws.com"}:
                # EventBridge, Scheduler and Pipes roles: assumable only for this account's own rules/schedules/pipes
                assert trust["Principal"]["Service"].endswith(".amazonaws.com"), trust
                assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == planned.environment.account_id
                if trust["Principal"] != {"Service": "apigateway.amazonaws.com"}:  # API Gateway: this account only
                    assert trust["Condition"]["ArnLike"]["aws:SourceArn"], trust
    assert checked > 0


def test_the_role_grants_exactly_the_consumers_own_queue_and_tables(stack) -> None:
    payments = stack("dev-payments")
    role = next(
        k for k, r in payments.resources(IamRole.TF_RESOURCE_TYPE).items() if r["name"] == "dev-payments-ledger-role"
    )
    policy = json.loads(payments.only(IamRolePolicy.TF_RESOURCE_TYPE, role=f"${{aws_iam_role.{role}.id}}")["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ConsumeOwnQueue"]["Resource"] == "arn:aws:sqs:eu-west-1:111111111111:dev-payments-ledger.fifo"
    assert (
        by_sid["OwnTables"]["Resource"] == "arn:aws:dynamodb:eu-west-1:111111111111:table/dev-payments-ledger-entries"
    )
    assert "PublishDeclaredEvents" not in by_sid and "ReadDeclaredSecrets" not in by_sid


def test_a_sender_becomes_an_ses_identity_and_the_only_one_the_role_may_send_as(stack) -> None:
    notifications = stack("prod-notifications")
    assert notifications.only(SesEmailIdentity.TF_RESOURCE_TYPE)["email"] == "shop@example.com"
    policy = json.loads(notifications.only(IamRolePolicy.TF_RESOURCE_TYPE)["policy"])
    sending = next(s for s in policy["Statement"] if s["Sid"] == "SendAsDeclaredSenders")
    assert sending["Action"] == "ses:SendEmail"
    assert sending["Resource"] == [
        "arn:aws:ses:eu-west-1:333333333333:identity/shop@example.com",
        "arn:aws:ses:eu-west-1:333333333333:identity/example.com",
    ]


def test_local_mappings_are_disabled_for_the_local_runner(stack) -> None:
    local = stack("local-inventory")
    assert local.only(LambdaEventSourceMapping.TF_RESOURCE_TYPE)["enabled"] is False
    # The embedded AWS holds no AWS-owned layer versions (CreateFunction would fail); the runner runs in process.
    assert all("layers" not in f for f in local.resources(LambdaFunction.TF_RESOURCE_TYPE).values())


def test_packages_are_deterministic_and_bundle_runtime_and_schemas(synthesized) -> None:
    stack_dir = synthesized.outdir / "stacks" / "dev-notifications"
    [package] = list(stack_dir.rglob("*.zip"))
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert "eventform/runtime/handler.py" in names and "handlers/send_email/handler.py" in names
    assert "handlers/send_email/schemas/orders/order.created/v1.schema.json" in names
    assert not any("/tests/" in n for n in names)


def test_a_push_consumer_is_invoked_by_its_topic_only_with_retries_and_an_alarmed_dlq(stack) -> None:
    users = stack("prod-users")
    topic_arn = "arn:aws:sns:eu-west-1:333333333333:prod-users-events"
    permission = users.only(LambdaPermission.TF_RESOURCE_TYPE)
    assert permission["principal"] == "sns.amazonaws.com" and permission["source_arn"] == topic_arn
    assert permission["action"] == "lambda:InvokeFunction"
    invoke = users.only(LambdaFunctionEventInvokeConfig.TF_RESOURCE_TYPE)
    assert (invoke["maximum_retry_attempts"], invoke["maximum_event_age_in_seconds"]) == (2, 3600)
    dlq_key = next(
        k for k, q in users.resources(SqsQueue.TF_RESOURCE_TYPE).items() if q["name"] == "prod-users-crm-sync-dlq"
    )
    assert invoke["destination_config"]["on_failure"]["destination"] == f"${{aws_sqs_queue.{dlq_key}.arn}}"
    subscription = users.only(SnsTopicSubscription.TF_RESOURCE_TYPE)
    # its own domain's topic: a reference, so Terraform subscribes after creating the topic
    topic_key = next(iter(users.resources(SnsTopic.TF_RESOURCE_TYPE)))
    assert subscription["protocol"] == "lambda" and subscription["topic_arn"] == f"${{aws_sns_topic.{topic_key}.arn}}"
    assert json.loads(subscription["filter_policy"]) == {"marketing_opt_in": ["true"], "type": ["user.registered"]}
    assert subscription["depends_on"] and "aws_lambda_permission" in subscription["depends_on"][0]
    assert users.only(CloudwatchMetricAlarm.TF_RESOURCE_TYPE, dimensions={"QueueName": "prod-users-crm-sync-dlq"})
    assert not users.resources(LambdaEventSourceMapping.TF_RESOURCE_TYPE)  # no queue to poll
    policy = json.loads(users.only(IamRolePolicy.TF_RESOURCE_TYPE, name="catalog-grants")["policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert sids["SendFailuresToOwnDlq"]["Resource"] == "arn:aws:sqs:eu-west-1:333333333333:prod-users-crm-sync-dlq"
    assert "ConsumeOwnQueue" not in sids


def test_locally_a_push_subscription_feeds_a_tap_queue_for_the_runner(stack) -> None:
    users = stack("local-users")
    subscription = users.only(SnsTopicSubscription.TF_RESOURCE_TYPE)
    assert subscription["protocol"] == "sqs" and subscription["raw_message_delivery"] is False
    names = sorted(q["name"] for q in users.resources(SqsQueue.TF_RESOURCE_TYPE).values() if "crm-sync" in q["name"])
    assert names == ["local-users-crm-sync", "local-users-crm-sync-dlq"]
    assert not users.resources(LambdaPermission.TF_RESOURCE_TYPE)


def test_domain_keys_are_granted_through_their_aliases_not_alias_arns(stack) -> None:
    """IAM never authorizes a key through an alias ARN in Resource: the grant names keys of the account, narrowed by
    kms:ResourceAliases to the keys the function uses: its own domain's (queue, tables) and the idempotency table's,
    never its source domain's (orders: SNS re-encrypts deliveries under the queue's key) nor the alarm topic's."""
    inventory = stack("prod-inventory")
    policies = [json.loads(p["policy"]) for p in inventory.resources(IamRolePolicy.TF_RESOURCE_TYPE).values()]
    grants = [s for p in policies for s in p["Statement"] if s["Sid"] == "UseDomainKeys"]
    assert grants and all(g["Resource"] == "arn:aws:kms:eu-west-1:333333333333:key/*" for g in grants)
    assert {tuple(g["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]) for g in grants} == {
        ("alias/eventform/prod/inventory", "alias/eventform/prod/platform-idempotency")
    }
    dev = stack("dev-inventory")
    dev_policies = [json.loads(p["policy"]) for p in dev.resources(IamRolePolicy.TF_RESOURCE_TYPE).values()]
    assert not [s for p in dev_policies for s in p["Statement"] if s["Sid"] == "UseDomainKeys"]  # service-managed


def test_the_deployed_powertools_is_the_locked_and_tested_one() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (locked,) = [p["version"] for p in lock["package"] if p["name"] == "aws-lambda-powertools"]
    assert locked == POWERTOOLS_VERSION, f"uv.lock has Powertools {locked}, modules/function.py deploys another"
    assert version("aws-lambda-powertools") == locked, "the venv is not synced with uv.lock: run make setup"


def test_the_project_python_admits_the_lambda_runtime_and_tests_on_it_where_the_machine_has_it() -> None:
    """Functions run ``python3.12`` (Lambda's python3.11 is deprecated). The project admits 3.11 because CI machines
    may have nothing newer and cannot download a Python (README); where a 3.12 exists, `make setup` builds the venv
    on it (.python-version lists it first), so what the tests run is what deploys."""
    preferred = (ROOT / ".python-version").read_text().split()
    assert f"python{preferred[0]}" == RUNTIME, ".python-version must name the Lambda runtime's Python first"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    runtime_version = tuple(int(part) for part in RUNTIME.removeprefix("python").split("."))
    assert runtime_version < (3, 14) and ">=3.11" in requires, f"requires-python {requires!r} must admit {RUNTIME}"
    running = "python{}.{}".format(*sys.version_info[:2])
    if running != RUNTIME:
        uv = ROOT / ".cache" / "uv-bootstrap" / "bin" / "uv"  # how make setup looks for it (Makefile PROJECT_PYTHON)
        found = subprocess.run(
            [str(uv), "python", "find", "--no-project", RUNTIME.removeprefix("python")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert found.returncode != 0, (
            f"tests run on {running} ({platform.python_implementation()}) although {found.stdout.strip()} exists "
            f"and functions run {RUNTIME}: rerun make setup"
        )
        pytest.skip(f"tests run on {running}: this machine has no {RUNTIME} (functions run {RUNTIME}; see README)")
