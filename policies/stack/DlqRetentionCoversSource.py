"""CKV_EVF_101: a DLQ keeps messages at least as long as its source queue, or a message could expire in the DLQ
before anyone saw it (SQS keeps the original enqueue time when it moves a message)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from eventform.compliance.stack_checks import FAILED, PASSED, StackCheck, StackResult, StackView

SQS_DEFAULT_RETENTION = 345_600


class DlqRetentionCoversSource(StackCheck):
    id = "CKV_EVF_101"
    name = "DLQ retention is at least the source queue's retention"
    guideline = "raise retention.dlq in environments/<env>.yaml (14d is the maximum) or lower the consumer's retention"
    supported_resources = ("aws_sqs_queue",)

    def evaluate(self, stack: StackView) -> Iterator[StackResult]:
        for key, conf in sorted(stack.resources("aws_sqs_queue").items()):
            raw = conf.get("redrive_policy")
            if not isinstance(raw, str) or raw.startswith("${"):
                continue
            target = json.loads(raw).get("deadLetterTargetArn")
            found = stack.find("aws_sqs_queue", target)
            address = f"aws_sqs_queue.{key}"
            if found is None:
                yield StackResult(address, FAILED, f"dead-letter target {target} is not in this stack")
                continue
            source = int(conf.get("message_retention_seconds", SQS_DEFAULT_RETENTION))
            dlq = int(found[1].get("message_retention_seconds", SQS_DEFAULT_RETENTION))
            ok = dlq >= source
            yield StackResult(address, PASSED if ok else FAILED, f"queue keeps {source}s, its DLQ {dlq}s")


check = DlqRetentionCoversSource()
