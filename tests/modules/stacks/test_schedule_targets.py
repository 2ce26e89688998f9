"""A schedule that runs a handler: Scheduler invokes the consumer's function natively (no bus event to invent),
through a role that may invoke exactly that function, with the schedule's retry policy and the schedules DLQ; the
input is the catalog event as EventBridge would push it, and the handler runtime takes it as such."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.scheduler_schedule import SchedulerSchedule

from eventform.runtime.handler import unwrap
from eventform.synthesis.app import synthesize
from tests.conftest import copy_project

PROD = "333333333333"
CANCELLED = {"order_id": "ord_1001", "country": "DE", "reason": "customer_request", "cancelled_by": "customer"}
SCHEDULE = f"""
  release-stale:
    description: Re-runs the release of stock for an order cancelled while the warehouse was offline.
    expression: rate(1 day)
    consumer: release-stock     # a consumer with a handler: Scheduler invokes its function
    event: orders/order.cancelled   # one of the events it takes
    payload: {json.dumps(CANCELLED)}
    retry: {{max_attempts: 2, max_age: 30m}}
"""


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = copy_project(tmp_path_factory.mktemp("schedule-handler"))
    path = project / "catalog/inventory.yaml"
    path.write_text(
        path.read_text().replace(
            "\nschedules:  # EventBridge Scheduler, group <env>-inventory\n",
            "\nschedules:  # EventBridge Scheduler, group <env>-inventory\n" + SCHEDULE.lstrip("\n"),
            1,
        )
    )
    synthesize(project, project / "cdktf.out", stacks=["prod-inventory"])
    return json.loads((project / "cdktf.out/stacks/prod-inventory/cdk.tf.json").read_text())


def _only(config: dict[str, Any], kind: str, **match: Any) -> dict[str, Any]:
    found = [r for r in config["resource"].get(kind, {}).values() if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"{len(found)} {kind} with {match}"
    return found[0]


def test_scheduler_invokes_the_handlers_function_with_retries_and_the_dlq(inventory: dict[str, Any]) -> None:
    schedule = _only(inventory, SchedulerSchedule.TF_RESOURCE_TYPE, name="prod-inventory-release-stale")
    target = schedule["target"]
    function_arn = f"arn:aws:lambda:eu-west-1:{PROD}:function:prod-inventory-release-stock"
    assert target["arn"] == function_arn
    assert "eventbridge_parameters" not in target
    assert target["retry_policy"] == {"maximum_retry_attempts": 2, "maximum_event_age_in_seconds": 1800}
    assert target["dead_letter_config"]["arn"] == f"arn:aws:sqs:eu-west-1:{PROD}:prod-inventory-schedules-delivery-dlq"
    functions = [r["function_name"] for r in inventory["resource"]["aws_lambda_function"].values()]
    assert "prod-inventory-release-stock" in functions  # the target exists in the same stack


def test_the_role_may_invoke_exactly_that_function_and_only_scheduler_for_this_schedule_assumes_it(
    inventory: dict[str, Any],
) -> None:
    role = _only(inventory, IamRole.TF_RESOURCE_TYPE, name="prod-inventory-schedule-release-stale")
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": [f"arn:aws:scheduler:eu-west-1:{PROD}:schedule/prod-inventory/prod-inventory-release-stale"]
    }
    policies = [
        json.loads(p["policy"])
        for p in inventory["resource"][IamRolePolicy.TF_RESOURCE_TYPE].values()
        if "schedule-release-stale-role" in p["role"]
    ]
    assert len(policies) == 1, policies
    statements = {s["Sid"]: s for policy in policies for s in policy["Statement"]}
    assert statements["ReachThisTargetOnly"]["Action"] in ("lambda:InvokeFunction", ["lambda:InvokeFunction"])
    assert statements["ReachThisTargetOnly"]["Resource"] in (
        f"arn:aws:lambda:eu-west-1:{PROD}:function:prod-inventory-release-stock",
        [f"arn:aws:lambda:eu-west-1:{PROD}:function:prod-inventory-release-stock"],
    )


def test_the_input_is_the_event_as_eventbridge_pushes_it_and_the_runtime_takes_it(inventory: dict[str, Any]) -> None:
    schedule = _only(inventory, SchedulerSchedule.TF_RESOURCE_TYPE, name="prod-inventory-release-stale")
    text = schedule["target"]["input"]
    for placeholder, value in {  # what Scheduler substitutes when it invokes
        "<aws.scheduler.execution-id>": "d32c5kddcf5bb8c3",
        "<aws.scheduler.scheduled-time>": "2026-01-15T03:00:00Z",
        "<aws.scheduler.schedule-arn>": f"arn:aws:scheduler:eu-west-1:{PROD}:schedule/x/y",
    }.items():
        text = text.replace(placeholder, value)
    invocation = json.loads(text)
    assert invocation["detail-type"] == "order.cancelled" and invocation["source"] == "com.example.orders"
    event = unwrap(invocation)
    assert (event.type, event.source, event.id) == ("order.cancelled", "com.example.orders", "d32c5kddcf5bb8c3")
    assert event.data == CANCELLED
    assert event.dataschema == "https://schemas.example.com/orders/order.cancelled/v1.json"
