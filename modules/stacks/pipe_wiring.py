"""The EventBridge Pipes of a domain stack: per pipe the ``aws_pipes_pipe``, a role that may do exactly what the
pipe does (read its source, invoke its enrichment, reach its target, dead-letter, use the domain key), the
enrichment function (the consumers' Lambda wiring), the DLQ of a stream source with its alarm, and the log group.

Called from :class:`modules.stacks.DomainParts` after the consumers, whose queues and tables the pipes read.
Every name and ARN comes from :class:`eventform.catalog.naming.Names`.
"""

from __future__ import annotations

import json
from typing import Any

from cdktn import TerraformOutput
from cdktn_provider_aws.dynamodb_table import DynamodbTable
from constructs import Construct

from eventform.catalog.deliveries import is_catalog_stream
from eventform.catalog.model import Domain, Pipe
from eventform.catalog.pipe_checks import source_consumer, stream_arn
from eventform.catalog.pipes import SOURCE_ACTIONS, package_key
from modules.event_role import TargetRole
from modules.function import DEFAULT_PUSHED_CONCURRENCY, ConsumerFunction, FunctionConfig, Grants
from modules.pipe import PIPES_SERVICE, EventPipe, ResolvedSource
from modules.policies import Statement
from modules.queue import ConsumerQueue
from modules.stacks.base import DomainParts
from modules.stacks.workflow_wiring import workflow_arn

UNSCOPED_ACTIONS = frozenset({"dynamodb:ListStreams"})

# DynamoDB streams carry both images, so a filter or an enrichment can compare before and after.
STREAM_VIEW = "NEW_AND_OLD_IMAGES"
# A failing stream batch is split in two until the poison record stands alone (then it alone goes to the DLQ).
BISECT = "AUTOMATIC_BISECT"


def build_pipes(stack: DomainParts, domain: Domain, tags: dict[str, str]) -> None:
    for pipe in domain.pipes:
        _build_pipe(stack, domain, pipe, tags)


def _build_pipe(stack: DomainParts, domain: Domain, pipe: Pipe, tags: dict[str, str]) -> None:
    names, environment = stack.names, stack.environment
    name = names.pipe(domain.name, pipe.name)
    kms_key = stack.kms_key_for(domain.name)
    statements: list[Statement] = []
    dlq = None
    if pipe.source.is_stream:  # a queue source dead-letters through its own redrive policy
        dlq_name = names.pipe_dlq(domain.name, pipe.name)
        # no rule_arns: Pipes sends with the pipe's role (below), not through the queue policy
        dlq = stack.delivery_dlq(f"pipe-{pipe.name}-dlq", dlq_name, domain=domain.name, tags=tags)
    source = _source(stack, domain, pipe, dlq.arn_value if dlq else None)
    reads = SOURCE_ACTIONS[pipe.source.kind]
    scoped = tuple(a for a in reads if a not in UNSCOPED_ACTIONS)
    statements.append(Statement("ReadTheSource", "Allow", scoped, (source.policy_arn,)))
    unscoped = tuple(a for a in reads if a in UNSCOPED_ACTIONS)
    if unscoped:  # dynamodb:ListStreams has no resource-level permission: AWS takes only "*" for it
        statements.append(Statement("ListTheStreams", "Allow", unscoped, ("*",)))
    enrichment = _enrichment_function(stack, domain, pipe, tags) if pipe.enrichment else None
    if enrichment is not None:
        statements.append(
            Statement("InvokeTheEnrichment", "Allow", ("lambda:InvokeFunction",), (enrichment.function.arn,))
        )
    target_arn = (
        workflow_arn(stack, domain.name, pipe.target.workflow or "")
        if pipe.target.kind == "workflow"
        else pipe.target.arn_in(environment)
    )
    statements.append(Statement("ReachTheTarget", "Allow", pipe.target.actions, (target_arn,)))
    if dlq is not None:
        statements.append(Statement("DeadLetter", "Allow", ("sqs:SendMessage",), (dlq.arn_value,)))
    log_group = names.pipe_log_group(name)
    if pipe.log_level != "OFF":  # its execution log records, into its own log group only
        log_group_arn = f"arn:aws:logs:{environment.region}:{environment.account_id}:log-group:{log_group}"
        statements.append(
            Statement("WriteOwnLogs", "Allow", ("logs:CreateLogStream", "logs:PutLogEvents"), (f"{log_group_arn}:*",))
        )
    if kms_key:  # the domain's queues, the pipe's own data and its DLQ are encrypted with the domain key
        statements.append(
            Statement(
                sid="UseTheDomainKey",
                effect="Allow",
                actions=("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"),
                # The key lives in the platform stack (its id is not deterministic): keys of this account,
                # narrowed to the one behind the domain's alias.
                resources=(f"arn:aws:kms:{environment.region}:{environment.account_id}:key/*",),
                conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": _key_aliases(stack, domain, pipe)}},
            )
        )
    role = TargetRole(
        stack,
        f"pipe-{pipe.name}-role",
        name=names.pipe_role(domain.name, pipe.name),
        service=PIPES_SERVICE,
        account_id=environment.account_id,
        source_arns=(names.pipe_arn(name),),
        statements=tuple(statements),
        tags=tags,
    )
    built = EventPipe(
        stack,
        f"pipe-{pipe.name}",
        name=name,
        description=pipe.description,
        role_arn=role.role.arn,
        source=source,
        enrichment_arn=enrichment.function.arn if enrichment else None,
        target_arn=target_arn,
        target_parameters=_target_parameters(pipe),
        log_group_name=log_group,
        log_level=pipe.log_level,
        log_retention_days=environment.log_retention_days,
        kms_key=stack.kms_key_arn_for(domain.name),  # the key's ARN: CloudWatch Logs takes no alias
        depends_on=[role.policy, *([dlq.queue] if dlq else [])],
        tags=tags,
    )
    output = pipe.name.replace("-", "_")
    TerraformOutput(stack, f"{output}_pipe_arn", value=built.pipe.arn)
    if dlq is not None:
        TerraformOutput(stack, f"{output}_pipe_dlq_arn", value=dlq.queue.arn)
    if enrichment is not None:
        TerraformOutput(stack, f"{output}_enrichment_function_arn", value=enrichment.function.arn)


def _key_aliases(stack: DomainParts, domain: Domain, pipe: Pipe) -> str | list[str]:
    """The domain's key, and the key of another domain's catalog stream the pipe reads (its records are encrypted
    with that domain's key)."""
    own = stack.names.key_alias(domain.name)
    reference = pipe.source.reference
    other = reference.split("/", 1)[0] if pipe.source.kind == "stream" and is_catalog_stream(reference) else None
    return sorted({own, stack.names.key_alias(other)}) if other and other != domain.name else own


def _source(stack: DomainParts, domain: Domain, pipe: Pipe, dlq_arn: str | None) -> ResolvedSource:
    source = pipe.source
    batch: dict[str, Any] = {"batch_size": source.batch_size}
    if source.kind == "queue":
        consumer = source_consumer(domain, pipe)
        assert consumer is not None  # checked when the catalog loaded
        queue = _child(stack, ConsumerQueue, f"consumer-{consumer.physical_name}")
        if not consumer.fifo:  # FIFO queues deliver batches as they are read
            batch["maximum_batching_window_in_seconds"] = source.batching_window
        return ResolvedSource(
            arn=queue.arn_ref,
            policy_arn=queue.names.queue_arn,
            parameters={"sqs_queue_parameters": batch, **_filter_criteria(pipe)},
        )
    assert source.retry is not None and dlq_arn is not None
    stream = {
        **batch,
        "maximum_batching_window_in_seconds": source.batching_window,
        "starting_position": source.starting_position,
        "maximum_retry_attempts": source.retry.max_attempts,
        "maximum_record_age_in_seconds": source.retry.max_age,
        "on_partial_batch_item_failure": BISECT,
        "dead_letter_config": {"arn": dlq_arn},
    }
    if source.kind == "stream":
        arn = stream_arn(stack.names, source)
        return ResolvedSource(arn, arn, {"kinesis_stream_parameters": stream, **_filter_criteria(pipe)})
    owner = next(c for c in domain.consumers if c.name == source.consumer)  # checked when the catalog loaded
    function = _child(stack, ConsumerFunction, f"consumer-{owner.physical_name}-function")
    table = _child(function, DynamodbTable, f"table-{source.table}")
    table.stream_enabled = True  # the table is the consumer's; the pipe needs its change stream
    table.stream_view_type = STREAM_VIEW
    return ResolvedSource(
        table.stream_arn, table.stream_arn, {"dynamodb_stream_parameters": stream, **_filter_criteria(pipe)}
    )


def _child(scope: Construct, kind: type, id: str) -> Any:
    """A construct the stack built for a consumer (its queue, function or table), found by its construct id."""
    child = scope.node.try_find_child(id)
    if not isinstance(child, kind):
        raise LookupError(f"{scope.node.path} has no {kind.__name__} {id!r}: the pipes are built after consumers")
    return child


def _filter_criteria(pipe: Pipe) -> dict[str, Any]:
    if not pipe.filters:
        return {}
    return {"filter_criteria": {"filter": [{"pattern": json.dumps(f, sort_keys=True)} for f in pipe.filters]}}


def _target_parameters(pipe: Pipe) -> dict[str, Any] | None:
    target = pipe.target
    if target.kind in ("stepfunctions", "workflow"):
        return {"step_function_state_machine_parameters": {"invocation_type": target.invocation}}
    if target.kind == "lambda":
        return {"lambda_function_parameters": {"invocation_type": target.invocation}}
    if target.kind == "kinesis":
        return {"kinesis_stream_parameters": {"partition_key": target.partition_key}}
    if target.message_group:
        return {"sqs_queue_parameters": {"message_group_id": target.message_group}}
    return None


def _enrichment_function(stack: DomainParts, domain: Domain, pipe: Pipe, tags: dict[str, str]) -> ConsumerFunction:
    """The consumers' Lambda wiring (package, role, log group, tracing) for a function Pipes invokes synchronously:
    no queue, no on-failure destination, no idempotency table; its role may read its declared parameters and
    secrets and nothing else of the catalog."""
    names, environment = stack.names, stack.environment
    assert pipe.enrichment is not None
    settings = pipe.enrichment.function
    package = stack.packages[package_key(pipe)]
    return ConsumerFunction(
        stack,
        f"pipe-{pipe.name}-enrichment",
        queue=None,
        config=FunctionConfig(
            name=names.enrichment_function(domain.name, pipe.name),
            role_name=names.enrichment_role(domain.name, pipe.name),
            handler=package.handler,
            package_path=str(package.path),
            package_hash=package.sha256_base64,
            memory=settings.memory,
            timeout=settings.timeout,
            reserved_concurrency=settings.reserved_concurrency or DEFAULT_PUSHED_CONCURRENCY,  # Pipes invokes it
            batch_size=pipe.source.batch_size,
            batching_window=pipe.source.batching_window,
            max_concurrency=None,
            environment={
                **dict(settings.environment),
                "EVENTFORM_ENV": environment.name,
                "POWERTOOLS_SERVICE_NAME": pipe.qualified_name,
            },
            log_retention_days=environment.log_retention_days,
            region=environment.region,
            account_id=environment.account_id,
            fifo=False,
            mapping_enabled=False,  # no event source mapping: Pipes invokes the function
            email_senders=(),
            layers=stack.powertools_layers(),
        ),
        grants=Grants(
            queue_arn=None,
            tables={},
            idempotency_table_arn=None,
            publish_topic_arns=(),
            parameter_arns=tuple(map(names.parameter_arn, settings.parameters)),
            secret_arns=tuple(map(names.secret_arn, settings.secrets)),
            email_identity_arns=(),
            kms_key_aliases=(names.key_alias(domain.name),) if environment.customer_managed_keys else (),
        ),
        kms_key=stack.kms_key_arn_for(domain.name),
        tags=tags,
    )
