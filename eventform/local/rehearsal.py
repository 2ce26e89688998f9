"""The rehearsal on the embedded AWS: publish catalog examples, run the handlers, check where every event went.

The local runner (``eventform.local.runner``) plays Lambda: each deployed function's handler, environment variables and
batch size are read from the synthesized ``local-*`` stacks, and its queue from the SSM locator the stack wrote.
The expected routing is derived from the catalog alone (consumed events + filter policies, matched as SNS
matches them, :func:`eventform.catalog.filters.matches`), so the rehearsal proves the deployed topology equals
what the catalog says.

The routing contract covers the SNS path: events published on their domain's topic and the consumers subscribed
to topics (queue and push). EventBridge consumers (``via: bus``) are left out on purpose: moto's bus delivers to
SQS, log groups and buses only, and raises for the Lambda, SNS, Step Functions, Firehose and Kinesis targets the
sample's rules also carry. Their routing is proven in process instead (``lint --matrix``, eventform's EventBridge
matcher pinned by tests/conformance, release_stock's EventBridge round trip).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from eventform.catalog.loader import load
from eventform.catalog.model import Catalog, Consumer
from eventform.catalog.routing import expected_consumers, topic_events
from eventform.local import runner
from eventform.local.embedded import (
    LOCAL_CREDENTIALS,
    LOCAL_ENV,
    LocalError,
    LocalPaths,
    deployed_stacks,
    endpoint,
)
from eventform.runtime.publisher import Publisher

TOKEN = re.compile(r"\$\{aws_dynamodb_table\.([^.]+)\.name\}")


@dataclass
class Connection:
    endpoint: str
    region: str

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
    return catalog, Connection(url, environments[0].region)


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
    received: list[str] = field(default_factory=list)  # event ids seen by the handler
    handled: set[str] = field(default_factory=set)  # event ids the handler reported as processed


def deployed_consumers(root: Path, catalog: Catalog, connection: Connection) -> dict[str, DeployedConsumer]:
    """Every consumer of the deployed local stacks, with what Lambda would run for it."""
    paths = LocalPaths(root)
    ssm = connection.client("ssm")
    found: dict[str, DeployedConsumer] = {}
    functions: dict[str, tuple[str, dict[str, str], int]] = {}
    for stack in deployed_stacks(paths):
        config = json.loads((paths.stack_dir(stack) / "cdk.tf.json").read_text())
        resources = config.get("resource", {})
        tables = {key: value["name"] for key, value in resources.get("aws_dynamodb_table", {}).items()}
        mappings = list(resources.get("aws_lambda_event_source_mapping", {}).values())
        for key, function in resources.get("aws_lambda_function", {}).items():
            variables = {
                name: TOKEN.sub(lambda match, known=tables: known[match.group(1)], value)
                for name, value in function.get("environment", {}).get("variables", {}).items()
            }
            mapping = next((m for m in mappings if key in m["function_name"]), {})
            module = function["handler"].rsplit(".", 1)[0]
            functions[variables["POWERTOOLS_SERVICE_NAME"]] = (module, variables, mapping.get("batch_size", 10))
    for consumer in catalog.consumers:
        name = f"/eventform/{LOCAL_ENV}/{consumer.domain}/consumers/{consumer.physical_name}"
        try:
            locator = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
        except ssm.exceptions.ParameterNotFound:
            continue  # its stack is not deployed
        module, variables, batch = functions.get(consumer.qualified_name, (None, {}, 10))
        found[consumer.qualified_name] = DeployedConsumer(
            consumer,
            locator["queue_url"],
            locator["queue_arn"],
            locator["dlq_url"],
            locator["dlq_arn"],
            module,
            variables,
            batch,
            locator.get("function_arn"),
        )
    return found


def binding(deployed: DeployedConsumer, connection: Connection) -> runner.QueueBinding:
    """The queue binding Lambda's event source mapping would have, recording which events the handler saw."""
    from eventform.runtime.handler import clients, unwrap

    handler = None
    if deployed.handler_module:
        with aws_environment(connection, deployed.environment):
            # A cold start, as Lambda does it: a fresh module object (its idempotency table, clients, settings
            # built from this function's environment), whatever this process imported before under another one.
            clients.reset()
            spec = importlib.util.find_spec(deployed.handler_module)
            if spec is None or spec.loader is None:
                raise LocalError(f"handler module {deployed.handler_module} not found: run from the project root")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            handler = module.lambda_handler

    if deployed.consumer.delivery == "push":
        return _push_binding(deployed, connection, handler)

    def invoke(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
        ids = {}
        for record in event["Records"]:
            with contextlib.suppress(Exception):
                ids[record["messageId"]] = unwrap(record["body"]).id
                deployed.received.append(ids[record["messageId"]])
        result: dict[str, Any] = {"batchItemFailures": []}
        if handler is not None:  # else a queue consumed outside Lambda: acknowledge, as that service would
            with aws_environment(connection, deployed.environment):
                result = handler(event, context) or result
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        deployed.handled.update(event_id for message, event_id in ids.items() if message not in failed)
        return result

    return runner.QueueBinding(
        deployed.consumer.qualified_name,
        deployed.queue_url,
        deployed.queue_arn,
        invoke,
        deployed.batch_size,
        connection.region,
    )


def _push_binding(deployed: DeployedConsumer, connection: Connection, handler: Any) -> runner.QueueBinding:
    """SNS (or S3) -> Lambda, replayed: each notification in the tap queue becomes the event Lambda would receive,
    invoked with the consumer's retries; when they are exhausted, Lambda's failure record goes to the DLQ."""
    from eventform.runtime.handler import is_test_event, unwrap

    sqs = connection.client("sqs")
    retries = deployed.consumer.push.retries

    def replay(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            notification = json.loads(record["body"])
            if is_test_event(notification):
                continue  # S3 checking the destination: it never invokes the function with this
            if deployed.consumer.objects is not None:  # S3 invokes the function with its notification as is
                event_id, invocation = unwrap(notification).id, notification
            else:
                event_id = unwrap(notification["Message"]).id
                invocation = runner.sns_push_event(notification, f"{notification['TopicArn']}:{deployed.consumer.name}")
            deployed.received.append(event_id)
            with aws_environment(connection, deployed.environment):
                error = runner.invoke_asynchronously(handler, invocation, retries, deployed.consumer.qualified_name)
            if error is None:
                deployed.handled.add(event_id)
            else:
                failure = runner.on_failure_record(invocation, deployed.function_arn or "", retries + 1, error)
                sqs.send_message(QueueUrl=deployed.dlq_url, MessageBody=json.dumps(failure))
        return {"batchItemFailures": []}  # SNS's delivery to Lambda is done either way

    return runner.QueueBinding(
        deployed.consumer.qualified_name,
        deployed.queue_url,
        deployed.queue_arn,
        replay,
        deployed.batch_size,
        connection.region,
    )


@dataclass
class Sent:
    event: str
    example: int
    event_id: str
    expected: set[str]


def publish_examples(
    catalog: Catalog,
    connection: Connection,
    only: str | None = None,
    index: int | None = None,
    count: int = 1,
    payload: dict[str, Any] | None = None,
) -> list[Sent]:
    """Publish catalog examples (all, one event's, one by index, or a given payload) ``count`` times each."""
    publisher = Publisher(catalog, LOCAL_ENV, sns=connection.client("sns"), ssm=connection.client("ssm"))
    sent = []
    published = topic_events(catalog)
    events = [e for e in published if only in (None, e.qualified_name)]
    if only and not events:
        raise LocalError(
            f"unknown event {only!r} or not on a topic; the rehearsal publishes on SNS: "
            f"{', '.join(e.qualified_name for e in published)}"
        )
    for event in events:
        examples = [payload] if payload is not None else list(event.latest.examples)
        chosen = range(len(examples)) if index is None else [index]
        for position in chosen:
            if not 0 <= position < len(examples):
                raise LocalError(f"{event.qualified_name} has {len(examples)} examples; --index {position} is out")
            for _ in range(count):
                envelope_event, envelope = publisher.envelope(event.qualified_name, examples[position])
                message = publisher.sns_message(envelope_event, envelope)
                publisher.sns.publish(TopicArn=publisher.topic_arn(event.domain), **message)
                sent.append(
                    Sent(
                        event.qualified_name,
                        position,
                        envelope["id"],
                        expected_consumers(catalog, event.qualified_name, message),
                    )
                )
    return sent


@dataclass
class Report:
    sent: list[Sent]
    delivered: dict[str, list[str]]  # consumer -> event ids its handler saw
    tallies: dict[str, runner.Tally]
    dlq_depth: dict[str, int]
    handled: dict[str, set[str]] = field(default_factory=dict)  # consumer -> event ids handled successfully

    def rows(self) -> list[tuple[str, int, str, str, str, bool]]:
        """(event, example, expected consumers, actual consumers, outcome per consumer, held) per published event."""
        rows = []
        for item in self.sent:
            actual = {c for c, ids in self.delivered.items() if item.event_id in ids}
            outcome = [
                f"{'handled' if item.event_id in self.handled.get(c, set()) else 'FAILED'}" for c in sorted(actual)
            ]
            rows.append(
                (
                    item.event,
                    item.example,
                    "\n".join(sorted(item.expected)) or "-",
                    "\n".join(sorted(actual)) or "-",
                    "\n".join(outcome) or "-",
                    actual == item.expected,
                )
            )
        return rows

    @property
    def all_handled(self) -> bool:
        return all(t.failed == 0 for t in self.tallies.values()) and not any(self.dlq_depth.values())

    @property
    def routing_held(self) -> bool:
        return all(row[-1] for row in self.rows())


def run(root: Path, sent: list[Sent], timeout: float = 120.0) -> Report:
    """Drain every consumer queue through its handler; report where each published event went."""
    catalog, connection = connect(root)
    deployed = deployed_consumers(root, catalog, connection)
    sqs = connection.client("sqs")
    bindings = [binding(d, connection) for d in deployed.values()]
    tallies = runner.drain(sqs, bindings, timeout=timeout)
    depth = {}
    for name, item in deployed.items():
        attributes = sqs.get_queue_attributes(QueueUrl=item.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
        depth[name] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    delivered = {name: d.received for name, d in deployed.items()}
    return Report(sent, delivered, tallies, depth, {name: d.handled for name, d in deployed.items()})


def redrive(root: Path, consumer: str) -> int:
    catalog, connection = connect(root)
    deployed = deployed_consumers(root, catalog, connection)
    matches = [d for name, d in deployed.items() if consumer in (name, name.split("/", 1)[1])]
    if len(matches) != 1:
        raise LocalError(f"unknown consumer {consumer!r}; deployed: {', '.join(sorted(deployed))}")
    item = matches[0]
    if item.consumer.delivery == "push":
        raise LocalError(
            f"{item.consumer.qualified_name} is a push consumer: its DLQ holds Lambda's failure records (the event is "
            "under requestPayload), not queue messages; publish the event again once the handler is fixed"
        )
    return runner.redrive(connection.client("sqs"), item.dlq_url, item.dlq_arn, item.queue_arn, item.queue_url)
