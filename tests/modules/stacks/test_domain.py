"""Synthesis of the sample catalog: resources exist and are wired to each other as the catalog says."""

from __future__ import annotations

import json

import pytest
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktn_provider_aws.sqs_queue import SqsQueue
from cdktn_provider_aws.ssm_parameter import SsmParameter

REQUIRED_TAGS = {"env", "domain", "owner", "data-classification"}
TAGGABLE = (SqsQueue, SnsTopic, CloudwatchMetricAlarm, KmsKey, SsmParameter)


def statements(policy: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


def test_one_stack_per_environment_and_domain_plus_platform(synthesized) -> None:
    names = {p.name for p in synthesized.stacks}
    for env in ("dev", "staging", "prod", "local"):
        assert {
            f"{env}-{d}" for d in ("platform", "orders", "users", "notifications", "inventory", "payments")
        } <= names
    assert len(names) == 24


def test_queue_policy_admits_only_the_subscribed_topics(stack) -> None:
    notifications = stack("dev-notifications")
    queue = notifications.only(SqsQueue.TF_RESOURCE_TYPE, name="dev-notifications-send-email")
    allow = statements(queue["policy"])["SubscribedTopicsSend"]
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        "arn:aws:sns:eu-west-1:111111111111:dev-orders-events",
        "arn:aws:sns:eu-west-1:111111111111:dev-users-events",
    ]
    assert allow["Resource"] == "arn:aws:sqs:eu-west-1:111111111111:dev-notifications-send-email"
    dlq = notifications.only(SqsQueue.TF_RESOURCE_TYPE, name="dev-notifications-send-email-dlq")
    assert "SubscribedTopicsSend" not in statements(dlq["policy"])  # nothing but redrive feeds a DLQ
    for policy in (queue["policy"], dlq["policy"]):  # the queue and its DLQ refuse plain HTTP
        deny = statements(policy)["DenyInsecureTransport"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_each_queue_redrives_to_its_own_dlq_which_allows_only_it(stack) -> None:
    inventory = stack("prod-inventory")
    queue = inventory.only(SqsQueue.TF_RESOURCE_TYPE, name="prod-inventory-reserve-stock")
    dlq = inventory.only(SqsQueue.TF_RESOURCE_TYPE, name="prod-inventory-reserve-stock-dlq")
    redrive = json.loads(queue["redrive_policy"])
    assert redrive == {
        "deadLetterTargetArn": "arn:aws:sqs:eu-west-1:333333333333:prod-inventory-reserve-stock-dlq",
        "maxReceiveCount": 3,
    }
    assert json.loads(dlq["redrive_allow_policy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": ["arn:aws:sqs:eu-west-1:333333333333:prod-inventory-reserve-stock"],
    }
    assert dlq["message_retention_seconds"] >= queue["message_retention_seconds"] == 7 * 86400
    assert queue["visibility_timeout_seconds"] == 120
    assert any("consumer-reserve-stock_dlq" in d for d in queue["depends_on"])


def test_filter_policies_match_the_catalog(stack) -> None:
    notifications = stack("dev-notifications")
    subscriptions = {
        s["topic_arn"].rsplit(":", 1)[1]: s
        for s in notifications.resources(SnsTopicSubscription.TF_RESOURCE_TYPE).values()
    }
    assert set(subscriptions) == {"dev-orders-events", "dev-users-events"}
    eu = ["DE", "AT", "FR", "NL", "ES", "IT"]
    assert json.loads(subscriptions["dev-orders-events"]["filter_policy"]) == {"type": ["order.created"], "country": eu}
    assert json.loads(subscriptions["dev-users-events"]["filter_policy"]) == {
        "type": ["user.registered"],
        "country": eu,
    }
    assert all(s["raw_message_delivery"] is True and s["protocol"] == "sqs" for s in subscriptions.values())
    assert {s["filter_policy_scope"] for s in subscriptions.values()} == {"MessageAttributes"}
    body = stack("dev-inventory").only(SnsTopicSubscription.TF_RESOURCE_TYPE)
    assert body["filter_policy_scope"] == "MessageBody"
    assert json.loads(body["filter_policy"]) == {
        "type": ["order.created"],
        "data": {"shipping": {"method": [{"anything-but": ["digital"]}]}},
    }


def test_fifo_topic_feeds_a_fifo_queue(stack) -> None:
    payments = stack("staging-payments")
    topic = payments.only(SnsTopic.TF_RESOURCE_TYPE)
    assert topic["name"] == "staging-payments-events.fifo" and topic["fifo_topic"] is True
    queue = payments.only(SqsQueue.TF_RESOURCE_TYPE, name="staging-payments-ledger.fifo")
    assert queue["fifo_queue"] is True and queue["deduplication_scope"] == "messageGroup"
    assert payments.only(SqsQueue.TF_RESOURCE_TYPE, name="staging-payments-ledger-dlq.fifo")["fifo_queue"] is True
    subscriptions = payments.resources(SnsTopicSubscription.TF_RESOURCE_TYPE).values()
    assert len(subscriptions) == 2  # ledger, and the settlement queue a pipe drains
    topic_key = next(iter(payments.resources(SnsTopic.TF_RESOURCE_TYPE)))
    assert all(s["topic_arn"] == f"${{aws_sns_topic.{topic_key}.arn}}" for s in subscriptions)  # after the topic


def test_dlq_and_age_alarms_notify_the_platform_alarm_topic(stack) -> None:
    users = stack("dev-notifications")
    alarms = {a.get("metric_name"): a for a in users.resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()}
    dlq_alarm, age_alarm = alarms["ApproximateNumberOfMessagesVisible"], alarms["ApproximateAgeOfOldestMessage"]
    assert dlq_alarm["dimensions"] == {"QueueName": "dev-notifications-send-email-dlq"}
    assert dlq_alarm["threshold"] == 0 and dlq_alarm["comparison_operator"] == "GreaterThanThreshold"
    # the age threshold is the consumer's slo.max_lag (5m), not the environment's default (30m)
    assert age_alarm["dimensions"] == {"QueueName": "dev-notifications-send-email"} and age_alarm["threshold"] == 300
    platform_topic = stack("dev-platform").only(SnsTopic.TF_RESOURCE_TYPE)["name"]
    # both notify through the consumer's composite alarm (tests/modules/stacks/test_monitoring.py)
    (composite,) = users.resources("aws_cloudwatch_composite_alarm").values()
    assert composite["alarm_actions"] == [f"arn:aws:sns:eu-west-1:111111111111:{platform_topic}"]
    assert f'ALARM("{dlq_alarm["alarm_name"]}")' in composite["alarm_rule"]
    assert "alarm_actions" not in dlq_alarm


def test_alarm_topic_admits_cloudwatch_with_a_source_condition(stack) -> None:
    policy = stack("prod-platform").only(SnsTopicPolicy.TF_RESOURCE_TYPE)
    allow = statements(policy["policy"])["CloudWatchAlarmsPublish"]
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": "333333333333"}
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"].startswith("arn:aws:cloudwatch:eu-west-1:333333333333:alarm:")


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "local"])
def test_every_taggable_resource_carries_the_required_tags(stack, synthesized, env: str) -> None:
    for planned in (p for p in synthesized.stacks if p.environment.name == env):
        for construct in TAGGABLE:
            for name, resource in stack(planned.name).resources(construct.TF_RESOURCE_TYPE).items():
                assert set(resource["tags"]) >= REQUIRED_TAGS, f"{planned.name}/{name} lacks tags"
                assert resource["tags"]["env"] == env


def test_encryption_follows_the_environment(stack) -> None:
    dev_queue = stack("dev-inventory").only(SqsQueue.TF_RESOURCE_TYPE, name="dev-inventory-reserve-stock")
    assert dev_queue["sqs_managed_sse_enabled"] is True and "kms_master_key_id" not in dev_queue
    assert stack("dev-orders").only(SnsTopic.TF_RESOURCE_TYPE)["kms_master_key_id"] == "alias/aws/sns"
    prod_queue = stack("prod-inventory").only(SqsQueue.TF_RESOURCE_TYPE, name="prod-inventory-reserve-stock")
    assert prod_queue["kms_master_key_id"] == "arn:aws:kms:eu-west-1:333333333333:alias/eventform/prod/inventory"
    aliases = {a["name"] for a in stack("prod-platform").resources(KmsAlias.TF_RESOURCE_TYPE).values()}
    assert "alias/eventform/prod/inventory" in aliases and "alias/eventform/prod/platform" in aliases
    keys = {k["description"]: k for k in stack("prod-platform").resources(KmsKey.TF_RESOURCE_TYPE).values()}
    assert all(k["enable_key_rotation"] is True for k in keys.values())
    # a domain key names only the services that use it, each for this account's resources of prod (aws:SourceArn)
    inventory = statements(keys["eventform prod: inventory"]["policy"])
    services = {
        s["Principal"]["Service"] for s in inventory.values() if "Principal" in s and "Service" in s["Principal"]
    }
    assert services == {"sns.amazonaws.com", "events.amazonaws.com", "logs.eu-west-1.amazonaws.com"}
    assert inventory["EventsUsesTheKey"]["Condition"]["ArnLike"]["aws:SourceArn"] == [
        "arn:aws:events:eu-west-1:333333333333:archive/prod-*",
        "arn:aws:events:eu-west-1:333333333333:event-bus/prod-*",
        "arn:aws:events:eu-west-1:333333333333:rule/prod-*",
    ]
    # payments has a bucket: S3 may use its key; the alarm topic's key admits CloudWatch alarms
    assert "S3UsesTheKey" in statements(keys["eventform prod: payments"]["policy"])
    assert "CloudwatchUsesTheKey" in statements(keys["eventform prod: alarm topic"]["policy"])
    # prod has a key-admin role: it administers, the account's IAM policies may only use the key
    assert inventory["KeyAdministration"]["Principal"] == {"AWS": "arn:aws:iam::333333333333:role/eventform-deploy"}
    assert "kms:*" not in json.dumps(inventory) and "kms:Decrypt" not in inventory["KeyAdministration"]["Action"]
    (dev_key,) = stack("dev-platform").resources(KmsKey.TF_RESOURCE_TYPE).values()  # only the alarm topic's key
    assert "AccountAdministers" in statements(dev_key["policy"])  # no key-admin role in dev: the account administers


def test_locators_and_outputs(stack) -> None:
    notifications = stack("prod-notifications")
    parameter = notifications.only(SsmParameter.TF_RESOURCE_TYPE)
    assert parameter["name"] == "/eventform/prod/notifications/consumers/send-email"
    assert parameter["type"] == "String"
    for attribute in ("queue_url", "queue_arn", "dlq_url", "dlq_arn"):
        assert f'"{attribute}" = aws_sqs_queue.' in parameter["value"]
    assert parameter["value"].startswith("${jsonencode(")
    assert set(notifications.config["output"]) == {"send_email_queue_url", "send_email_queue_arn"}
    orders = stack("prod-orders")
    assert orders.only(SsmParameter.TF_RESOURCE_TYPE, name="/eventform/prod/orders/topic_arn")
    assert orders.only(SsmParameter.TF_RESOURCE_TYPE, name="/eventform/prod/orders/bus_name")
    assert "topic_arn" in orders.config["output"]


def test_backends_and_provider_constraints_follow_the_environment(stack) -> None:
    dev, prod, local = stack("dev-orders").config, stack("prod-orders").config, stack("local-orders").config
    # dev reads the CRM secret at plan time (users' API destination): its state is in S3 too, never a local file
    assert dev["terraform"]["backend"]["s3"]["kms_key_id"] == "arn:aws:kms:eu-west-1:111111111111:alias/eventform-state"
    assert local["terraform"]["backend"] == {"local": {"path": "../../../terraform.local-orders.tfstate"}}
    assert prod["terraform"]["backend"]["s3"] == {
        "bucket": "example-eventform-state-prod",
        "key": "eventform/prod-orders.tfstate",
        "region": "eu-west-1",
        "encrypt": True,
        "kms_key_id": "arn:aws:kms:eu-west-1:333333333333:alias/eventform-state",  # the state's own key
        "use_lockfile": True,
    }
    assert prod["terraform"]["required_providers"]["aws"]["version"] == "~> 6.0"
    assert local["terraform"]["required_providers"]["aws"]["version"] == ">= 5.100.0, < 7.0.0"
    assert prod["provider"]["aws"][0]["allowed_account_ids"] == ["333333333333"]
    endpoints = local["provider"]["aws"][0]["endpoints"][0]
    assert endpoints["sqs"] == endpoints["sns"] == "http://127.0.0.1:4566"
