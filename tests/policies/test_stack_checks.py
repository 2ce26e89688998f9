"""Each eventform-side check in policies/stack: a passing and a failing stack fixture in the real Terraform JSON
shape, plus the test that pins the full list of our check ids (checkov silently drops a duplicate id)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eventform.catalog.model import Backend, Environment
from eventform.compliance.stack_checks import FAILED, PASSED, StackView, load_stack_checks

ROOT = Path(__file__).resolve().parents[2]
RESOURCE_CHECK_IDS = [f"CKV_EVF_{n}" for n in range(1, 15)]  # 12: delivery streams, 13: ingestion, 14: workflows
STACK_CHECK_IDS = [f"CKV_EVF_{n}" for n in range(101, 109)]


def environment(name: str, encryption: str = "customer-managed") -> Environment:
    return Environment(name, "333333333333", "eu-west-1", "~> 6.0", Backend("local"), encryption, Path(f"{name}.yaml"))


def queue(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "message_retention_seconds": 345600, **extra}


def redrive(dlq: str, count: int = 5) -> str:
    return json.dumps({"deadLetterTargetArn": f"arn:aws:sqs:eu-west-1:333333333333:{dlq}", "maxReceiveCount": count})


ALARM_TOPIC = "arn:aws:sns:eu-west-1:333333333333:prod-platform-alarms"
BASE: dict[str, Any] = {
    "output": {"c_queue_url": {"value": "${aws_sqs_queue.q.url}"}},
    "resource": {
        "aws_sqs_queue": {
            "q": queue(
                "prod-a-c",
                redrive_policy=redrive("prod-a-c-dlq"),
                kms_master_key_id="alias/eventform/prod/a",
                visibility_timeout_seconds=60,
            ),
            "dlq": queue("prod-a-c-dlq", message_retention_seconds=1209600, kms_master_key_id="alias/eventform/prod/a"),
        },
        "aws_cloudwatch_metric_alarm": {
            "dlq-alarm": {
                "namespace": "AWS/SQS",
                "metric_name": "ApproximateNumberOfMessagesVisible",
                "dimensions": {"QueueName": "prod-a-c-dlq"},
                "alarm_actions": [ALARM_TOPIC],
            },
            "age-alarm": {
                "alarm_name": "prod-a-c-oldest-message-age",
                "namespace": "AWS/SQS",
                "metric_name": "ApproximateAgeOfOldestMessage",
                "dimensions": {"QueueName": "prod-a-c"},
            },
            "error-rate": {
                "alarm_name": "prod-a-c-error-rate",
                "metric_query": [
                    {"id": "errors", "metric": {"namespace": "AWS/Lambda", "metric_name": "Errors"}},
                    {"id": "invocations", "metric": {"namespace": "AWS/Lambda", "metric_name": "Invocations"}},
                    {"id": "result", "expression": "IF(invocations > 0, 100 * errors / invocations, 0)"},
                ],
            },
        },
        "aws_cloudwatch_composite_alarm": {
            "c": {
                "alarm_name": "prod-a-c-consumer",
                "alarm_rule": 'ALARM("prod-a-c-oldest-message-age") OR ALARM("prod-a-c-error-rate")',
                "alarm_actions": [ALARM_TOPIC],
                "tags": {"eventform-consumer": "c"},
            }
        },
        "aws_sns_topic_subscription": {
            "sub": {
                "protocol": "sqs",
                "topic_arn": "arn:aws:sns:eu-west-1:333333333333:prod-b-events",
                "endpoint": "${aws_sqs_queue.q.arn}",
            }
        },
        "aws_lambda_function": {"f": {"function_name": "prod-a-handler", "timeout": 10}},
        "aws_lambda_event_source_mapping": {
            "m": {
                "event_source_arn": "${aws_sqs_queue.q.arn}",
                "function_name": "${aws_lambda_function.f.function_name}",
            }
        },
        "aws_cloudwatch_event_bus": {"bus": {"name": "prod-a"}},
        "aws_cloudwatch_event_archive": {
            "archive": {
                "name": "prod-a",
                "event_source_arn": "${aws_cloudwatch_event_bus.bus.arn}",
                "retention_days": 30,
            }
        },
        "aws_cloudwatch_event_target": {"t": {"rule": "r", "arn": "${aws_lambda_function.f.arn}"}},
        "aws_lambda_function_event_invoke_config": {
            "ic": {
                "function_name": "${aws_lambda_function.f.function_name}",
                "destination_config": {"on_failure": {"destination": "${aws_sqs_queue.dlq.arn}"}},
            }
        },
    },
}


def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    config = copy.deepcopy(BASE)
    change(config["resource"])
    return config


def _set(resource: dict[str, Any], path: str, found: Any) -> None:
    *parents, last = path.split(".")
    node = resource
    for part in parents:
        node = node[part]
    if found is None:
        node.pop(last)
    else:
        node[last] = found


# check id -> mutation of BASE that must fail it
FAILING: dict[str, Callable[[dict[str, Any]], None]] = {
    "CKV_EVF_101": lambda r: _set(r, "aws_sqs_queue.dlq.message_retention_seconds", 60),
    "CKV_EVF_102": lambda r: _set(r, "aws_sqs_queue.q.kms_master_key_id", "alias/aws/sqs"),
    "CKV_EVF_103": lambda r: _set(r, "aws_lambda_function.f.timeout", 60),
    "CKV_EVF_104": lambda r: _set(r, "aws_lambda_function_event_invoke_config.ic.destination_config", {}),
    "CKV_EVF_105": lambda r: _set(
        r, "aws_sns_topic_subscription.sub.topic_arn", "arn:aws:sns:eu-west-1:333333333333:prod-b-events.fifo"
    ),
    "CKV_EVF_106": lambda r: _set(r, "aws_cloudwatch_event_archive", {}),
    "CKV_EVF_107": lambda r: _set(r, "aws_cloudwatch_metric_alarm.dlq-alarm.alarm_actions", []),
    "CKV_EVF_108": lambda r: _set(
        r, "aws_cloudwatch_composite_alarm.c.alarm_rule", 'ALARM("prod-a-c-oldest-message-age")'
    ),
}


@pytest.fixture(scope="module")
def checks():
    return {check.id: check for check in load_stack_checks(ROOT / "policies" / "stack")}


def results(check, config: dict[str, Any], env: Environment | None = None) -> list[str]:
    view = StackView("prod-a", config, env or environment("prod"))
    return [r.result for r in check.evaluate(view)]


def test_our_check_ids_are_pinned(checks) -> None:
    from tests.policies.test_resource_checks import CASES, load

    resource_ids = sorted((load(module).id for module in CASES), key=lambda i: int(i.rsplit("_", 1)[1]))
    assert resource_ids == RESOURCE_CHECK_IDS
    assert sorted(checks) == STACK_CHECK_IDS
    resource_files = sorted(p.stem for p in (ROOT / "policies" / "resource").glob("*.py") if p.stem != "__init__")
    assert resource_files == sorted(CASES), "every resource check has fixtures in test_resource_checks.CASES"


def test_no_id_collides_with_checkov() -> None:
    from checkov.common.bridgecrew.check_type import CheckType
    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    builtin = {c.id for checks in resource_registry.checks.values() for c in checks if "policies" not in c.__module__}
    graph = get_graph_checks_registry(CheckType.TERRAFORM)
    graph.load_checks()
    builtin |= {c.id for c in graph.checks}
    assert len(builtin) > 1000
    assert not builtin & set(RESOURCE_CHECK_IDS + STACK_CHECK_IDS)


@pytest.mark.parametrize("check_id", STACK_CHECK_IDS)
def test_passing_fixture_passes(checks, check_id: str) -> None:
    found = results(checks[check_id], BASE)
    assert found and set(found) == {PASSED}


@pytest.mark.parametrize("check_id", STACK_CHECK_IDS)
def test_failing_fixture_fails(checks, check_id: str) -> None:
    assert FAILED in results(checks[check_id], broken(FAILING[check_id]))


def test_environment_decides_where_keys_and_archives_apply(checks) -> None:
    unencrypted = broken(FAILING["CKV_EVF_102"])
    assert results(checks["CKV_EVF_102"], unencrypted, environment("dev", "service-managed")) == []
    view = StackView("dev-a", broken(FAILING["CKV_EVF_106"]), environment("dev"))
    assert list(checks["CKV_EVF_106"].evaluate(view)) == []


def test_standard_topic_to_fifo_queue_fails_too(checks) -> None:
    config = broken(lambda r: _set(r, "aws_sqs_queue.q.fifo_queue", True))
    assert results(checks["CKV_EVF_105"], config) == [FAILED]


def test_a_pipe_without_the_domain_key_fails_where_keys_are_customer_managed(checks) -> None:
    pipe = {"name": "prod-a-p", "source": "arn:aws:sqs:eu-west-1:333333333333:prod-a-c", "target": "arn:aws:sns:x"}
    encrypted = broken(lambda r: _set(r, "aws_pipes_pipe", {"p": {**pipe, "kms_key_identifier": "alias/eventform/a"}}))
    assert set(results(checks["CKV_EVF_102"], encrypted)) == {PASSED}
    plain = broken(lambda r: _set(r, "aws_pipes_pipe", {"p": pipe}))
    assert FAILED in results(checks["CKV_EVF_102"], plain)
    assert results(checks["CKV_EVF_102"], plain, environment("dev", "service-managed")) == []


def test_a_dlq_alarm_may_notify_through_its_consumers_composite(checks) -> None:
    def through_composite(r: dict[str, Any]) -> None:
        dlq_alarm = r["aws_cloudwatch_metric_alarm"]["dlq-alarm"]
        dlq_alarm.update(alarm_name="prod-a-c-dlq-visible-messages", alarm_actions=[])
        r["aws_cloudwatch_composite_alarm"]["c"]["alarm_rule"] += ' OR ALARM("prod-a-c-dlq-visible-messages")'

    assert set(results(checks["CKV_EVF_107"], broken(through_composite))) == {PASSED}
    silent = broken(lambda r: (through_composite(r), r["aws_cloudwatch_composite_alarm"]["c"].pop("alarm_actions")))
    assert FAILED in results(checks["CKV_EVF_107"], silent)


def test_every_consumer_needs_lag_errors_and_a_page(checks) -> None:
    """The consumer comes from the outputs: one without any alarm fails; so do a missing lag alarm and a composite
    that notifies nobody. A queue no function drains may count its DLQ's depth as its errors; one with a function
    may not."""
    check = checks["CKV_EVF_108"]
    unwatched = broken(lambda r: r.pop("aws_cloudwatch_composite_alarm"))
    assert results(check, unwatched) == [FAILED]
    no_lag = broken(lambda r: _set(r, "aws_cloudwatch_composite_alarm.c.alarm_rule", 'ALARM("prod-a-c-error-rate")'))
    assert results(check, no_lag) == [FAILED]
    silent = broken(lambda r: r["aws_cloudwatch_composite_alarm"]["c"].pop("alarm_actions"))
    assert results(check, silent) == [FAILED]

    def dlq_as_errors(r: dict[str, Any], rule: str) -> None:
        r["aws_cloudwatch_metric_alarm"]["dlq-alarm"]["alarm_name"] = "prod-a-c-dlq-visible-messages"
        r["aws_cloudwatch_composite_alarm"]["c"]["alarm_rule"] = rule

    without_function = 'ALARM("prod-a-c-oldest-message-age") OR ALARM("prod-a-c-dlq-visible-messages")'
    assert results(check, broken(lambda r: dlq_as_errors(r, without_function))) == [PASSED]
    function_rule = f'{without_function} OR ALARM("prod-a-f-dur")'

    def with_function(r: dict[str, Any]) -> None:
        dlq_as_errors(r, function_rule)
        r["aws_cloudwatch_metric_alarm"]["duration"] = {
            "alarm_name": "prod-a-f-dur",
            "namespace": "AWS/Lambda",
            "metric_name": "Duration",
        }

    assert results(check, broken(with_function)) == [FAILED]


def test_the_local_environment_is_not_judged_for_consumer_alarms(checks) -> None:
    local = Environment(
        "local",
        "000000000000",
        "eu-west-1",
        ">= 5.100.0",
        Backend("local"),
        "service-managed",
        Path("local.yaml"),
        endpoint="http://127.0.0.1:4566",
    )
    view = StackView("local-a", broken(lambda r: r.pop("aws_cloudwatch_composite_alarm")), local)
    assert list(checks["CKV_EVF_108"].evaluate(view)) == []
