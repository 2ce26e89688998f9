"""CKV_EVF_104: every function invoked asynchronously (by SNS, EventBridge, S3 or the scheduler) has an on-failure
destination or a DLQ: Lambda retries an async event twice, then drops it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eventform.compliance.stack_checks import FAILED, PASSED, StackCheck, StackResult, StackView

ASYNC_PRINCIPALS = {"sns.amazonaws.com", "events.amazonaws.com", "s3.amazonaws.com", "scheduler.amazonaws.com"}


def _first(found: Any) -> Any:
    return found[0] if isinstance(found, list) and found else found


class AsyncConsumerHasFailureHandling(StackCheck):
    id = "CKV_EVF_104"
    name = "Async Lambda consumers have an on-failure destination or a DLQ"
    guideline = "add aws_lambda_function_event_invoke_config with destination_config.on_failure, or "
    guideline += "dead_letter_config on the function"
    supported_resources = ("aws_lambda_function",)

    def _async_functions(self, stack: StackView) -> set[str]:
        pointers: list[Any] = []
        for conf in stack.resources("aws_sns_topic_subscription").values():
            if conf.get("protocol") == "lambda":
                pointers.append(conf.get("endpoint"))
        pointers += [conf.get("arn") for conf in stack.resources("aws_cloudwatch_event_target").values()]
        for conf in stack.resources("aws_lambda_permission").values():
            if conf.get("principal") in ASYNC_PRINCIPALS:
                pointers.append(conf.get("function_name"))
        found = [stack.find("aws_lambda_function", p, name_key="function_name") for p in pointers if p]
        return {hit[0] for hit in found if hit}

    def evaluate(self, stack: StackView) -> Iterator[StackResult]:
        handled: set[str] = set()
        for conf in stack.resources("aws_lambda_function_event_invoke_config").values():
            on_failure = _first((_first(conf.get("destination_config")) or {}).get("on_failure"))
            if on_failure and on_failure.get("destination"):
                target = stack.find("aws_lambda_function", conf.get("function_name"), name_key="function_name")
                if target:
                    handled.add(target[0])
        for address in sorted(self._async_functions(stack)):
            conf = stack.resources("aws_lambda_function")[address.split(".", 1)[1]]
            dead_letter = _first(conf.get("dead_letter_config")) or {}
            ok = address in handled or bool(dead_letter.get("target_arn"))
            yield StackResult(address, PASSED if ok else FAILED, "invoked asynchronously")


check = AsyncConsumerHasFailureHandling()
