"""CKV_EVF_108: every consumer has an alarm on its lag and one on its errors, each notifying someone (itself or
through the consumer's composite alarm). A consumer nobody watches falls behind or fails quietly.

Consumers are found from the stack's outputs, not from the alarms (a consumer without any alarm must fail): every
consumer publishes ``<consumer>_queue_url``, ``<consumer>_function_arn`` (pushed) or ``<consumer>_delivery_dlq_arn``
(via a bus). Its composite alarm carries the tag ``eventform-consumer: <consumer>``; a member watches lag
when it reads the age of the oldest message (SQS), the age of events waiting for the function (Lambda
``AsyncEventAge``), the age of the records a stream reader gets (``IteratorAge``) or EventBridge's retries
(``InvocationAttempts``), and errors when it reads the function's
``Errors``, a rule's ``FailedInvocations`` or, for a queue no function drains, its DLQ's depth. Not applicable to
the local environment (the embedded AWS has no composite alarms and publishes none of these metrics).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eventform.compliance.stack_checks import (
    COMPOSITE_MEMBER,
    FAILED,
    PASSED,
    StackCheck,
    StackResult,
    StackView,
)

CONSUMER_OUTPUTS = ("_queue_url", "_function_arn", "_delivery_dlq_arn")
CONSUMER_TAG = "eventform-consumer"
LAG_METRICS = {"ApproximateAgeOfOldestMessage", "AsyncEventAge", "InvocationAttempts", "IteratorAge"}
ERROR_METRICS = {"Errors", "FailedInvocations"}
DLQ_DEPTH = "ApproximateNumberOfMessagesVisible"


def _key(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


def _metrics(conf: dict[str, Any]) -> set[tuple[str, str]]:
    """(namespace, metric name) of an alarm on one metric or on metric math."""
    found = {(str(conf.get("namespace")), str(conf["metric_name"]))} if conf.get("metric_name") else set()
    for query in conf.get("metric_query") or []:
        metric = query.get("metric") or {}
        if metric.get("metric_name"):
            found.add((str(metric.get("namespace")), str(metric["metric_name"])))
    return found


class ConsumerHasLagAndErrorAlarms(StackCheck):
    id = "CKV_EVF_108"
    name = "Every consumer has a lag alarm and an error alarm that notify"
    guideline = (
        "keep the consumer's alarms of modules/observability.py and its composite alarm (modules/stacks/monitoring.py)"
        " with alarm_actions = the environment's alarm topic"
    )
    supported_resources = ("aws_cloudwatch_composite_alarm",)

    def _consumers(self, stack: StackView) -> list[str]:
        outputs = {k for k in stack.config.get("output", {}) if k != "//"}
        pipes = {k[: -len("_pipe_arn")] for k in outputs if k.endswith("_pipe_arn")}
        found = set()
        for output in outputs:
            for suffix in CONSUMER_OUTPUTS:
                if output.endswith(suffix):
                    name = output[: -len(suffix)]
                    if not (suffix == "_function_arn" and name.endswith("_enrichment") and name[:-11] in pipes):
                        found.add(name)
        return sorted(found)

    def evaluate(self, stack: StackView) -> Iterator[StackResult]:
        local = stack.environment.is_local if stack.environment else stack.env_name == "local"
        if local:
            return
        alarms = {str(c.get("alarm_name")): c for c in stack.resources("aws_cloudwatch_metric_alarm").values()}
        composites: dict[str, tuple[str, dict[str, Any]]] = {}
        for key, conf in stack.resources("aws_cloudwatch_composite_alarm").items():
            qualified = str((conf.get("tags") or {}).get(CONSUMER_TAG, ""))
            composites[_key(qualified.split("/", 1)[-1])] = (key, conf)
        for consumer in self._consumers(stack):
            found = composites.get(consumer)
            if found is None:
                yield StackResult(f"output.{consumer}", FAILED, f"consumer {consumer}: no composite alarm")
                continue
            key, conf = found
            members = [alarms.get(m, {}) for m in COMPOSITE_MEMBER.findall(str(conf.get("alarm_rule", "")))]
            notifies = bool(conf.get("alarm_actions"))
            watched = {name for m in members for name in _metrics(m)}
            metrics = {name for _, name in watched}
            has_function = any(namespace == "AWS/Lambda" for namespace, _ in watched)
            lag = bool(metrics & LAG_METRICS)
            errors = bool(metrics & ERROR_METRICS) or (not has_function and DLQ_DEPTH in metrics)
            missing = [what for what, ok in (("lag", lag), ("error", errors), ("notifying", notifies)) if not ok]
            detail = f"consumer {consumer}" + (f": no {', no '.join(missing)} alarm" if missing else "")
            yield StackResult(f"aws_cloudwatch_composite_alarm.{key}", FAILED if missing else PASSED, detail)


check = ConsumerHasLagAndErrorAlarms()
