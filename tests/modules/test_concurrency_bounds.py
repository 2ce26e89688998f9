"""Every function has a concurrency bound (issue 16, finding 6): a function SNS, EventBridge, S3 or Pipes invokes
(reachable from outside the account through what feeds it) reserves concurrency, by default
``DEFAULT_PUSHED_CONCURRENCY``; a queue-fed function caps its event source mapping (``maximum_concurrency``) or
reserves concurrency itself. So the CKV_AWS_115 waiver (reserved concurrency) is true for what it covers."""

from __future__ import annotations

from cdktn_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from cdktn_provider_aws.lambda_function import LambdaFunction

from modules.function import DEFAULT_PUSHED_CONCURRENCY


def test_every_function_of_every_stack_is_bounded(stack, synthesized) -> None:
    checked = 0
    for planned in synthesized.stacks:
        configuration = stack(planned.name)
        mappings = configuration.resources(LambdaEventSourceMapping.TF_RESOURCE_TYPE).values()
        fed = {m["function_name"].split(".")[1]: m.get("scaling_config") for m in mappings}
        for key, function in configuration.resources(LambdaFunction.TF_RESOURCE_TYPE).items():
            checked += 1
            reserved = function.get("reserved_concurrent_executions")
            if key in fed:  # queue-fed: the mapping's cap, or its own reservation
                assert reserved or (fed[key] or {}).get("maximum_concurrency"), function["function_name"]
            else:  # pushed: by SNS, EventBridge, S3 or Pipes
                assert reserved, f"{function['function_name']} can be invoked without bound"
    assert checked >= 20


def test_pushed_functions_default_and_catalog_values_win(stack) -> None:
    functions = {
        f["function_name"]: f
        for s in ("prod-inventory", "prod-payments", "prod-users")
        for f in stack(s).resources(LambdaFunction.TF_RESOURCE_TYPE).values()
    }
    assert functions["prod-users-crm-sync"]["reserved_concurrent_executions"] == DEFAULT_PUSHED_CONCURRENCY
    assert functions["prod-inventory-release-stock"]["reserved_concurrent_executions"] == DEFAULT_PUSHED_CONCURRENCY
    assert functions["prod-payments-ledger"]["reserved_concurrent_executions"] == 2  # catalog: reserved_concurrency
