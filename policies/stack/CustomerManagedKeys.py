"""CKV_EVF_102: where the environment says ``encryption: customer-managed``, queues, topics, log groups and pipes
(their filters and settings at rest) use a customer-managed KMS key (not SSE-SQS, not ``alias/aws/*``). Environment
knowledge comes from environments/<env>.yaml, which is why this is an eventform-side check."""

from __future__ import annotations

from collections.abc import Iterator

from eventform.compliance.stack_checks import FAILED, PASSED, StackCheck, StackResult, StackView

KEY_ARGUMENTS = {
    "aws_sqs_queue": "kms_master_key_id",
    "aws_sns_topic": "kms_master_key_id",
    "aws_cloudwatch_log_group": "kms_key_id",
    "aws_pipes_pipe": "kms_key_identifier",
}


def _customer_managed(key: object) -> bool:
    if not isinstance(key, str) or not key:
        return False
    return not (key.startswith("alias/aws/") or ":alias/aws/" in key)


class CustomerManagedKeys(StackCheck):
    id = "CKV_EVF_102"
    name = "Customer-managed KMS keys where the environment requires them"
    guideline = "pass the domain's key (EventformStack.kms_key_for(domain)) to the construct; never alias/aws/*"
    supported_resources = tuple(KEY_ARGUMENTS)

    def evaluate(self, stack: StackView) -> Iterator[StackResult]:
        if stack.environment is None or not stack.environment.customer_managed_keys:
            return
        for resource_type, argument in KEY_ARGUMENTS.items():
            for key, conf in sorted(stack.resources(resource_type).items()):
                ok = _customer_managed(conf.get(argument))
                detail = f"{argument} = {conf.get(argument)!r} in a customer-managed environment"
                yield StackResult(f"{resource_type}.{key}", PASSED if ok else FAILED, detail)


check = CustomerManagedKeys()
