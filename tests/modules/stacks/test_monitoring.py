"""Alarms on every failure signal of the sample's prod stacks: one test per kind, thresholds from the service levels,
names within CloudWatch's limit, and one composite per consumer that pages for all its members."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cdktn_provider_aws.cloudwatch_composite_alarm import CloudwatchCompositeAlarm
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm

from eventform.catalog.loader import load
from eventform.catalog.naming import Names
from modules.observability import consumer_watch

PROD = "333333333333"
ALARM_TOPIC = f"arn:aws:sns:eu-west-1:{PROD}:prod-platform-alarms"
DOMAINS = ("inventory", "notifications", "orders", "payments", "users")


@pytest.fixture(scope="module")
def alarms(stack) -> dict[str, dict[str, Any]]:
    """Every metric alarm of the prod domain stacks, by name."""
    found: dict[str, dict[str, Any]] = {}
    for domain in DOMAINS:
        for alarm in stack(f"prod-{domain}").resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values():
            assert alarm["alarm_name"] not in found, alarm["alarm_name"]
            found[alarm["alarm_name"]] = alarm
    return found


@pytest.fixture(scope="module")
def composites(stack) -> dict[str, dict[str, Any]]:
    return {
        c["alarm_name"]: c
        for domain in DOMAINS
        for c in stack(f"prod-{domain}").resources(CloudwatchCompositeAlarm.TF_RESOURCE_TYPE).values()
    }


def queries(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in alarm["metric_query"]}


def members(composite: dict[str, Any]) -> list[str]:
    return re.findall(r'ALARM\("([^"]+)"\)', composite["alarm_rule"])


def test_queue_lag_threshold_is_the_consumers_max_lag(alarms) -> None:
    send_email = alarms["prod-notifications-send-email-oldest-message-age"]
    assert send_email["metric_name"] == "ApproximateAgeOfOldestMessage"
    assert send_email["threshold"] == 300  # slo.max_lag: 5m (catalog/notifications.yaml)
    assert alarms["prod-payments-ledger.fifo-oldest-message-age"]["threshold"] == 120  # its own slo
    assert alarms["prod-inventory-reserve-stock-oldest-message-age"]["threshold"] == 600  # prod's default: 10m


def test_lambda_error_and_throttle_rates_are_metric_math_on_the_slo(alarms) -> None:
    errors = alarms["prod-payments-ledger-error-rate"]
    assert errors["threshold"] == 0.5  # slo.max_error_rate: 0.5%
    found = queries(errors)
    assert found["result"]["expression"] == "IF(invocations > 0, 100 * errors / invocations, 0)"
    assert found["result"]["return_data"] is True
    assert found["errors"]["metric"] == {
        "namespace": "AWS/Lambda",
        "metric_name": "Errors",
        "dimensions": {"FunctionName": "prod-payments-ledger"},
        "period": 60,
        "stat": "Sum",
    }
    assert found["errors"]["return_data"] is False
    throttles = queries(alarms["prod-notifications-send-email-throttle-rate"])
    assert throttles["throttles"]["metric"]["metric_name"] == "Throttles"
    assert alarms["prod-notifications-send-email-throttle-rate"]["threshold"] == 2


def test_duration_near_the_timeout_and_concurrency_near_its_bound(alarms) -> None:
    duration = alarms["prod-inventory-reserve-stock-duration"]
    assert (duration["metric_name"], duration["extended_statistic"]) == ("Duration", "p99")
    assert duration["threshold"] == 16000  # 80% of the 20s timeout, in ms
    # the bound eventform gives each function: reserved concurrency 2 (ledger), mapping maximum 5 (reserve-stock),
    # the default 10 otherwise
    assert alarms["prod-payments-ledger-concurrency"]["threshold"] == 1
    assert alarms["prod-inventory-reserve-stock-concurrency"]["threshold"] == 4
    concurrency = alarms["prod-notifications-send-email-concurrency"]
    assert (concurrency["metric_name"], concurrency["statistic"], concurrency["threshold"]) == (
        "ConcurrentExecutions",
        "Maximum",
        9,
    )
    assert concurrency["comparison_operator"] == "GreaterThanOrEqualToThreshold"


def test_pushed_functions_watch_the_age_of_waiting_events(alarms) -> None:
    for name in ("prod-users-crm-sync-event-age", "prod-inventory-release-stock-event-age"):
        alarm = alarms[name]
        metric = (alarm["namespace"], alarm["metric_name"], alarm["statistic"])
        assert metric == ("AWS/Lambda", "AsyncEventAge", "Maximum")
        assert alarm["threshold"] == 600_000  # prod's max_lag 10m, in ms


def test_a_stream_reader_watches_its_iterator_age_and_the_stream_its_throttling(alarms) -> None:
    lag = alarms["prod-orders-order-metrics-iterator-age"]
    assert (lag["namespace"], lag["metric_name"], lag["statistic"]) == ("AWS/Lambda", "IteratorAge", "Maximum")
    assert lag["threshold"] == 600_000  # prod's max_lag 10m, in ms
    assert "prod-orders-order-metrics-dlq-visible-messages" in alarms  # its on-failure destination
    throttled = queries(alarms["prod-orders-order-activity-throttled"])
    assert throttled["writes"]["metric"]["dimensions"] == {"StreamName": "prod-orders-order-activity"}
    assert throttled["result"]["expression"] == "writes + reads"


def test_each_rule_alarms_on_failed_dead_lettered_and_throttled_deliveries(alarms) -> None:
    custom = queries(alarms["prod-users-customer-fanout-from-orders-delivery"])
    assert custom["failed"]["metric"]["dimensions"] == {
        "EventBusName": "prod-orders",
        "RuleName": "prod-users-customer-fanout-from-orders",
    }
    assert {q["metric"]["metric_name"] for k, q in custom.items() if k != "result"} == {
        "FailedInvocations",
        "InvocationsSentToDlq",
        "ThrottledRules",
    }
    assert custom["result"]["expression"] == "failed + dead + throttled"
    default_bus = queries(alarms["prod-payments-invoice-removals-from-objects-delivery"])
    assert default_bus["failed"]["metric"]["dimensions"] == {"RuleName": "prod-payments-invoice-removals-from-objects"}
    api_call = alarms["prod-payments-ledger-table-deleted-delivery"]
    assert api_call["alarm_actions"] == [ALARM_TOPIC]  # not a consumer's: it notifies itself


def test_a_consumer_with_only_service_targets_watches_its_retries_for_lag(alarms) -> None:
    retrying = alarms["prod-users-customer-fanout-from-users-retrying"]
    assert queries(retrying)["result"]["expression"] == "attempts - invocations"
    assert queries(retrying)["attempts"]["metric"]["metric_name"] == "InvocationAttempts"
    assert retrying["evaluation_periods"] == 10  # retries still running after max_lag (10m) of 1m periods


def test_topics_schedules_and_pipes_have_their_failure_alarms(alarms) -> None:
    topic = alarms["prod-orders-events-failed-notifications"]
    assert (topic["namespace"], topic["metric_name"], topic["dimensions"]) == (
        "AWS/SNS",
        "NumberOfNotificationsFailed",
        {"TopicName": "prod-orders-events"},
    )
    assert alarms["prod-payments-events.fifo-failed-notifications"]["dimensions"] == {
        "TopicName": "prod-payments-events.fifo"
    }
    schedules = queries(alarms["prod-inventory-schedule-failures"])
    assert schedules["dropped"]["metric"] == {
        "namespace": "AWS/Scheduler",
        "metric_name": "InvocationDroppedCount",
        "dimensions": {"ScheduleGroup": "prod-inventory"},
        "period": 60,
        "stat": "Sum",
    }
    for pipe in ("prod-payments-settle-captures", "prod-inventory-reservation-feed", "prod-users-marketing-signups"):
        found = queries(alarms[f"{pipe}-failures"])
        assert found["failed"]["metric"]["namespace"] == "AWS/EventBridge/Pipes"
        assert found["failed"]["metric"]["dimensions"] == {"PipeName": pipe}
        assert alarms[f"{pipe}-failures"]["alarm_actions"] == [ALARM_TOPIC]


def test_one_composite_per_consumer_pages_for_all_its_alarms(alarms, composites, project_root) -> None:
    catalog, environments = load(project_root, ["prod"])
    prod = environments[0]
    names = Names(env="prod", region=prod.region, account_id=prod.account_id)
    assert len(composites) == len(catalog.consumers) == 15
    for consumer in catalog.consumers:
        watch = consumer_watch(consumer, prod, names)
        composite = composites[watch.composite]
        assert composite["tags"]["eventform-consumer"] == consumer.name
        assert composite["alarm_actions"] == composite["ok_actions"] == [ALARM_TOPIC]
        listed = members(composite)
        assert listed == [a.name for a in watch.alarms]
        assert {a.signal for a in watch.alarms} >= {"lag", "errors"}, consumer.qualified_name
        for member in listed:
            assert "alarm_actions" not in alarms[member], f"{member} would page besides its composite"
        assert len(composite["depends_on"]) == len(listed)


def test_alarm_names_fit_cloudwatch(alarms, composites) -> None:
    assert all(len(name) <= 255 for name in [*alarms, *composites])
    assert all(len(a["alarm_description"]) <= 1024 for a in [*alarms.values(), *composites.values()])


def test_locally_only_the_queue_alarms_notify_directly(stack) -> None:
    """The embedded AWS has no composite alarms and publishes none of the other metrics."""
    local = stack("local-notifications")
    assert local.resources(CloudwatchCompositeAlarm.TF_RESOURCE_TYPE) == {}
    found = local.resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
    assert {a["metric_name"] for a in found} == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
    assert all(a["alarm_actions"] for a in found)
