"""What to watch, derived from the catalog: every failure signal of every consumer and domain, as plain data.

One plan feeds the alarms (:mod:`modules.stacks.monitoring`), the dashboards, the docs' per-consumer alarm tables
and the cost estimate, so they can never disagree. Thresholds come from the consumer's service level
(:meth:`eventform.catalog.model.Consumer.slo_for`) and its function settings, never from constants; metric names
and dimensions are the ones AWS documents for each namespace (custom-bus rules: ``EventBusName`` + ``RuleName``;
default-bus rules: ``RuleName`` only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from eventform.catalog.model import Catalog, Consumer, Domain, Environment
from eventform.catalog.naming import Names
from eventform.catalog.workflows import state_machine_arn, state_machine_name
from modules.concurrency import DEFAULT_PUSHED_CONCURRENCY, DEFAULT_QUEUE_CONCURRENCY
from modules.ingestion_watch import ingestion_alarms

OBJECTS_SOURCE = "objects"  # a consumer of a bucket's object events: its rule is on the default bus
DURATION_NEAR_TIMEOUT = 0.8  # p99 duration above 80% of the timeout: the next slow dependency times invocations out
CONCURRENCY_NEAR_BOUND = 0.9  # 90% of the function's concurrency bound: the next burst waits (lag) or is throttled

# Signals of a consumer; LAG and ERRORS are the two every consumer must have (CKV_EVF_108).
LAG, ERRORS = "lag", "errors"


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str  # Sum, Maximum, p99


@dataclass(frozen=True)
class AlarmPlan:
    """One CloudWatch alarm: a single metric, or metric math over up to 10 (``expression`` over the metric ids)."""

    name: str
    signal: str  # lag, errors, throttles, duration, concurrency, dead-letters, delivery, notifications, ...
    description: str
    threshold: float
    metrics: tuple[tuple[str, Metric], ...]
    expression: str | None = None
    label: str = ""  # what the expression computes (the dashboard's legend)
    evaluation_periods: int | None = None  # None: the environment's alarms.evaluation_periods
    built_by_queue: bool = False  # the queue / DLQ construct builds it (modules/queue.py, modules/dead_letter.py)
    unit: str = ""  # of the threshold, for people: s, %, messages, ...


@dataclass(frozen=True)
class ConsumerWatch:
    """A consumer's alarms in one environment, and the composite that pages once for all of them."""

    consumer: Consumer
    composite: str
    alarms: tuple[AlarmPlan, ...]
    queue: str | None  # its queue's name, where it has one
    dlqs: tuple[str, ...]
    function: str | None
    rules: tuple[tuple[str, str | None], ...]  # (rule name, bus name or None for the default bus)


def _sqs(queue: str, metric: str) -> Metric:
    return Metric("AWS/SQS", metric, (("QueueName", queue),), "Maximum")


def _lambda(function: str, metric: str, stat: str = "Sum") -> Metric:
    return Metric("AWS/Lambda", metric, (("FunctionName", function),), stat)


def _rule(rule: str, bus: str | None, metric: str) -> Metric:
    dimensions = (("EventBusName", bus), ("RuleName", rule)) if bus else (("RuleName", rule),)
    return Metric("AWS/Events", metric, dimensions, "Sum")


def dlq_alarm(names: Names, dlq: str, dlq_messages: int) -> AlarmPlan:
    return AlarmPlan(
        name=names.alarm(dlq, "visible-messages"),
        signal="dead-letters",
        description=f"Messages are waiting in the dead-letter queue {dlq}: inspect and redrive them.",
        threshold=dlq_messages,
        metrics=(("m", _sqs(dlq, "ApproximateNumberOfMessagesVisible")),),
        built_by_queue=True,
        unit="messages",
    )


def rule_names(names: Names, consumer: Consumer) -> tuple[tuple[str, str | None], ...]:
    """(rule, bus) of a via-bus consumer: one rule per source bus, the default bus for a bucket's object events."""
    rules: list[tuple[str, str | None]] = []
    if consumer.objects is not None:
        rules.append((names.rule(consumer.domain, consumer.physical_name, OBJECTS_SOURCE), None))
    for source in consumer.source_domains():
        rules.append((names.rule(consumer.domain, consumer.physical_name, source), names.bus(source)))
    return tuple(rules)


def _queue_and_function(consumer: Consumer, names: Names) -> tuple[str | None, bool, str | None]:
    """(queue name or None, whether its function is pushed, the DLQ of a pushed or stream-reading function outside
    rules)."""
    d, c = consumer.domain, consumer.physical_name
    if consumer.stream is not None:  # Lambda reads a Kinesis stream: no queue; failed batches go to its DLQ
        return None, False, names.dlq(d, c, False)
    route = consumer.route
    if route is not None:
        if route.has_queue:
            return names.queue(d, c, False), False, None
        return None, any(t.kind == "lambda" for t in route.targets), None
    if consumer.delivery == "push" and not (consumer.objects and consumer.objects.path == "topic"):
        # SNS or S3 invokes the function; failures go to its on-failure DLQ
        return None, True, names.dlq(d, c, False)
    return names.queue(d, c, consumer.fifo), False, None


def concurrency_bound(consumer: Consumer, pushed: bool) -> int:
    """The bound eventform gives the function (modules/stacks/domain.py consumer_function): reserved concurrency,
    else the event source mapping's maximum concurrency, else the defaults."""
    settings = consumer.function
    if settings.reserved_concurrency:
        return settings.reserved_concurrency
    if pushed:
        return DEFAULT_PUSHED_CONCURRENCY
    return settings.max_concurrency or DEFAULT_QUEUE_CONCURRENCY


def function_alarms(consumer: Consumer, names: Names, function: str, error_percent: float, pushed: bool) -> list:
    """Lambda: error rate and throttle rate (metric math, SLO), p99 duration near the timeout, concurrency near its
    bound. Rates, not counts: 3 errors in 10 invocations and in 10,000 are different incidents."""
    settings = consumer.function
    bound = concurrency_bound(consumer, pushed)
    timeout_ms = settings.timeout * 1000
    invocations = ("invocations", _lambda(function, "Invocations"))
    return [
        AlarmPlan(
            name=names.alarm(function, "error-rate"),
            signal=ERRORS,
            description=f"More than {error_percent:g}% of {function}'s invocations fail (slo.max_error_rate of "
            f"{consumer.qualified_name}): read its logs; failed messages retry, then go to the DLQ.",
            threshold=error_percent,
            metrics=(("errors", _lambda(function, "Errors")), invocations),
            expression="IF(invocations > 0, 100 * errors / invocations, 0)",
            label="error rate (%)",
            unit="%",
        ),
        AlarmPlan(
            name=names.alarm(function, "throttle-rate"),
            signal="throttles",
            description=f"More than {error_percent:g}% of {function}'s invocations are throttled at its concurrency "
            f"bound ({bound}): events wait; raise the bound or find what slows the handler.",
            threshold=error_percent,
            metrics=(("throttles", _lambda(function, "Throttles")), invocations),
            expression="IF(invocations + throttles > 0, 100 * throttles / (invocations + throttles), 0)",
            label="throttle rate (%)",
            unit="%",
        ),
        AlarmPlan(
            name=names.alarm(function, "duration"),
            signal="duration",
            description=f"{function}'s p99 duration is above {DURATION_NEAR_TIMEOUT:.0%} of its {settings.timeout}s "
            "timeout: the next slow dependency makes invocations time out.",
            threshold=round(timeout_ms * DURATION_NEAR_TIMEOUT),
            metrics=(("m", _lambda(function, "Duration", "p99")),),
            unit="ms",
        ),
        AlarmPlan(
            name=names.alarm(function, "concurrency"),
            signal="concurrency",
            description=f"{function} runs at {CONCURRENCY_NEAR_BOUND:.0%} or more of its concurrency bound "
            f"({bound}): further events wait (lag) or are throttled.",
            threshold=max(1, math.floor(bound * CONCURRENCY_NEAR_BOUND)),
            metrics=(("m", _lambda(function, "ConcurrentExecutions", "Maximum")),),
            unit="executions",
        ),
    ]


def consumer_watch(consumer: Consumer, environment: Environment, names: Names) -> ConsumerWatch:
    """Every alarm of one consumer in ``environment``: lag and errors always, plus what its path can fail at."""
    level = consumer.slo_for(environment)
    d, c = consumer.domain, consumer.physical_name
    queue, pushed, push_dlq = _queue_and_function(consumer, names)
    reads_stream = consumer.stream is not None
    function = names.function(d, c) if consumer.handler and (queue or pushed or reads_stream) else None
    dlqs: list[str] = []
    alarms: list[AlarmPlan] = []
    if queue is not None:
        dlq = names.dlq(d, c, queue.endswith(".fifo"))
        dlqs.append(dlq)
        alarms.append(
            AlarmPlan(
                name=names.alarm(queue, "oldest-message-age"),
                signal=LAG,
                description=f"The oldest message in {queue} waits longer than {level.max_lag}s (slo.max_lag of "
                f"{consumer.qualified_name}).",
                threshold=level.max_lag,
                metrics=(("m", _sqs(queue, "ApproximateAgeOfOldestMessage")),),
                built_by_queue=True,
                unit="s",
            )
        )
    if push_dlq is not None:
        dlqs.append(push_dlq)
    if consumer.route is not None:
        dlqs.append(names.delivery_dlq(d, c))
    alarms.extend(dlq_alarm(names, name, environment.alarms.dlq_messages) for name in dlqs)
    if function is not None and pushed:
        alarms.append(
            AlarmPlan(
                name=names.alarm(function, "event-age"),
                signal=LAG,
                description=f"Events wait longer than {level.max_lag}s for {function} (Lambda's asynchronous queue; "
                f"slo.max_lag of {consumer.qualified_name}).",
                threshold=level.max_lag * 1000,
                metrics=(("m", _lambda(function, "AsyncEventAge", "Maximum")),),
                unit="ms",
            )
        )
    if function is not None and reads_stream:
        alarms.append(
            AlarmPlan(
                name=names.alarm(function, "iterator-age"),
                signal=LAG,
                description=f"{function} reads records older than {level.max_lag}s off its stream (slo.max_lag of "
                f"{consumer.qualified_name}): it falls behind the shards.",
                threshold=level.max_lag * 1000,
                metrics=(("m", _lambda(function, "IteratorAge", "Maximum")),),
                unit="ms",
            )
        )
    if function is not None:
        # a stream reader reserves its concurrency like a pushed function (modules/stacks/domain.py)
        alarms.extend(function_alarms(consumer, names, function, level.max_error_percent, pushed or reads_stream))
    rules = rule_names(names, consumer) if consumer.route is not None else ()
    for rule, bus in rules:
        alarms.append(
            AlarmPlan(
                name=names.alarm(rule, "delivery"),
                signal="delivery" if function or queue else ERRORS,
                description=f"Rule {rule} could not deliver events to its targets (failed, dead-lettered or "
                "throttled; API destinations report their HTTP errors here): see the delivery DLQ.",
                threshold=0,
                metrics=(
                    ("failed", _rule(rule, bus, "FailedInvocations")),
                    ("dead", _rule(rule, bus, "InvocationsSentToDlq")),
                    ("throttled", _rule(rule, bus, "ThrottledRules")),
                ),
                expression="failed + dead + throttled",
                label="undelivered",
                unit="events",
            )
        )
        if queue is None and function is None:
            # EventBridge publishes no per-rule delivery latency: retries still running after max_lag are the lag
            alarms.append(
                AlarmPlan(
                    name=names.alarm(rule, "retrying"),
                    signal=LAG,
                    description=f"EventBridge has retried {rule}'s targets for longer than {level.max_lag}s "
                    f"(slo.max_lag of {consumer.qualified_name}): a target is down or throttling.",
                    threshold=0,
                    metrics=(
                        ("attempts", _rule(rule, bus, "InvocationAttempts")),
                        ("invocations", _rule(rule, bus, "Invocations")),
                    ),
                    expression="attempts - invocations",
                    label="retries",
                    evaluation_periods=max(1, math.ceil(level.max_lag / environment.alarms.period)),
                    unit="attempts",
                )
            )
    if function is None and queue is not None:
        # no handler: a service outside Lambda drains the queue; what it fails at ends in its DLQ
        queue_dlq = names.alarm(dlqs[0], "visible-messages")
        alarms = [replace(a, signal=ERRORS) if a.name == queue_dlq else a for a in alarms]
    return ConsumerWatch(
        consumer=consumer,
        composite=names.alarm(f"{environment.name}-{d}-{c}", "consumer"),
        alarms=tuple(alarms),
        queue=queue,
        dlqs=tuple(dlqs),
        function=function,
        rules=rules,
    )


def domain_alarms(catalog: Catalog, domain: Domain, environment: Environment, names: Names) -> tuple[AlarmPlan, ...]:
    """What fails outside any consumer: the domain's topics, streams, delivery streams, schedules, pipes and API-call
    rules."""
    plans: list[AlarmPlan] = []
    topics = []
    if domain.topic is not None:
        topics.append(names.topic(domain.name, domain.topic.fifo))
    for bucket in domain.buckets:
        if any(c.objects and c.objects.path == "topic" for c in catalog.bucket_consumers(domain.name, bucket.name)):
            topics.append(names.bucket_topic(domain.name, bucket.name))
    for topic in topics:
        plans.append(
            AlarmPlan(
                name=names.alarm(topic, "failed-notifications"),
                signal="notifications",
                description=f"SNS could not deliver messages of {topic} to a subscriber after its retries.",
                threshold=0,
                metrics=(("m", Metric("AWS/SNS", "NumberOfNotificationsFailed", (("TopicName", topic),), "Sum")),),
                unit="notifications",
            )
        )
    for stream in domain.streams:
        name = names.catalog_stream(domain.name, stream.name)

        def kinesis(metric: str, name: str = name) -> Metric:
            return Metric("AWS/Kinesis", metric, (("StreamName", name),), "Sum")

        plans.append(
            AlarmPlan(
                name=names.alarm(name, "throttled"),
                signal="streams",
                description=f"Writes to or reads from the stream {name} were throttled (shard or on-demand limits): "
                "producers retry, consumers fall behind.",
                threshold=0,
                metrics=(
                    ("writes", kinesis("WriteProvisionedThroughputExceeded")),
                    ("reads", kinesis("ReadProvisionedThroughputExceeded")),
                ),
                expression="writes + reads",
                label="throttled requests",
                unit="requests",
            )
        )
    plans += delivery_stream_alarms(domain, names)
    if domain.schedules:
        group = names.schedule_group(domain.name)

        def scheduler(metric: str) -> Metric:
            return Metric("AWS/Scheduler", metric, (("ScheduleGroup", group),), "Sum")

        plans.append(
            AlarmPlan(
                name=names.alarm(group, "schedule-failures"),
                signal="schedules",
                description=f"Schedules of {group} failed to reach their targets and were dropped or could not be "
                "dead-lettered, or hit target errors.",
                threshold=0,
                metrics=(
                    ("dropped", scheduler("InvocationDroppedCount")),
                    ("undeliverable", scheduler("InvocationsFailedToBeSentToDeadLetterCount")),
                    ("errors", scheduler("TargetErrorCount")),
                ),
                expression="dropped + undeliverable + errors",
                label="failed invocations",
                unit="invocations",
            )
        )
        plans.append(dlq_alarm(names, names.delivery_dlq(domain.name, "schedules"), environment.alarms.dlq_messages))
    for pipe in domain.pipes:
        name = names.pipe(domain.name, pipe.name)

        def piped(metric: str, name: str = name) -> Metric:
            return Metric("AWS/EventBridge/Pipes", metric, (("PipeName", name),), "Sum")

        plans.append(
            AlarmPlan(
                name=names.alarm(name, "failures"),
                signal="pipes",
                description=f"Pipe {name} failed, partially failed, timed out or was throttled.",
                threshold=0,
                metrics=(
                    ("failed", piped("ExecutionFailed")),
                    ("partial", piped("ExecutionPartiallyFailed")),
                    ("timeout", piped("ExecutionTimeout")),
                    ("throttled", piped("ExecutionThrottled")),
                ),
                expression="failed + partial + timeout + throttled",
                label="failed executions",
                unit="executions",
            )
        )
        if pipe.source.is_stream:
            plans.append(dlq_alarm(names, names.pipe_dlq(domain.name, pipe.name), environment.alarms.dlq_messages))
    if domain.api_calls:
        plans.append(dlq_alarm(names, names.delivery_dlq(domain.name, "api-calls"), environment.alarms.dlq_messages))
    for alert in domain.api_calls:
        rule = names.api_call_rule(domain.name, alert.name)
        plans.append(
            AlarmPlan(
                name=names.alarm(rule, "delivery"),
                signal="delivery",
                description=f"The API-call alert {rule} could not notify the alarm topic.",
                threshold=0,
                metrics=(
                    ("failed", _rule(rule, None, "FailedInvocations")),
                    ("dead", _rule(rule, None, "InvocationsSentToDlq")),
                ),
                expression="failed + dead",
                label="undelivered",
                unit="events",
            )
        )
    plans.extend(workflow_alarms(domain, names))
    for plan in ingestion_alarms(domain, names):  # HTTP endpoints (modules/ingestion_watch.py)
        metrics = tuple((key, Metric(*metric)) for key, metric in plan["metrics"])
        plans.append(AlarmPlan(**{**plan, "metrics": metrics}))
    return tuple(plans)


def workflow_alarms(domain: Domain, names: Names) -> list[AlarmPlan]:
    """Per state machine: executions that failed or timed out (each one a business transaction left undone), and
    throttled executions (StartExecution refused: a starter retries, then dead-letters)."""
    plans = []
    for workflow in domain.workflows:
        name = state_machine_name(names, workflow)
        arn = state_machine_arn(names, workflow)

        def states(metric: str, arn: str = arn) -> Metric:
            return Metric("AWS/States", metric, (("StateMachineArn", arn),), "Sum")

        plans.append(
            AlarmPlan(
                name=names.alarm(name, "failed-executions"),
                signal="workflows",
                description=f"Executions of the state machine {name} failed or timed out: the workflow did not "
                "finish (its execution history says where).",
                threshold=0,
                metrics=(("failed", states("ExecutionsFailed")), ("timedout", states("ExecutionsTimedOut"))),
                expression="failed + timedout",
                label="failed or timed-out executions",
                unit="executions",
            )
        )
        plans.append(
            AlarmPlan(
                name=names.alarm(name, "throttled"),
                signal="workflows",
                description=f"Starting executions of {name} was throttled (the account's StartExecution quota): "
                "starters retry, then send to their dead-letter queues.",
                threshold=0,
                metrics=(("throttled", states("ExecutionThrottled")),),
                unit="executions",
            )
        )
    return plans


# --------------------------------------------------------------------------------------------------------------
# Catalog Firehose delivery streams: records that wait too long for S3, failed deliveries, throttled producers
# --------------------------------------------------------------------------------------------------------------
FIREHOSE = "AWS/Firehose"
# Dynamic partitioning buffers in stages: a record may wait 1.5 times the buffer interval (AWS: "Buffer data for
# dynamic partitioning"); beyond that and a few minutes of S3 retries, delivery is stuck, not slow.
FRESHNESS_FACTOR = 1.5
FRESHNESS_MARGIN = 600  # seconds


def freshness_threshold(buffer_interval: int) -> int:
    return int(buffer_interval * FRESHNESS_FACTOR) + FRESHNESS_MARGIN


def delivery_stream_alarms(domain: Domain, names: Names) -> list[AlarmPlan]:
    plans = []
    for stream in domain.delivery_streams:
        name = names.delivery_stream(domain.name, stream.name)

        def firehose(metric: str, stat: str, name: str = name) -> Metric:
            return Metric(FIREHOSE, metric, (("DeliveryStreamName", name),), stat)

        threshold = freshness_threshold(stream.buffer_interval)
        plans += [
            AlarmPlan(
                name=names.alarm(name, "data-freshness"),
                signal="delivery",
                description=f"The oldest record in {name} has waited more than {threshold}s for S3 (1.5 x its "
                f"{stream.buffer_interval}s buffer interval + {FRESHNESS_MARGIN}s): delivery to the bucket is stuck "
                "(role, key, bucket policy) and records will go to the error prefix.",
                threshold=threshold,
                metrics=(("m", firehose("DeliveryToS3.DataFreshness", "Maximum")),),
                unit="s",
            ),
            AlarmPlan(
                name=names.alarm(name, "delivery-failures"),
                signal="delivery",
                description=f"Some deliveries of {name} to S3 failed (DeliveryToS3.Success below 1): Firehose retries, "
                "then writes the records under the error prefix.",
                threshold=0,
                metrics=(("success", firehose("DeliveryToS3.Success", "Minimum")),),
                expression="1 - success",
                label="failed share of S3 deliveries",
                unit="share",
            ),
            AlarmPlan(
                name=names.alarm(name, "throttled"),
                signal="delivery",
                description=f"Producers' records to {name} were throttled (the stream's throughput quota): rule "
                "targets retry, then dead-letter.",
                threshold=0,
                metrics=(("m", firehose("ThrottledRecords", "Sum")),),
                unit="records",
            ),
        ]
    return plans
