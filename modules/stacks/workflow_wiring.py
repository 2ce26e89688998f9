"""The Step Functions workflows of a domain stack, and the consumers that serve their tasks.

Per workflow: the state machine with its definition resolved for the environment, its encrypted log group, X-Ray
tracing, and a role derived from the definition (:class:`eventform.catalog.model.Workflow`): lambda:InvokeFunction
on the consumers' functions its tasks name, sqs:SendMessage on the task consumers' queues, events:PutEvents on the
domain's bus for the events it emits (narrowed by events:source and events:detail-type), the keys those use. Per
``via: workflow`` consumer: its queue (no subscription: only the workflows' roles send to it), its function, and
the right to answer its tasks (states:SendTask*, which AWS scopes to no resource: the token is the capability).

Called from :class:`modules.stacks.domain.DomainStack` through :class:`modules.stacks.base.DomainParts`; starters
(rules, pipes, schedules) take a workflow's ARN from :func:`workflow_arn`.
"""

from __future__ import annotations

from cdktn import TerraformOutput
from cdktn_provider_aws.iam_role_policy import IamRolePolicy

from eventform.catalog import workflows as catalog_workflows
from eventform.catalog.model import Consumer, Domain, Workflow
from modules.parameters import locator
from modules.policies import Statement, document
from modules.stacks.base import DomainParts, output_id
from modules.state_machine import MachineConfig, StateMachine

START_ACTIONS = ("states:StartExecution",)
ANSWER_ACTIONS = ("states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess")


def workflow_arn(stack: DomainParts, domain: str, name: str) -> str:
    """The ARN of a workflow of ``domain`` in the stack's environment (deterministic, like every eventform ARN)."""
    workflow = next(w for w in stack.catalog.domain(domain).workflows if w.name == name)
    return catalog_workflows.state_machine_arn(stack.names, workflow)


def build_workflows(stack: DomainParts, domain: Domain, tags: dict[str, str]) -> dict[str, StateMachine]:
    built = {}
    for workflow in domain.workflows:
        built[workflow.name] = _build_workflow(stack, domain, workflow, tags)
    return built


def _build_workflow(stack: DomainParts, domain: Domain, workflow: Workflow, tags: dict[str, str]) -> StateMachine:
    names, environment, catalog = stack.names, stack.environment, stack.catalog
    name = catalog_workflows.state_machine_name(names, workflow)
    arn = catalog_workflows.state_machine_arn(names, workflow)
    machine = StateMachine(
        stack,
        f"workflow-{workflow.name}",
        config=MachineConfig(
            name=name,
            arn=arn,
            role_name=names.event_role(domain.name, "workflow", workflow.name),
            type=workflow.type,
            definition=catalog_workflows.definition_text(catalog, names, workflow),
            log_group_name=catalog_workflows.log_group_name(names, workflow),
            log_level=workflow.logging.level,
            include_execution_data=workflow.logging.execution_data,
            log_retention_days=environment.log_retention_days,
            account_id=environment.account_id,
            kms_key=stack.kms_key_arn_for(domain.name),  # CloudWatch Logs takes a key ARN, not an alias
            # the provider validates the definition with ValidateStateMachineDefinition, which moto does not
            # implement (it answers 500 and the SDK retries forever): locally the rehearsal creates the machine
            create_machine=not environment.is_local,
        ),
        statements=role_statements(stack, domain, workflow),
        tags=tags,
    )
    located = machine.machine.arn if machine.machine else arn
    TerraformOutput(stack, output_id(workflow.name, "state_machine_arn"), value=located)
    locator(
        stack,
        f"workflow-{workflow.name}-parameter",
        name=names.parameter(domain.name, "workflows", workflow.name),
        value=located,
        description=f"ARN of the {workflow.qualified_name} state machine ({workflow.type})",
        tags=tags,
    )
    return machine


def role_statements(stack: DomainParts, domain: Domain, workflow: Workflow) -> tuple[Statement, ...]:
    """Exactly what the definition's tasks do, from the catalog: nothing else is reachable."""
    names, environment, catalog = stack.names, stack.environment, stack.catalog
    statements = []
    consumers = {c.qualified_name: c for c in catalog.consumers}
    if workflow.functions:
        functions = tuple(
            names.function_arn(names.function(consumers[q].domain, consumers[q].physical_name))
            for q in workflow.functions
        )
        statements.append(Statement("InvokeNamedFunctions", "Allow", ("lambda:InvokeFunction",), functions))
    if workflow.queues:
        queues = tuple(
            names.queue_arn(names.queue(consumers[q].domain, consumers[q].physical_name, False))
            for q in workflow.queues
        )
        statements.append(Statement("SendTasksToNamedQueues", "Allow", ("sqs:SendMessage",), queues))
    if workflow.emits:
        statements.append(
            Statement(
                "PutEmittedEvents",
                "Allow",
                ("events:PutEvents",),
                (names.bus_arn(domain.name),),
                conditions={
                    "StringEquals": {
                        "events:source": [domain.source],
                        "events:detail-type": sorted(q.split("/", 1)[1] for q in workflow.emits),
                    }
                },
            )
        )
    key_domains = sorted({consumers[q].domain for q in workflow.queues} | ({domain.name} if workflow.emits else set()))
    if environment.customer_managed_keys and key_domains:
        # queues and the bus are encrypted with their domain's key: keys of this account behind those aliases
        statements.append(
            Statement(
                "UseTheirDomainKeys",
                "Allow",
                ("kms:Decrypt", "kms:GenerateDataKey"),
                (f"arn:aws:kms:{environment.region}:{environment.account_id}:key/*",),
                conditions={
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": sorted(map(names.key_alias, key_domains))}
                },
            )
        )
    return tuple(statements)


def build_task_consumer(stack: DomainParts, consumer: Consumer, tags: dict[str, str]) -> None:
    """A ``via: workflow`` consumer: a standard queue no topic or rule feeds (the workflows' roles send to it by
    their own permission), its function fed by the queue, and the right to answer the tasks it serves."""
    queue = stack.consumer_queue(consumer, tags, fifo=False)
    stack.consumer_locator(consumer, queue, tags)
    if consumer.handler is None:
        return
    function = stack.consumer_function(consumer, queue, tags)
    # AWS documents no resource type for SendTask*: only "*" works. The token is the capability: a function can only
    # answer tokens it was sent, and only this consumer's queue receives them (the workflows' roles send there).
    IamRolePolicy(
        function,
        "task-answers",
        name="task-answers",
        role=function.role.id,
        policy=document(Statement("AnswerTheTasksItServes", "Allow", ANSWER_ACTIONS, ("*",))),
    )


def start_statement(arn: str) -> Statement:
    """What a starter's role may do: start executions of that one state machine."""
    return Statement(sid="StartThisWorkflowOnly", effect="Allow", actions=START_ACTIONS, resources=(arn,))
