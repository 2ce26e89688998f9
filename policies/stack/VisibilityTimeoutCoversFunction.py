"""CKV_EVF_103: a queue's visibility timeout is at least 6x the timeout of the function that consumes it (AWS's
guidance), or messages become visible again while a batch is still being processed and run twice."""

from __future__ import annotations

from collections.abc import Iterator

from eventform.compliance.stack_checks import FAILED, PASSED, StackCheck, StackResult, StackView

LAMBDA_DEFAULT_TIMEOUT = 3
SQS_DEFAULT_VISIBILITY = 30
FACTOR = 6


class VisibilityTimeoutCoversFunction(StackCheck):
    id = "CKV_EVF_103"
    name = "Queue visibility timeout is at least 6x the consuming function's timeout"
    guideline = "raise queue.visibility_timeout of the consumer in the catalog (or lower the handler's timeout)"
    supported_resources = ("aws_lambda_event_source_mapping",)

    def evaluate(self, stack: StackView) -> Iterator[StackResult]:
        for key, conf in sorted(stack.resources("aws_lambda_event_source_mapping").items()):
            queue = stack.find("aws_sqs_queue", conf.get("event_source_arn"))
            function = stack.find("aws_lambda_function", conf.get("function_name"), name_key="function_name")
            if queue is None or function is None:
                continue  # not an SQS mapping, or its queue or function lives in another stack
            timeout = int(function[1].get("timeout", LAMBDA_DEFAULT_TIMEOUT))
            visibility = int(queue[1].get("visibility_timeout_seconds", SQS_DEFAULT_VISIBILITY))
            ok = visibility >= FACTOR * timeout
            detail = f"visibility timeout {visibility}s, function timeout {timeout}s (needs >= {FACTOR * timeout}s)"
            yield StackResult(f"aws_lambda_event_source_mapping.{key}", PASSED if ok else FAILED, detail)


check = VisibilityTimeoutCoversFunction()
