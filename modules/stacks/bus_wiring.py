"""The EventBridge half of a domain stack: bus, via-bus consumers (rules + targets), schedules, API-call alerts.

Called from :class:`modules.stacks.DomainParts` and :class:`modules.stacks.PlatformStack` with the stack itself, so
the SNS path there stays untouched. Every name and ARN comes from :class:`eventform.catalog.naming.Names`.
"""

from __future__ import annotations

import json

from cdktn import TerraformOutput

from eventform.catalog import buckets, patterns
from eventform.catalog.model import Consumer, Domain, InputTransformer, RetryPolicy, Target
from eventform.catalog.schedules import api_call_pattern, schedule_input
from modules.bus import EventBus, Senders
from modules.event_role import TargetRole
from modules.parameters import locator
from modules.policies import Statement, service_may_send
from modules.queue import tap_queue
from modules.rule import EventRule, RuleTarget
from modules.schedule import ScheduledDelivery, ScheduleGroup
from modules.stacks import delivery_wiring
from modules.stacks.base import DomainParts
from modules.stacks.workflow_wiring import workflow_arn

# What a role-based target may do, per kind.
TARGET_ACTIONS: dict[str, tuple[str, ...]] = {
    "stepfunctions": ("states:StartExecution",),
    "kinesis": ("kinesis:PutRecord", "kinesis:PutRecords"),
    "firehose": ("firehose:PutRecord", "firehose:PutRecordBatch"),
    "bus": ("events:PutEvents",),
    "api": ("events:InvokeApiDestination",),
    "workflow": ("states:StartExecution",),
}
OBJECTS_SOURCE = "objects"  # rule-name part of a consumer of S3 object events on the default bus


def _output_id(*parts: str) -> str:
    return "_".join(parts).replace("-", "_").replace(".", "_")


def build_bus(stack: DomainParts, domain: Domain, tags: dict[str, str]) -> EventBus | None:
    """The domain's bus, archive and PutEvents policy, with outputs and SSM locators."""
    if domain.bus is None:
        return None
    names, environment = stack.names, stack.environment
    bus = EventBus(
        stack,
        "bus",
        name=names.bus(domain.name),
        arn=names.bus_arn(domain.name),
        archive_name=names.archive(domain.name),
        archive_days=domain.bus.archive_days_in(environment),
        archive_pattern=domain.bus.archive_pattern,
        senders=Senders(
            accounts=domain.bus.accounts_in(environment),
            organization=domain.bus.organization,
            organizational_units=domain.bus.organizational_units,
            source=domain.source,
            detail_types=domain.bus.events,
        ),
        kms_key=stack.kms_key_arn_for(domain.name),  # the bus, where customer-managed
        tags=tags,
    )
    TerraformOutput(stack, "archive_arn", value=bus.archive.arn)
    for attribute, value in (("bus_arn", bus.bus.arn), ("bus_name", bus.bus.name)):
        TerraformOutput(stack, attribute, value=value)
        # The publisher finds the bus through /eventform/<env>/<domain>/bus_name (eventform.runtime.publisher).
        locator(
            stack,
            f"{attribute.replace('_', '-')}-parameter",
            name=names.parameter(domain.name, attribute),
            value=value,
            description=f"{attribute} of the {domain.name} domain's EventBridge bus",
            tags=tags,
        )
    return bus


def _rule_names(stack: DomainParts, consumer: Consumer) -> dict[str, tuple[str, str]]:
    """Source domain -> (rule name, rule ARN) of one via-bus consumer."""
    names = stack.names
    result = {}
    if consumer.objects is not None:  # S3 sends a bucket's object events to the account's default bus
        rule = names.rule(consumer.domain, consumer.physical_name, OBJECTS_SOURCE)
        result[OBJECTS_SOURCE] = (rule, names.rule_arn(None, rule))
    for source in consumer.source_domains():
        rule = names.rule(consumer.domain, consumer.physical_name, source)
        result[source] = (rule, names.rule_arn(names.bus(source), rule))
    return result


def build_bus_consumer(stack: DomainParts, consumer: Consumer, tags: dict[str, str]) -> None:
    """One rule per source bus (same targets on each), the consumer's queue if it has one, roles and the DLQ."""
    route = consumer.route
    assert route is not None
    names, environment, catalog = stack.names, stack.environment, stack.catalog
    rules = _rule_names(stack, consumer)
    rule_arns = tuple(sorted(arn for _, arn in rules.values()))
    dlq_name = names.delivery_dlq(consumer.domain, consumer.physical_name)
    dlq = stack.delivery_dlq(
        f"consumer-{consumer.physical_name}-delivery-dlq",
        dlq_name,
        domain=consumer.domain,
        tags=tags,
        rule_arns=rule_arns,
        consumer=consumer,
    )
    resolved: list[RuleTarget] = []
    for target in route.targets:
        if target.kind == "queue":
            resolved.append(_queue_target(stack, consumer, target, rule_arns, dlq.arn_value, tags))
            continue
        if target.kind == "lambda":  # push: the consumer's handler, failures to the delivery DLQ
            function = stack.consumer_function(consumer, None, tags, failure_queue_arn=dlq.arn_value)
            for source, (_, rule_arn) in sorted(rules.items()):
                function.invoked_by_rule(f"from-rule-{source}", rule_arn)
            # EventBridge invokes asynchronously: Lambda's two retries, then the delivery DLQ instead of a drop.
            function.asynchronous_invocations(retries=2, max_event_age=None, on_failure=dlq.queue.arn)
        if environment.is_local:  # the embedded AWS delivers to SQS only: the target's tap queue, same shaping
            resolved.append(_tap_target(stack, consumer, target, rule_arns, dlq.arn_value, tags))
        elif target.kind == "lambda":
            resolved.append(_rule_target(target, function.function.arn, dlq.arn_value))
        elif target.kind == "api" and not environment.eventbridge.api_destinations:
            continue  # the environment builds no API destinations (README, environments)
        else:
            resolved.append(_role_target(stack, consumer, target, rule_arns, dlq.arn_value, tags))
    for source, (rule_name, _) in rules.items():
        if source == OBJECTS_SOURCE and consumer.objects is not None:
            objects = consumer.objects
            bus_name: str | None = None  # the default bus
            bucket_name = names.bucket(objects.domain, objects.bucket)
            pattern = buckets.object_pattern(objects, bucket_name, route.pattern)
        else:
            bus_name = names.bus(source)
            pattern = patterns.rule_pattern(
                catalog.domain(source).source, list(consumer.events_from(source)), route.pattern
            )
            pattern = _from_trusted_senders(stack, source, consumer.events_from(source), pattern)
        EventRule(
            stack,
            f"consumer-{consumer.physical_name}-rule-{source}",
            name=rule_name,
            bus_name=bus_name,
            pattern=pattern,
            description=consumer.description,
            targets=resolved,
            tags=tags,
            # a rule on the stack's own bus is created after it (other buses are in stacks applied before this one)
            depends_on=[stack.bus.bus] if source == consumer.domain and stack.bus is not None else None,
        )
    TerraformOutput(stack, _output_id(consumer.name, "delivery_dlq_arn"), value=dlq.queue.arn)


def _from_trusted_senders(
    stack: DomainParts, source: str, events: tuple[str, ...], pattern: dict
) -> dict:
    """A rule on a bus that admits other accounts matches on ``account``: this account, and the admitted accounts
    only for the events they may put (``put_events.events``). A forged event from anyone else never matches."""
    bus = stack.catalog.domain(source).bus
    if bus is None or not bus.admits_others(stack.environment):
        return pattern
    admitted = tuple(sorted(set(events) & set(bus.events)))
    others = sorted(set(events) - set(admitted))
    if not admitted or not others:
        return {**pattern, "account": list(bus.senders_in(stack.environment, events))}
    # a rule for events others may put and events they may not: the other accounts for the former only (each of
    # the consumer's own $or branches, if it has them, under both)
    trusted = list(bus.senders_in(stack.environment, admitted))
    splits = ((list(admitted), trusted), (others, [stack.environment.account_id]))
    rest = {key: value for key, value in pattern.items() if key not in ("detail-type", "$or")}
    branches = pattern.get("$or") or [{}]
    alternatives = [{**b, "detail-type": kinds, "account": senders} for kinds, senders in splits for b in branches]
    return {**rest, "$or": alternatives}


def _queue_target(
    stack: DomainParts, consumer: Consumer, target: Target, rule_arns: tuple[str, ...], dlq_arn: str, tags: dict
) -> RuleTarget:
    """The durable default: the consumer's SQS queue (with its own DLQ), admitting only these rules."""
    queue_arn = stack.names.queue_arn(stack.names.queue(consumer.domain, consumer.physical_name, False))
    queue = stack.consumer_queue(
        consumer,
        tags,
        fifo=False,
        extra_sender_statements=(service_may_send("RulesSend", "events.amazonaws.com", queue_arn, rule_arns),),
    )
    if consumer.handler:  # the same Lambda wiring as an SNS consumer: SQS event source mapping, partial batches
        stack.consumer_function(consumer, queue, tags)
    stack.consumer_locator(consumer, queue, tags)
    return _rule_target(target, queue_arn, dlq_arn)


def _tap_target(
    stack: DomainParts, consumer: Consumer, target: Target, rule_arns: tuple[str, ...], dlq_arn: str, tags: dict
) -> RuleTarget:
    """Local environment only: a target the embedded AWS cannot reach (Lambda, SNS, Step Functions, Kinesis,
    Firehose, API destination, another account's bus) delivers to a tap queue instead, with the same input path or
    transformer, retry and DLQ; the local runner replays Lambda targets into the handler and records the others."""
    names = stack.names
    name = names.target_tap(consumer.domain, consumer.physical_name, target.name)
    arn = names.queue_arn(name)
    sender = service_may_send("RulesSend", "events.amazonaws.com", arn, rule_arns)
    tap_id = f"consumer-{consumer.physical_name}-{target.name}-tap"
    tap_queue(stack, tap_id, name=name, arn=arn, sender=sender, tags=tags)
    return RuleTarget(
        target_id=target.name,
        arn=arn,
        retry=target.retry,
        dlq_arn=dlq_arn,
        input_path=target.input_path,
        input_transformer=target.input_transformer,
    )


def _role_target(
    stack: DomainParts, consumer: Consumer, target: Target, rule_arns: tuple[str, ...], dlq_arn: str, tags: dict
) -> RuleTarget:
    """SNS by its resource policy; the others through a role that may do one thing to this one target."""
    names, environment = stack.names, stack.environment
    arn = target.arn_in(environment) or ""
    key_statements: tuple[Statement, ...] = ()
    if target.stream is not None:  # a catalog stream or delivery stream, by name
        arn, key_statements = delivery_wiring.catalog_target(stack, target)
    if target.kind == "workflow":  # a workflow of the consumer's domain (modules/stacks/workflow_wiring.py)
        arn = workflow_arn(stack, consumer.domain, target.workflow or "")
    if target.kind == "api":
        from modules.api_destination import HttpDestination

        assert target.api is not None
        destination = HttpDestination(
            stack,
            f"consumer-{consumer.physical_name}-{target.name}-api",
            name=names.api_destination(consumer.domain, consumer.physical_name, target.name),
            connection_name=names.connection(consumer.domain, consumer.physical_name, target.name),
            spec=target.api,
            secret_id=target.api.secret_in(environment),
            description=f"{consumer.qualified_name} -> {target.api.endpoint}"[:512],
        )
        arn = destination.destination.arn
    if not target.needs_role:
        return _rule_target(target, arn, dlq_arn)
    role = TargetRole(
        stack,
        f"consumer-{consumer.physical_name}-{target.name}-role",
        name=names.event_role(consumer.domain, consumer.physical_name, target.name),
        service="events.amazonaws.com",
        account_id=environment.account_id,
        source_arns=rule_arns,
        statements=(
            Statement(
                sid="ReachThisTargetOnly",
                effect="Allow",
                actions=TARGET_ACTIONS[target.kind],
                resources=(arn,),
            ),
            *key_statements,
        ),
        tags=tags,
    )
    return _rule_target(target, arn, dlq_arn, role.role.arn)


def _rule_target(target: Target, arn: str, dlq_arn: str, role_arn: str | None = None) -> RuleTarget:
    return RuleTarget(
        target_id=target.name,
        arn=arn,
        retry=target.retry,
        dlq_arn=dlq_arn,
        role_arn=role_arn,
        input_path=target.input_path,
        input_transformer=target.input_transformer,
        partition_key_path=target.partition_key_path,
    )


def build_schedules(stack: DomainParts, domain: Domain, tags: dict[str, str]) -> None:
    """A schedule group per domain; each schedule with a role scoped to its one target and the shared DLQ."""
    if not domain.schedules:
        return
    names, environment = stack.names, stack.environment
    group = ScheduleGroup(stack, "schedule-group", name=names.schedule_group(domain.name), tags=tags)
    dlq_name = names.delivery_dlq(domain.name, "schedules")
    dlq_arn = names.queue_arn(dlq_name)
    kms_key = stack.kms_key_for(domain.name)
    stack.delivery_dlq("schedules-delivery-dlq", dlq_name, domain=domain.name, tags=tags)
    for schedule in domain.schedules:
        kind = schedule.target_kind
        if kind == "bus":
            target_arn, actions = names.bus_arn(domain.name), ("events:PutEvents",)
        elif kind == "workflow":  # Scheduler starts an execution with the input
            target_arn, actions = workflow_arn(stack, domain.name, schedule.workflow or ""), ("states:StartExecution",)
        elif kind == "function":  # Scheduler invokes Lambda natively (asynchronously), through the role
            target_arn = names.function_arn(names.function(domain.name, schedule.consumer or ""))
            actions = ("lambda:InvokeFunction",)
        else:
            target_arn = names.queue_arn(names.queue(domain.name, schedule.consumer or "", False))
            actions = ("sqs:SendMessage",)
        statements = [
            Statement(sid="ReachThisTargetOnly", effect="Allow", actions=actions, resources=(target_arn,)),
            Statement(sid="DeadLetter", effect="Allow", actions=("sqs:SendMessage",), resources=(dlq_arn,)),
        ]
        if kms_key:  # the queues are encrypted with the domain key: the role must be able to use it
            statements.append(
                Statement(
                    sid="UseTheDomainKey",
                    effect="Allow",
                    actions=("kms:Decrypt", "kms:GenerateDataKey"),
                    # The key lives in the platform stack (its id is not deterministic): keys of this account,
                    # narrowed to the one behind the domain's alias.
                    resources=(f"arn:aws:kms:{environment.region}:{environment.account_id}:key/*",),
                    conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": names.key_alias(domain.name)}},
                )
            )
        role = TargetRole(
            stack,
            f"schedule-{schedule.name}-role",
            name=names.event_role(domain.name, "schedule", schedule.name),
            service="scheduler.amazonaws.com",
            account_id=environment.account_id,
            source_arns=(names.schedule_arn(domain.name, schedule.name),),
            statements=tuple(statements),
            tags=tags,
        )
        ScheduledDelivery(
            stack,
            f"schedule-{schedule.name}",
            name=names.schedule(domain.name, schedule.name),
            group_name=group.group.name,
            schedule=schedule,
            target_arn=target_arn,
            role_arn=role.role.arn,
            dlq_arn=dlq_arn,
            input=schedule_input(stack.catalog, domain, schedule),
            source=domain.source if kind == "bus" else None,
            kms_key=stack.kms_key_arn_for(domain.name),  # Scheduler takes a key ARN, not an alias
        )


def build_api_call_alerts(stack: DomainParts, domain: Domain, tags: dict[str, str]) -> None:
    """Rules on the default bus for CloudTrail-recorded API calls -> the platform alarm topic (resource policy)."""
    if not domain.api_calls:
        return
    names = stack.names
    rules = {alert.name: names.api_call_rule(domain.name, alert.name) for alert in domain.api_calls}
    dlq_name = names.delivery_dlq(domain.name, "api-calls")
    dlq = stack.delivery_dlq(
        "api-calls-delivery-dlq",
        dlq_name,
        domain=domain.name,
        tags=tags,
        rule_arns=tuple(sorted(names.rule_arn(None, r) for r in rules.values())),
    )
    for alert in domain.api_calls:
        EventRule(
            stack,
            f"api-call-{alert.name}",
            name=rules[alert.name],
            bus_name=None,
            pattern=api_call_pattern(alert.service, alert.actions),
            description=alert.description,
            targets=[
                RuleTarget(
                    target_id="alarm-topic",
                    arn=names.alarm_topic_arn,
                    retry=alert_retry(),
                    dlq_arn=dlq.arn_value,
                    input_transformer=alert_message(alert.description),
                )
            ],
            tags=tags,
        )


def alert_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=24, max_age=3600)


def alert_message(description: str) -> InputTransformer:
    """A readable alert e-mail/chat line; the paths exist on every CloudTrail API-call event."""
    return InputTransformer(
        paths={
            "action": "$.detail.eventName",
            "who": "$.detail.userIdentity.arn",
            "resource": "$.detail.requestParameters",
            "time": "$.time",
            "account": "$.account",
        },
        template=json.dumps(description)[:-1] + ': <action> by <who> at <time> in <account> on <resource>"',
    )


def alarm_topic_statement(region: str, account_id: str, env: str, topic_arn: str) -> Statement:
    """The alarm topic admits EventBridge rules of this environment (API-call alerts), nothing else of EventBridge."""
    return Statement(
        sid="EventBridgeAlertsPublish",
        effect="Allow",
        principal={"Service": "events.amazonaws.com"},
        actions=("sns:Publish",),
        resources=(topic_arn,),
        conditions={
            "ArnLike": {"aws:SourceArn": f"arn:aws:events:{region}:{account_id}:rule/{env}-*"},
            "StringEquals": {"aws:SourceAccount": account_id},
        },
    )
