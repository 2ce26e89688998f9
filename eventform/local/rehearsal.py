"""The rehearsal on the embedded AWS: send on every channel, run the handlers, check where everything went.

The local runner (``eventform.local.runner``) plays Lambda: each deployed function's handler, environment variables and
batch size are read from the synthesized ``local-*`` stacks, and its queue from the SSM locator the stack wrote.
What is sent and who must receive it come from :mod:`eventform.local.sending` and the routing contract
(:mod:`eventform.catalog.routing`, from the catalog alone); targets moto cannot deliver are observed through their
tap queues (:mod:`eventform.local.taps`); the verdicts are in :mod:`eventform.local.report`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from eventform.catalog.loader import load
from eventform.catalog.model import Catalog, Consumer, Pipe
from eventform.catalog.naming import Names
from eventform.local import pipe_runner, runner, stream_runner, taps
from eventform.local.embedded import (
    LOCAL_CREDENTIALS,
    LOCAL_ENV,
    LocalError,
    LocalPaths,
    deployed_stacks,
    endpoint,
)
from eventform.runtime import changes

TOKEN = re.compile(r"\$\{aws_dynamodb_table\.([^.]+)\.name\}")


@dataclass
class Connection:
    endpoint: str
    region: str
    account: str = "123456789012"

    @property
    def names(self) -> Names:
        return Names(env=LOCAL_ENV, region=self.region, account_id=self.account)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


def connect(root: Path) -> tuple[Catalog, Connection]:
    paths = LocalPaths(root)
    url = endpoint(paths)
    if url is None:
        raise LocalError("the embedded AWS is not running: run `eventform local up` first")
    catalog, environments = load(root, [LOCAL_ENV])
    return catalog, Connection(url, environments[0].region, environments[0].account_id)


@contextlib.contextmanager
def aws_environment(connection: Connection, extra: dict[str, str]) -> Iterator[None]:
    """Point every boto3 client a handler creates at the embedded AWS, with the function's variables."""
    values = {
        **LOCAL_CREDENTIALS,
        "AWS_ENDPOINT_URL": connection.endpoint,
        "AWS_DEFAULT_REGION": connection.region,
        **extra,
    }
    previous = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass(frozen=True)
class Arrival:
    """What reached a consumer: the event it carried (id, or type and key for object events), through which rule
    target (bus consumers), and the body as delivered."""

    event_id: str | None
    event_type: str | None
    key: str | None
    target: str | None
    body: str
    message_id: str = ""  # the SQS message it came in (what identifies an arrival that carries no event)


@dataclass
class DeployedConsumer:
    consumer: Consumer
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    handler_module: str | None
    environment: dict[str, str]
    batch_size: int
    function_arn: str | None = None  # push consumers: SNS invokes this function (locally: through a tap queue)
    target: str | None = None  # bus consumers: the rule target this queue stands for (its queue, or a tap)
    received: list[str] = field(default_factory=list)  # event ids seen by the handler, in order
    handled: set[str] = field(default_factory=set)  # event ids the handler reported as processed
    arrivals: list[Arrival] = field(default_factory=list)
    test_events: int = 0  # S3's s3:TestEvent: acknowledged, not counted as received

    @property
    def key(self) -> str:
        """The binding's name: the consumer, or ``consumer -> target`` for a rule target's tap."""
        tapped = self.target is not None and self.target != _queue_target(self.consumer)
        return f"{self.consumer.qualified_name} -> {self.target}" if tapped else self.consumer.qualified_name


def _queue_target(consumer: Consumer) -> str | None:
    if consumer.route is None:
        return None
    return next((t.name for t in consumer.route.targets if t.kind == "queue"), None)


Functions = dict[str, tuple[str, dict[str, str], int]]


def _functions(paths: LocalPaths) -> Functions:
    """Consumer -> (handler module, environment variables, batch size) from the synthesized local stacks."""
    functions: Functions = {}
    for stack in deployed_stacks(paths):
        config = json.loads((paths.stack_dir(stack) / "cdk.tf.json").read_text())
        resources = config.get("resource", {})
        tables = {key: value["name"] for key, value in resources.get("aws_dynamodb_table", {}).items()}
        mappings = list(resources.get("aws_lambda_event_source_mapping", {}).values())
        for key, function in resources.get("aws_lambda_function", {}).items():
            variables = {
                name: TOKEN.sub(lambda match, known=tables: str(known[match.group(1)]), value)  # type: ignore[misc]
                for name, value in function.get("environment", {}).get("variables", {}).items()
            }
            if "POWERTOOLS_SERVICE_NAME" not in variables:
                continue  # not a consumer's function (a pipe enrichment)
            mapping: dict[str, Any] = next((m for m in mappings if key in m["function_name"]), {})
            module = function["handler"].rsplit(".", 1)[0]
            functions[variables["POWERTOOLS_SERVICE_NAME"]] = (module, variables, mapping.get("batch_size", 10))
    return functions


def deployed_consumers(root: Path, catalog: Catalog, connection: Connection) -> dict[str, DeployedConsumer]:
    """Every consumer queue of the deployed local stacks (and every Lambda target's tap), with what Lambda would
    run for it. Keys: the consumer's qualified name, or ``consumer -> target`` for a Lambda target's tap."""
    paths = LocalPaths(root)
    ssm, sqs, names = connection.client("ssm"), connection.client("sqs"), connection.names
    functions = _functions(paths)
    found: dict[str, DeployedConsumer] = {}
    for consumer in catalog.consumers:
        name = f"/eventform/{LOCAL_ENV}/{consumer.domain}/consumers/{consumer.physical_name}"
        module, variables, batch = functions.get(consumer.qualified_name, (None, {}, 10))
        try:
            locator = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
        except ssm.exceptions.ParameterNotFound:
            locator = None  # no queue of its own (a bus consumer with other targets only), or not deployed
        if locator is not None and locator.get("delivery") == "stream":  # Lambda reads a stream: no queue
            item = DeployedConsumer(
                consumer, "", locator["stream_arn"], locator["dlq_url"], locator["dlq_arn"], module, variables, batch
            )
            found[item.key] = item
        elif locator is not None:
            item = DeployedConsumer(
                consumer,
                locator["queue_url"],
                locator["queue_arn"],
                locator["dlq_url"],
                locator["dlq_arn"],
                module,
                variables,
                batch,
                locator.get("function_arn"),
                _queue_target(consumer),
            )
            found[item.key] = item
    for tap in taps.taps(catalog, names, sqs):
        if not tap.replayed:
            continue
        consumer = tap.consumer
        module, variables, batch = functions.get(consumer.qualified_name, (None, {}, 10))
        dlq_name = names.delivery_dlq(consumer.domain, consumer.physical_name)
        item = DeployedConsumer(
            consumer,
            tap.queue_url,
            tap.queue_arn,
            sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"],
            names.queue_arn(dlq_name),
            module,
            variables,
            batch,
            f"arn:aws:lambda:{connection.region}:{connection.account}:function:"
            f"{names.function(consumer.domain, consumer.physical_name)}",
            tap.target.name,
        )
        found[item.key] = item
    return found


def _load_handler(deployed: DeployedConsumer, connection: Connection) -> tuple[Any, Any]:
    """(lambda_handler, the module's EventHandler) loaded as Lambda does it: a fresh module object (its idempotency
    table, clients and settings built from this function's environment), whatever this process imported before."""
    from eventform.runtime.handler import EventHandler, clients

    with aws_environment(connection, deployed.environment):
        clients.reset()
        spec = importlib.util.find_spec(deployed.handler_module or "")
        if spec is None or spec.loader is None:
            raise LocalError(f"handler module {deployed.handler_module} not found: run from the project root")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    app = next((v for v in vars(module).values() if isinstance(v, EventHandler)), None)
    return module.lambda_handler, app


class _Recorder:
    """Records, per event id, the exception the business code raised (the runtime turns it into a batch item
    failure and Powertools keeps only a count): so every handler error can be printed with its event."""

    def __init__(self, app: Any) -> None:
        self.errors: dict[str, Exception] = {}
        if app is not None:
            handle = app.handle

            def recording(event: Any, context: Any = None) -> Any:
                try:
                    return handle(event, context)
                except Exception as error:
                    self.errors[event.id] = error
                    raise  # the runtime decides what a failure means (batch item failure, Lambda retry)

            app.handle = recording


def _read(body: str, target: str | None) -> tuple[Arrival, Exception | None]:
    """The arrival a message body carries; an unreadable body is an arrival without event, with the reason."""
    from eventform.runtime.handler import EventValidationError, unwrap

    try:
        event = unwrap(body)
    except (ValueError, KeyError, TypeError, EventValidationError) as error:
        return Arrival(None, None, None, target, body), error
    key = event.data.get("key") if event.type.startswith("object.") and isinstance(event.data, dict) else None
    return Arrival(event.id, event.type, key, target, body), None


def binding(deployed: DeployedConsumer, connection: Connection) -> runner.QueueBinding:
    """The queue binding Lambda's event source mapping would have, recording which events the handler saw."""
    from eventform.runtime.handler import is_test_event

    handler, app = _load_handler(deployed, connection) if deployed.handler_module else (None, None)
    recorder = _Recorder(app)
    if deployed.consumer.delivery == "push" or (deployed.target and deployed.key != deployed.consumer.qualified_name):
        return _push_binding(deployed, connection, handler, recorder)
    tally_errors: list[runner.HandlerError] = []

    def invoke(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
        ids: dict[str, str] = {}
        for record in event["Records"]:
            if is_test_event(record["body"]):
                deployed.test_events += 1  # S3 checking the destination: acknowledged (as the runtime does)
                continue
            arrival, problem = _read(record["body"], deployed.target)
            arrival = dataclasses.replace(arrival, message_id=record["messageId"])
            deployed.arrivals.append(arrival)
            ids[record["messageId"]] = arrival.event_id or record["messageId"]
            if arrival.event_id:
                deployed.received.append(arrival.event_id)
            if problem is not None:
                recorder.errors[ids[record["messageId"]]] = problem
        result: dict[str, Any] = {"batchItemFailures": []}
        if handler is not None:  # else a queue consumed outside Lambda: acknowledge, as that service would
            with aws_environment(connection, deployed.environment):
                try:
                    result = handler(event, context) or result
                except Exception as error:  # the whole batch fails, as in Lambda: each event's cause recorded
                    for event_id in ids.values():
                        cause = recorder.errors.get(event_id, error)
                        tally_errors.append(
                            runner.HandlerError(deployed.key, event_id, type(cause).__name__, str(cause))
                        )
                    raise
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        for message, event_id in ids.items():
            if message not in failed:
                deployed.handled.add(event_id)
            else:
                recorded = recorder.errors.get(event_id)
                name = type(recorded).__name__ if recorded else "BatchItemFailure"
                detail = str(recorded) if recorded else "the handler reported the message as failed"
                tally_errors.append(runner.HandlerError(deployed.key, event_id, name, detail))
        return result

    return runner.QueueBinding(
        deployed.key,
        deployed.queue_url,
        deployed.queue_arn,
        invoke,
        deployed.batch_size,
        connection.region,
        tally_errors,
    )


def stream_binding(catalog: Catalog, deployed: DeployedConsumer, connection: Connection) -> stream_runner.StreamBinding:
    """The Kinesis mapping of a stream consumer as the stream runner plays it, recording what the handler saw."""
    from eventform.catalog.streams import mapping_filters

    source = deployed.consumer.stream
    assert source is not None and deployed.handler_module is not None  # checked when the catalog loaded
    handler, app = _load_handler(deployed, connection)
    recorder = _Recorder(app)
    errors: list[runner.HandlerError] = []

    mapped = changes.changes_from(deployed.environment.get(changes.CHANGES_VARIABLE))

    def arrival_of(record: dict[str, Any]) -> tuple[str, Arrival, Exception | None] | None:
        """(sequence number, arrival, why unreadable) of one record; None for a change mapped to no event."""
        if source.kind == "kinesis":
            sequence = record["kinesis"]["sequenceNumber"]
            arrival, problem = _read(stream_runner.decode(record), None)
            return sequence, dataclasses.replace(arrival, message_id=sequence), problem
        envelope = changes.from_change(record, mapped)
        if envelope is None:
            return None  # the runtime acknowledges it without running the handler
        sequence, data = record["dynamodb"]["SequenceNumber"], envelope["data"]
        return (
            sequence,
            Arrival(envelope["id"], envelope["type"], data.get("pk"), None, json.dumps(data), sequence),
            None,
        )

    def invoke(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
        ids: dict[str, str] = {}
        for record in event["Records"]:
            read = arrival_of(record)
            if read is None:
                continue
            sequence, arrival, problem = read
            deployed.arrivals.append(arrival)
            ids[sequence] = arrival.event_id or sequence
            if arrival.event_id:
                deployed.received.append(arrival.event_id)
            if problem is not None:
                recorder.errors[ids[sequence]] = problem
        with aws_environment(connection, deployed.environment):
            try:
                result = handler(event, context) or {"batchItemFailures": []}
            except Exception as error:  # the whole batch fails, as in Lambda: each event's cause recorded
                for event_id in ids.values():
                    cause = recorder.errors.get(event_id, error)
                    errors.append(runner.HandlerError(deployed.key, event_id, type(cause).__name__, str(cause)))
                raise
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        for sequence, event_id in ids.items():
            if sequence not in failed:
                deployed.handled.add(event_id)
            else:
                recorded = recorder.errors.get(event_id)
                name = type(recorded).__name__ if recorded else "BatchItemFailure"
                errors.append(runner.HandlerError(deployed.key, event_id, name, str(recorded or "reported failed")))
        return result

    names = connection.names
    return stream_runner.StreamBinding(
        consumer=deployed.key,
        stream_name=names.catalog_stream(source.domain, source.stream) if source.kind == "kinesis" else "",
        stream_arn=deployed.queue_arn,
        handler=invoke,
        filters=mapping_filters(catalog, source),
        batch_size=source.batch_size,
        max_attempts=source.retries.max_attempts,
        dlq_url=deployed.dlq_url,
        sqs=connection.client("sqs"),
        region=connection.region,
        errors=errors,
        kind=source.kind,
    )


def _push_binding(
    deployed: DeployedConsumer, connection: Connection, handler: Any, recorder: _Recorder
) -> runner.QueueBinding:
    """A push replayed from its tap queue: SNS -> Lambda, S3 -> Lambda or EventBridge -> Lambda. Each message
    becomes the event Lambda would receive, invoked with Lambda's asynchronous retries (the consumer's, or two for
    a rule target); when they are exhausted, Lambda's failure record goes to the DLQ."""
    from eventform.runtime.handler import is_test_event

    sqs = connection.client("sqs")
    retries = deployed.consumer.push.retries if deployed.consumer.route is None else 2
    errors: list[runner.HandlerError] = []

    def replay(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            body = record["body"]
            if is_test_event(body):
                deployed.test_events += 1  # S3 checking the destination: it never invokes the function with this
                continue
            arrival, problem = _read(body, deployed.target)
            deployed.arrivals.append(arrival)
            event_id = arrival.event_id or record["messageId"]
            if arrival.event_id:
                deployed.received.append(event_id)
            notification = json.loads(body) if problem is None else None
            if notification is None or handler is None:
                errors.append(runner.HandlerError(deployed.key, event_id, type(problem).__name__, str(problem)))
                continue
            if deployed.consumer.route is not None or deployed.consumer.objects is not None:
                invocation = notification  # EventBridge and S3 invoke the function with their event as is
            else:
                subscription = f"{notification['TopicArn']}:{deployed.consumer.name}"
                invocation = runner.sns_push_event(notification, subscription)
            with aws_environment(connection, deployed.environment):
                error = runner.invoke_asynchronously(handler, invocation, retries, deployed.consumer.qualified_name)
            if error is None:
                deployed.handled.add(event_id)
                continue
            cause = recorder.errors.get(event_id, error)
            errors.append(runner.HandlerError(deployed.key, event_id, type(cause).__name__, str(cause)))
            failure = runner.on_failure_record(invocation, deployed.function_arn or "", retries + 1, cause)
            sqs.send_message(QueueUrl=deployed.dlq_url, MessageBody=json.dumps(failure))
        return {"batchItemFailures": []}  # the service's delivery to Lambda is done either way

    return runner.QueueBinding(
        deployed.key,
        deployed.queue_url,
        deployed.queue_arn,
        replay,
        deployed.batch_size,
        connection.region,
        errors,
    )


def observer_binding(tap: taps.Tap, connection: Connection, seen: dict[str, list[str]]) -> runner.QueueBinding:
    """A tap of a target that is not a function: what it received is recorded (``seen``) and acknowledged."""
    key = str(tap.receiver)

    def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.setdefault(key, []).extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": []}

    return runner.QueueBinding(key, tap.queue_url, tap.queue_arn, record, 10, connection.region)


PipeSeen = dict[str, tuple[bool, bool]]  # event id -> (passes the catalog's filters, passes the deployed filters)


def pipe_binding(deployed: DeployedConsumer, pipe: Pipe, connection: Connection, seen: PipeSeen) -> runner.QueueBinding:
    """A queue a pipe drains (moto stores pipes but runs none): each record is matched with the catalog's filters
    and with the filters of the deployed pipe (``DescribePipe``), and acknowledged as Pipes would after delivery.
    The enrichment and the target are not run here (the target lives in another account)."""
    pipes = connection.client("pipes")
    described = pipes.describe_pipe(Name=connection.names.pipe(pipe.domain, pipe.name))
    criteria = described.get("SourceParameters", {}).get("FilterCriteria", {}).get("Filters", [])
    filters = tuple(json.loads(f["Pattern"]) for f in criteria)

    def play(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            arrival, _ = _read(record["body"], None)
            deployed.arrivals.append(arrival)
            if arrival.event_id:
                deployed.received.append(arrival.event_id)
                deployed.handled.add(arrival.event_id)
                as_filtered = pipe_runner.parsed(record)
                seen[arrival.event_id] = (
                    pipe_runner.passes(pipe, as_filtered),
                    pipe_runner.passes_filters(filters, as_filtered),
                )
        return {"batchItemFailures": []}

    return runner.QueueBinding(
        deployed.key, deployed.queue_url, deployed.queue_arn, play, pipe.source.batch_size, connection.region
    )


@dataclass
class Run:
    """What the handlers did: per binding its tally, and each DLQ's depth afterwards."""

    deployed: dict[str, DeployedConsumer]
    tallies: runner.Drained
    dlq_depth: dict[str, int]  # dead letters this run added
    observed: dict[str, list[str]]  # "consumer -> target" -> bodies (taps drained by the runner)
    pipes: dict[str, PipeSeen] = field(default_factory=dict)  # pipe -> what its filters did with each record
    dlq_before: dict[str, int] = field(default_factory=dict)  # dead letters that were there before this run


def run(root: Path, timeout: float = 120.0, then: tuple[Callable[[], None], ...] = ()) -> Run:
    """Drain every consumer queue and tap through its handler (or recorder) until empty or ``timeout``; then each
    step of ``then`` (more sending) followed by another drain, into the same tallies."""
    catalog, connection = connect(root)
    deployed = deployed_consumers(root, catalog, connection)
    sqs = connection.client("sqs")
    observed: dict[str, list[str]] = {}
    sources = {
        f"{p.domain}/{p.source.reference}": p for d in catalog.domains for p in d.pipes if p.source.kind == "queue"
    }
    pipes: dict[str, PipeSeen] = {}
    bindings = [
        pipe_binding(d, sources[name], connection, pipes.setdefault(sources[name].qualified_name, {}))
        if name in sources and d.handler_module is None
        else binding(d, connection)
        for name, d in deployed.items()
        if d.consumer.stream is None  # stream consumers have no queue: the stream runner reads their stream
    ]
    bindings += [
        observer_binding(t, connection, observed) for t in taps.taps(catalog, connection.names, sqs) if not t.replayed
    ]
    streams = [stream_binding(catalog, d, connection) for d in deployed.values() if d.consumer.stream is not None]
    readers = {"kinesis": connection.client("kinesis"), "table": connection.client("dynamodbstreams")}
    before = _dlq_depths(sqs, deployed)
    tallies = runner.drain(sqs, bindings, timeout=timeout)
    _drain_streams(readers, streams, tallies)
    for step in then:
        step()
        tallies = runner.drain(sqs, bindings, timeout=timeout, tallies=tallies)
        _drain_streams(readers, streams, tallies)
    after = _dlq_depths(sqs, deployed)
    new = {name: after[name] - before[name] for name in deployed}
    return Run(deployed, tallies, new, observed, pipes, {n: d for n, d in before.items() if d})


def _drain_streams(
    readers: dict[str, Any], streams: list[stream_runner.StreamBinding], tallies: runner.Drained
) -> None:
    """Play each stream consumer's mapping on what its stream got since the last drain, into the same tallies."""
    for item in streams:
        tally = tallies.get(item.consumer)
        tallies[item.consumer] = stream_runner.drain_stream(
            readers[item.kind], item, tally if isinstance(tally, stream_runner.StreamTally) else None
        )


def _dlq_depths(sqs: Any, deployed: dict[str, DeployedConsumer]) -> dict[str, int]:
    depth = {}
    for name, item in deployed.items():
        attributes = sqs.get_queue_attributes(QueueUrl=item.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
        depth[name] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return depth


def redrive(root: Path, consumer: str) -> int:
    catalog, connection = connect(root)
    deployed = deployed_consumers(root, catalog, connection)
    matches = [d for name, d in deployed.items() if consumer in (name, name.split("/", 1)[1])]
    if len(matches) != 1:
        raise LocalError(f"unknown consumer {consumer!r}; deployed: {', '.join(sorted(deployed))}")
    item = matches[0]
    if item.consumer.stream is not None:
        raise LocalError(
            f"{item.key} reads a stream: its DLQ holds Lambda's descriptions of failed batches (shard and sequence "
            "range), not the records; they are still on the stream within its retention"
        )
    if item.consumer.delivery == "push" or item.key != item.consumer.qualified_name:
        raise LocalError(
            f"{item.key} is pushed to a function: its DLQ holds Lambda's failure records (the event is "
            "under requestPayload), not queue messages; publish the event again once the handler is fixed"
        )
    return runner.redrive(connection.client("sqs"), item.dlq_url, item.dlq_arn, item.queue_arn, item.queue_url)
