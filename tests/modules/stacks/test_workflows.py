"""A catalog workflow in the synthesized stacks: the state machine with its resolved definition, logging and tracing,
a role that may do exactly what its tasks do, the starters' roles, the task consumer's queue and answer grant, and
the alarms of the observability plan."""

from __future__ import annotations

import json

from cdktn_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.sfn_state_machine import SfnStateMachine
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktn_provider_aws.sqs_queue import SqsQueue

PROD = "333333333333"
MACHINE = f"arn:aws:states:eu-west-1:{PROD}:stateMachine:prod-payments-authorize-payment"
TASKS = f"arn:aws:sqs:eu-west-1:{PROD}:prod-payments-payment-authorizer"


def _policies(stack_json, role_name: str) -> list[dict]:
    role_key = next(k for k, r in stack_json.resources(IamRole.TF_RESOURCE_TYPE).items() if r["name"] == role_name)
    return [
        json.loads(p["policy"])
        for p in stack_json.resources(IamRolePolicy.TF_RESOURCE_TYPE).values()
        if p["role"] == f"${{aws_iam_role.{role_key}.id}}"
    ]


def test_the_state_machine_is_logged_traced_and_resolved(stack) -> None:
    payments = stack("prod-payments")
    machine = payments.only(SfnStateMachine.TF_RESOURCE_TYPE)
    assert (machine["name"], machine["type"]) == ("prod-payments-authorize-payment", "STANDARD")
    assert machine["tracing_configuration"] == {"enabled": True}
    logging = machine["logging_configuration"]
    assert (logging["level"], logging["include_execution_data"]) == ("ALL", False)
    assert logging["log_destination"].startswith("${aws_cloudwatch_log_group.") and logging["log_destination"].endswith(
        ":*"
    )
    definition = json.loads(machine["definition"])
    assert definition["TimeoutSeconds"] == 7200
    queue_url = definition["States"]["RequestAuthorization"]["Parameters"]["QueueUrl"]
    assert queue_url == f"https://sqs.eu-west-1.amazonaws.com/{PROD}/prod-payments-payment-authorizer"
    assert definition["States"]["EmitAuthorized"]["Parameters"]["Entries"][0]["EventBusName"] == "prod-payments"
    group = payments.only(
        CloudwatchLogGroup.TF_RESOURCE_TYPE, name="/aws/vendedlogs/states/prod-payments-authorize-payment"
    )
    assert group["retention_in_days"] == 365 and group["kms_key_id"].startswith("${data.aws_kms_key.")


def test_the_role_does_exactly_what_the_tasks_do(stack) -> None:
    payments = stack("prod-payments")
    role = payments.only(IamRole.TF_RESOURCE_TYPE, name="prod-payments-workflow-authorize-payment")
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == [MACHINE]
    (policy,) = _policies(payments, "prod-payments-workflow-authorize-payment")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {
        "SendTasksToNamedQueues",
        "PutEmittedEvents",
        "UseTheirDomainKeys",
        "DeliverLogs",
        "SendTraces",
    }
    assert (by_sid["SendTasksToNamedQueues"]["Action"], by_sid["SendTasksToNamedQueues"]["Resource"]) == (
        "sqs:SendMessage",
        TASKS,
    )
    put = by_sid["PutEmittedEvents"]
    assert put["Resource"] == f"arn:aws:events:eu-west-1:{PROD}:event-bus/prod-payments"
    assert put["Condition"]["StringEquals"] == {
        "events:detail-type": "payment.authorized",
        "events:source": "com.example.payments",
    } or put["Condition"]["StringEquals"] == {
        "events:detail-type": ["payment.authorized"],
        "events:source": ["com.example.payments"],
    }


def test_the_rule_starts_only_its_workflow(stack) -> None:
    payments = stack("prod-payments")
    target = payments.only(CloudwatchEventTarget.TF_RESOURCE_TYPE, target_id="authorize")
    assert target["arn"] == MACHINE
    assert target["dead_letter_config"]["arn"].endswith("prod-payments-authorize-orders-delivery-dlq")
    (policy,) = _policies(payments, "prod-payments-authorize-orders-authorize")
    (statement,) = policy["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("states:StartExecution", MACHINE)


def test_the_task_consumer_has_a_standard_queue_no_subscription_and_may_answer_tokens(stack) -> None:
    payments = stack("prod-payments")
    queue = payments.only(SqsQueue.TF_RESOURCE_TYPE, name="prod-payments-payment-authorizer")
    assert "fifo_queue" not in queue or queue["fifo_queue"] is False
    subscriptions = payments.resources(SnsTopicSubscription.TF_RESOURCE_TYPE).values()
    assert not [s for s in subscriptions if "payment-authorizer" in json.dumps(s)]
    answers = [
        s
        for p in _policies(payments, "prod-payments-payment-authorizer-role")
        for s in p["Statement"]
        if s["Sid"] == "AnswerTheTasksItServes"
    ]
    assert answers == [
        {
            "Sid": "AnswerTheTasksItServes",
            "Effect": "Allow",
            "Action": ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"],
            "Resource": "*",  # AWS scopes SendTask* to no resource: the token is the capability
        }
    ]


def test_the_workflow_alarms_are_in_the_plan(stack) -> None:
    alarms = stack("prod-payments").resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
    named = {a["alarm_name"]: a for a in alarms}
    failed = named["prod-payments-authorize-payment-failed-executions"]
    metrics = {q["metric"]["metric_name"] for q in failed["metric_query"] if "metric" in q}
    assert metrics == {"ExecutionsFailed", "ExecutionsTimedOut"}
    assert "prod-payments-authorize-payment-throttled" in named
