"""Synthesis of the EventBridge half of the sample catalog: buses, archives, bus policies, rules and targets, delivery
DLQs and alarms, target roles, API destinations, schedules, the CloudTrail API-call rule and the schema registry."""

from __future__ import annotations

import json

from cdktn_provider_aws.cloudwatch_event_api_destination import CloudwatchEventApiDestination
from cdktn_provider_aws.cloudwatch_event_archive import CloudwatchEventArchive
from cdktn_provider_aws.cloudwatch_event_bus import CloudwatchEventBus
from cdktn_provider_aws.cloudwatch_event_bus_policy import CloudwatchEventBusPolicy
from cdktn_provider_aws.cloudwatch_event_connection import CloudwatchEventConnection
from cdktn_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktn_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from cdktn_provider_aws.lambda_function import LambdaFunction
from cdktn_provider_aws.lambda_function_event_invoke_config import LambdaFunctionEventInvokeConfig
from cdktn_provider_aws.lambda_permission import LambdaPermission
from cdktn_provider_aws.scheduler_schedule import SchedulerSchedule
from cdktn_provider_aws.scheduler_schedule_group import SchedulerScheduleGroup
from cdktn_provider_aws.schemas_registry import SchemasRegistry
from cdktn_provider_aws.schemas_schema import SchemasSchema
from cdktn_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktn_provider_aws.sqs_queue import SqsQueue
from jsonschema import Draft4Validator

from eventform.catalog.naming import LIMITS, Names

PROD = "333333333333"


def test_each_bus_domain_gets_a_bus_an_archive_and_locators(stack) -> None:
    for name in ("orders", "users", "inventory"):
        configuration = stack(f"prod-{name}")
        bus = configuration.only(CloudwatchEventBus.TF_RESOURCE_TYPE)
        assert bus["name"] == f"prod-{name}"
        archive = configuration.only(CloudwatchEventArchive.TF_RESOURCE_TYPE)
        # environments/prod.yaml eventbridge.archive_days, unless the bus sets its own (inventory: 3 days)
        assert archive["retention_days"] == (3 if name == "inventory" else 365)
        assert archive["event_source_arn"].startswith("${aws_cloudwatch_event_bus.")
        assert {"bus_arn", "bus_name", "archive_arn"} <= set(configuration.config["output"])
    assert stack("dev-orders").only(CloudwatchEventArchive.TF_RESOURCE_TYPE)["retention_days"] == 7
    assert stack("dev-inventory").only(CloudwatchEventArchive.TF_RESOURCE_TYPE)["retention_days"] == 3
    assert stack("prod-notifications").resources(CloudwatchEventBus.TF_RESOURCE_TYPE) == {}  # no bus: declared


def test_an_archive_keeps_only_what_its_pattern_selects(stack) -> None:
    archive = stack("prod-users").only(CloudwatchEventArchive.TF_RESOURCE_TYPE)
    assert json.loads(archive["event_pattern"]) == {
        "detail": {"data": {"marketing_opt_in": [{"exists": True}]}},
        "source": ["com.example.users"],
    }


def test_bus_policy_names_accounts_and_the_organisation_never_a_bare_star(stack) -> None:
    policy = json.loads(stack("prod-orders").only(CloudwatchEventBusPolicy.TF_RESOURCE_TYPE)["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    # the marketplace partner's prod account (environments/prod.yaml partners:), not its sandbox of dev
    assert by_sid["AccountsPutEvents"]["Principal"] == {"AWS": ["arn:aws:iam::555555555555:root"]}
    organisation = by_sid["OrganizationPutsEvents"]
    assert organisation["Principal"] == "*"
    assert organisation["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-exampleorg01"  # test_bus_trust
    for statement in policy["Statement"]:
        assert statement["Action"] == "events:PutEvents"
        assert statement["Resource"] == f"arn:aws:events:eu-west-1:{PROD}:event-bus/prod-orders"
        if statement["Principal"] == "*":
            assert "aws:PrincipalOrgID" in statement["Condition"]["StringEquals"]
    assert stack("prod-users").resources(CloudwatchEventBusPolicy.TF_RESOURCE_TYPE) == {}  # nobody else: no policy


def test_one_rule_per_source_bus_with_the_generated_pattern(stack) -> None:
    users = stack("prod-users")
    rules = {r["event_bus_name"]: r for r in users.resources(CloudwatchEventRule.TF_RESOURCE_TYPE).values()}
    assert set(rules) == {"prod-users", "prod-orders"}  # customer-fanout consumes from two buses
    assert json.loads(rules["prod-orders"]["event_pattern"]) == {
        "source": ["com.example.orders"],
        "detail-type": ["order.created"],
        "detail": {"data": {"country": [{"anything-but": ["US"]}]}},
        # the orders bus admits the marketplace partner for order.created: prod and the partner's prod account
        "account": [PROD, "555555555555"],
    }
    for rule in rules.values():
        assert len(rule["name"]) <= LIMITS["rule"]


def test_every_target_has_retry_policy_and_the_delivery_dlq_with_an_alarm(stack, synthesized) -> None:
    checked = 0
    for planned in synthesized.stacks:
        configuration = stack(planned.name)
        queues = {q["name"] for q in configuration.resources(SqsQueue.TF_RESOURCE_TYPE).values()}
        alarmed = {
            a["dimensions"]["QueueName"]
            for a in configuration.resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
            if a.get("metric_name") == "ApproximateNumberOfMessagesVisible"
        }
        rules = configuration.resources(CloudwatchEventRule.TF_RESOURCE_TYPE)
        by_rule: dict[str, int] = {}
        for target in configuration.resources(CloudwatchEventTarget.TF_RESOURCE_TYPE).values():
            by_rule[target["rule"]] = by_rule.get(target["rule"], 0) + 1
            assert target["retry_policy"]["maximum_retry_attempts"] <= 185
            assert 60 <= target["retry_policy"]["maximum_event_age_in_seconds"] <= 86400
            dlq = target["dead_letter_config"]["arn"].rsplit(":", 1)[-1]
            assert dlq in queues and dlq in alarmed, (planned.name, dlq)
            checked += 1
        assert all(count <= 5 for count in by_rule.values())  # AWS: 5 targets per rule
        assert len(by_rule) <= len(rules)
    assert checked >= 10


def test_the_queue_target_admits_only_its_rules(stack) -> None:
    payments = stack("prod-payments")
    queue = payments.only(SqsQueue.TF_RESOURCE_TYPE, name="prod-payments-large-orders")
    statements = {s["Sid"]: s for s in json.loads(queue["policy"])["Statement"]}
    rules = statements["RulesSend"]
    assert rules["Principal"] == {"Service": "events.amazonaws.com"}
    assert rules["Condition"] == {
        "ArnEquals": {
            "aws:SourceArn": [
                f"arn:aws:events:eu-west-1:{PROD}:rule/prod-orders/prod-payments-large-orders-from-orders"
            ]
        }
    }
    assert "DenyInsecureTransport" in statements and "SubscribedTopicsSend" not in statements
    assert json.loads(queue["redrive_policy"])["deadLetterTargetArn"].endswith(":prod-payments-large-orders-dlq")
    target = payments.only(CloudwatchEventTarget.TF_RESOURCE_TYPE, target_id="queue", event_bus_name="prod-orders")
    assert target["arn"] == f"arn:aws:sqs:eu-west-1:{PROD}:prod-payments-large-orders"
    assert target["dead_letter_config"]["arn"].endswith(":prod-payments-large-orders-delivery-dlq")


def test_lambda_push_target_reuses_the_handler_wiring(stack) -> None:
    inventory = stack("prod-inventory")
    function = inventory.only(LambdaFunction.TF_RESOURCE_TYPE, function_name="prod-inventory-release-stock")
    assert function["handler"] == "handlers.release_stock.handler.lambda_handler"
    target = inventory.only(CloudwatchEventTarget.TF_RESOURCE_TYPE, target_id="push")
    assert target["arn"].startswith("${aws_lambda_function.")
    assert target["retry_policy"] == {"maximum_retry_attempts": 8, "maximum_event_age_in_seconds": 3600}
    dlq = f"arn:aws:sqs:eu-west-1:{PROD}:prod-inventory-release-stock-delivery-dlq"
    assert target["dead_letter_config"] == {"arn": dlq}
    permission = inventory.only(LambdaPermission.TF_RESOURCE_TYPE)
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == (
        f"arn:aws:events:eu-west-1:{PROD}:rule/prod-orders/prod-inventory-release-stock-from-orders"
    )
    invoke = inventory.only(LambdaFunctionEventInvokeConfig.TF_RESOURCE_TYPE)
    dlq_key = next(
        k
        for k, q in inventory.resources(SqsQueue.TF_RESOURCE_TYPE).items()
        if q["name"] == "prod-inventory-release-stock-delivery-dlq"
    )
    assert invoke["destination_config"] == {"on_failure": {"destination": f"${{aws_sqs_queue.{dlq_key}.arn}}"}}
    assert invoke["maximum_retry_attempts"] == 2
    # pushed, not queue-fed: no event source mapping of its own (the stack's are reserve-stock's queue and
    # stock-availability's table stream)
    mappings = inventory.resources(LambdaEventSourceMapping.TF_RESOURCE_TYPE).values()
    assert all("release-stock" not in m["function_name"] for m in mappings)
    queue_fed = [m for m in mappings if m["event_source_arn"].endswith(":prod-inventory-reserve-stock")]
    assert len(queue_fed) == 1
    grants = [
        s
        for p in inventory.resources(IamRolePolicy.TF_RESOURCE_TYPE).values()
        for s in json.loads(p["policy"])["Statement"]
        if s["Sid"] == "SendFailuresToOwnDlq" and "release-stock" in s["Resource"]
    ]
    assert grants == [{"Sid": "SendFailuresToOwnDlq", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq}]


def test_role_targets_get_a_role_for_exactly_that_target(stack) -> None:
    """Prod's targets are prod's (named in the catalog, resolved in prod's account) or the partner's prod account."""
    users = stack("prod-users")
    expected = {
        "onboarding": (
            "states:StartExecution",
            f"arn:aws:states:eu-west-1:{PROD}:stateMachine:customer-onboarding",
        ),
        "analytics": (
            ["firehose:PutRecord", "firehose:PutRecordBatch"],
            f"arn:aws:firehose:eu-west-1:{PROD}:deliverystream/customer-events",
        ),
        "partner": ("events:PutEvents", "arn:aws:events:eu-west-1:555555555555:event-bus/partner-inbound"),
    }
    role_resources = users.resources(IamRole.TF_RESOURCE_TYPE)
    roles = {r["name"]: r for r in role_resources.values()}
    policies = list(users.resources(IamRolePolicy.TF_RESOURCE_TYPE).values())

    def role_of(policy: dict) -> str:  # "${aws_iam_role.<key>.id}" -> that role's name
        return role_resources[policy["role"].removeprefix("${aws_iam_role.").rsplit(".", 1)[0]]["name"]

    for target_name, (actions, arn) in expected.items():
        role_name = f"prod-users-customer-fanout-{target_name}"
        trust = json.loads(roles[role_name]["assume_role_policy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "events.amazonaws.com"}
        assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": PROD}
        grants = [json.loads(p["policy"])["Statement"] for p in policies if role_of(p) == role_name]
        assert len(grants) == 1, f"{role_name}: one inline policy"
        assert any(s["Action"] == actions and s["Resource"] == arn for statements in grants for s in statements)
        for target in users.resources(CloudwatchEventTarget.TF_RESOURCE_TYPE).values():
            if target["target_id"] == target_name:
                assert target["arn"] == arn and target["role_arn"].startswith("${aws_iam_role.")
    stream = [t for t in users.resources(CloudwatchEventTarget.TF_RESOURCE_TYPE).values() if t["target_id"] == "stream"]
    assert stream and all(t["kinesis_target"] == {"partition_key_path": "$.detail.data.country"} for t in stream)


def test_api_destination_reads_credentials_from_secrets_manager_only(stack) -> None:
    users = stack("prod-users")
    destination = users.only(CloudwatchEventApiDestination.TF_RESOURCE_TYPE)
    assert destination["invocation_endpoint"] == "https://crm.example.com/hooks/eventform"
    assert destination["invocation_rate_limit_per_second"] == 10 and destination["http_method"] == "POST"
    connection = users.only(CloudwatchEventConnection.TF_RESOURCE_TYPE)
    api_key = connection["auth_parameters"]["api_key"]
    assert api_key["key"] == "x-api-key"
    assert "data.aws_secretsmanager_secret_version." in api_key["value"]  # resolved from the secret, never inline
    secret = next(iter(users.config["data"]["aws_secretsmanager_secret_version"].values()))
    # by name: the provider (allowed only prod's account) reads prod's own secret, never dev's
    assert secret["secret_id"] == "crm-webhook"
    crm = [t for t in users.resources(CloudwatchEventTarget.TF_RESOURCE_TYPE).values() if t["target_id"] == "crm"]
    assert crm and all(t["input_transformer"]["input_paths"]["country"] == "$.detail.data.country" for t in crm)


def test_locally_every_target_moto_cannot_reach_delivers_to_its_tap_with_the_same_shaping(stack) -> None:
    users = stack("local-users")  # no API destination nor connection: the credentials secret exists only in AWS
    assert not users.resources(CloudwatchEventApiDestination.TF_RESOURCE_TYPE)
    assert not users.resources(CloudwatchEventConnection.TF_RESOURCE_TYPE)
    assert "aws_secretsmanager_secret_version" not in users.config.get("data", {})
    targets = {t["target_id"]: t for t in users.resources(CloudwatchEventTarget.TF_RESOURCE_TYPE).values()}
    assert set(targets) == {"crm", "onboarding", "analytics", "stream", "partner"}
    for name, target in targets.items():  # each to its tap queue, no role (a queue's policy admits the rules)
        assert target["arn"] == f"arn:aws:sqs:us-east-1:123456789012:local-users-customer-fanout-{name}-tap"
        assert "role_arn" not in target and target["retry_policy"] and target["dead_letter_config"]
    assert targets["crm"]["input_transformer"]["input_paths"]["country"] == "$.detail.data.country"
    assert targets["onboarding"]["input_path"] == "$.detail.data"
    queues = {q["name"]: q for q in users.resources("aws_sqs_queue").values()}
    tap = queues["local-users-customer-fanout-crm-tap"]
    statement = json.loads(tap["policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == sorted(
        f"arn:aws:events:us-east-1:123456789012:rule/local-{bus}/local-users-customer-fanout-from-{bus}"
        for bus in ("orders", "users")
    )
    inventory = stack("local-inventory")  # a Lambda target: the function is deployed, the rule feeds its tap
    push = inventory.only(CloudwatchEventTarget.TF_RESOURCE_TYPE, target_id="push")
    assert push["arn"].endswith(":local-inventory-release-stock-push-tap")
    assert inventory.resources("aws_lambda_function")
    # the rule on the stack's own bus waits for the bus (its name is a plain string, not a reference)
    rule = users.only(CloudwatchEventRule.TF_RESOURCE_TYPE, name="local-users-customer-fanout-from-users")
    assert any(d.startswith("aws_cloudwatch_event_bus.") for d in rule["depends_on"])


def test_sns_target_with_an_input_transformer(stack) -> None:
    target = stack("prod-payments").only(CloudwatchEventTarget.TF_RESOURCE_TYPE, target_id="risk-topic")
    assert target["input_transformer"] == {
        "input_paths": {"order": "$.detail.data.order_id", "total": "$.detail.data.total"},
        "input_template": '"Order <order> needs review (total <total>)"',
    }
    assert "role_arn" not in target  # SNS is reached through the topic's resource policy


def test_schedules_in_a_group_per_domain_with_retry_dlq_and_a_scoped_role(stack) -> None:
    inventory = stack("prod-inventory")
    assert inventory.only(SchedulerScheduleGroup.TF_RESOURCE_TYPE)["name"] == "prod-inventory"
    nightly = inventory.only(SchedulerSchedule.TF_RESOURCE_TYPE, name="prod-inventory-nightly-recount")
    assert nightly["schedule_expression"] == "cron(0 3 * * ? *)"
    assert nightly["schedule_expression_timezone"] == "Europe/Berlin"
    assert nightly["flexible_time_window"] == {"mode": "FLEXIBLE", "maximum_window_in_minutes": 15}
    assert nightly["kms_key_arn"] == "${data.aws_kms_key.key-inventory.arn}"  # Scheduler takes no alias
    target = nightly["target"]
    assert target["arn"] == f"arn:aws:events:eu-west-1:{PROD}:event-bus/prod-inventory"
    assert target["eventbridge_parameters"] == {
        "detail_type": "stock.recount_requested",
        "source": "com.example.inventory",
    }
    assert target["retry_policy"] == {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600}
    assert target["dead_letter_config"]["arn"].endswith(":prod-inventory-schedules-delivery-dlq")
    envelope = json.loads(target["input"])  # the detail is the CloudEvents envelope, as the publisher sends it
    assert envelope["data"] == {"warehouse": "all", "requested_by": "schedule"}
    assert envelope["type"] == "stock.recount_requested" and envelope["id"] == "<aws.scheduler.execution-id>"
    role = inventory.only(IamRole.TF_RESOURCE_TYPE, name="prod-inventory-schedule-nightly-recount")
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": [f"arn:aws:scheduler:eu-west-1:{PROD}:schedule/prod-inventory/prod-inventory-nightly-recount"]
    }


def test_cloudtrail_api_call_rule_on_the_default_bus_alerts_the_alarm_topic(stack) -> None:
    payments = stack("prod-payments")
    rule = payments.only(CloudwatchEventRule.TF_RESOURCE_TYPE, name="prod-payments-ledger-table-deleted")
    assert "event_bus_name" not in rule  # the account's default bus receives AWS API calls
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.dynamodb"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["dynamodb.amazonaws.com"], "eventName": ["DeleteBackup", "DeleteTable"]},
    }
    target = payments.only(CloudwatchEventTarget.TF_RESOURCE_TYPE, target_id="alarm-topic")
    assert target["arn"] == Names("prod", "eu-west-1", PROD).alarm_topic_arn
    assert "<who>" in target["input_transformer"]["input_template"]
    topic_policy = json.loads(stack("prod-platform").only(SnsTopicPolicy.TF_RESOURCE_TYPE)["policy"])
    admits = {s["Sid"]: s for s in topic_policy["Statement"]}["EventBridgeAlertsPublish"]
    assert admits["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:events:eu-west-1:{PROD}:rule/prod-*"}


def test_schema_registry_where_the_environment_enables_it(stack) -> None:
    platform = stack("prod-platform")
    assert platform.only(SchemasRegistry.TF_RESOURCE_TYPE)["name"] == "eventform-prod"
    schemas = {s["name"]: s for s in platform.resources(SchemasSchema.TF_RESOURCE_TYPE).values()}
    # payment.authorized travels on the payments bus too
    assert "com.example.orders@order.created.v1" in schemas and len(schemas) == 8
    for schema in schemas.values():
        assert schema["type"] == "JSONSchemaDraft4"
        Draft4Validator.check_schema(json.loads(schema["content"]))
    for env in ("local", "dev"):  # the embedded AWS has no schema registry; dev does not need one
        assert stack(f"{env}-platform").resources(SchemasRegistry.TF_RESOURCE_TYPE) == {}


def test_the_readme_replay_call_names_the_real_archive_bus_and_rule(stack, project_root) -> None:
    readme = (project_root / "README.md").read_text()
    call = readme[readme.index("aws events start-replay") : readme.index("aws events describe-replay")]
    orders = stack("prod-orders").config
    assert "terraform -chdir=cdktf.out/stacks/prod-orders output -raw archive_arn" in readme
    assert "archive_arn" in orders["output"]
    archive = orders["resource"][CloudwatchEventArchive.TF_RESOURCE_TYPE]
    assert [a["name"] for a in archive.values()] == [Names("prod", "eu-west-1", PROD).archive("orders")]
    destination = json.loads(call[call.index("'{") + 1 : call.rindex("}'") + 1])
    assert destination["Arn"] == Names("prod", "eu-west-1", PROD).bus_arn("orders")
    rule_names = {r["name"] for r in stack("prod-inventory").resources(CloudwatchEventRule.TF_RESOURCE_TYPE).values()}
    (rule_arn,) = destination["FilterArns"]
    assert rule_arn.rsplit("/", 1)[-1] in rule_names and rule_arn.startswith(
        destination["Arn"].replace("event-bus", "rule")
    )


QUEUE_SCHEDULE = """
  recount-inbox:
    description: Queue a warehouse system reads recount requests from (outside Lambda).
    events: [orders/order.cancelled]
"""


def test_a_schedule_can_deliver_to_a_consumer_queue_with_a_role_for_that_queue_only(tmp_path_factory) -> None:
    from eventform.synthesis.app import synthesize
    from tests.conftest import StackJson, copy_project

    root = copy_project(tmp_path_factory.mktemp("queue-schedule"))
    inventory = root / "catalog" / "inventory.yaml"
    text = inventory.read_text().replace("\nconsumers:\n", "\nconsumers:" + QUEUE_SCHEDULE, 1)
    head, marker, tail = text.partition("\nschedules:")
    line_end = tail.index("\n") + 1
    text = (
        head
        + marker
        + tail[:line_end]
        + (
            "  weekly-inbox-ping:\n    description: Ask the warehouse system to recount weekly.\n"
            "    expression: rate(7 days)\n    consumer: recount-inbox\n    payload: {warehouse: all}\n"
        )
        + tail[line_end:]
    )
    inventory.write_text(text)
    result = synthesize(root, root / "cdktf.out", stacks=["prod-inventory"])
    stack = StackJson(result.outdir / "stacks" / "prod-inventory" / "cdk.tf.json")
    schedule = stack.only(SchedulerSchedule.TF_RESOURCE_TYPE, name="prod-inventory-weekly-inbox-ping")
    queue_arn = f"arn:aws:sqs:eu-west-1:{PROD}:prod-inventory-recount-inbox"
    assert schedule["schedule_expression"] == "rate(7 days)"
    assert schedule["target"]["arn"] == queue_arn
    assert json.loads(schedule["target"]["input"]) == {"warehouse": "all"}  # a plain message, not an envelope
    assert "eventbridge_parameters" not in schedule["target"]
    role = stack.only(IamRole.TF_RESOURCE_TYPE, name="prod-inventory-schedule-weekly-inbox-ping")
    key = next(k for k, r in stack.resources(IamRole.TF_RESOURCE_TYPE).items() if r is role)
    policy = stack.only(IamRolePolicy.TF_RESOURCE_TYPE, role=f"${{aws_iam_role.{key}.id}}")
    reach = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}["ReachThisTargetOnly"]
    assert (reach["Action"], reach["Resource"]) == ("sqs:SendMessage", queue_arn)
