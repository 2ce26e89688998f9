"""CKV_EVF_107: every dead-letter queue has an alarm on its visible messages that notifies someone, itself or
through a composite alarm that does (a consumer's alarms page once, through its composite); a DLQ nobody watches
is where failed events go to be forgotten."""

from __future__ import annotations

import json
from collections.abc import Iterator

from eventform.compliance.stack_checks import (
    FAILED,
    PASSED,
    StackCheck,
    StackResult,
    StackView,
    paged_through_composites,
)

DLQ_SUFFIXES = ("-dlq", "-dlq.fifo")
DEPTH_METRICS = {"ApproximateNumberOfMessagesVisible"}


class DlqHasAlarm(StackCheck):
    id = "CKV_EVF_107"
    name = "Every DLQ has an alarm on its depth with an alarm action"
    guideline = "keep ConsumerQueue's dlq-alarm (modules/queue.py) with alarm_actions = the environment's alarm topic"
    supported_resources = ("aws_sqs_queue",)

    def _dead_letter_queues(self, stack: StackView) -> set[str]:
        queues = stack.resources("aws_sqs_queue")
        dlqs = {
            k for k, c in queues.items() if "redrive_allow_policy" in c or str(c.get("name", "")).endswith(DLQ_SUFFIXES)
        }
        for conf in queues.values():
            raw = conf.get("redrive_policy")
            if isinstance(raw, str) and not raw.startswith("${"):
                found = stack.find("aws_sqs_queue", json.loads(raw).get("deadLetterTargetArn"))
                if found:
                    dlqs.add(found[0].split(".", 1)[1])
        return dlqs

    def evaluate(self, stack: StackView) -> Iterator[StackResult]:
        paged = paged_through_composites(stack)
        watched = {
            (conf.get("dimensions") or {}).get("QueueName")
            for conf in stack.resources("aws_cloudwatch_metric_alarm").values()
            if conf.get("namespace") == "AWS/SQS"
            and conf.get("metric_name") in DEPTH_METRICS
            and (conf.get("alarm_actions") or conf.get("alarm_name") in paged)
        }
        queues = stack.resources("aws_sqs_queue")
        for key in sorted(self._dead_letter_queues(stack)):
            name = queues[key].get("name")
            ok = name in watched
            yield StackResult(f"aws_sqs_queue.{key}", PASSED if ok else FAILED, f"dead-letter queue {name}")


check = DlqHasAlarm()
