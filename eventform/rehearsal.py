"""The rehearsal on the embedded AWS: publish catalog examples, run the handlers, check where every event went.

The local runner (``eventform.runner``) plays Lambda: each deployed function's handler, environment variables and
batch size are read from the synthesized ``local-*`` stacks, and its queue from the SSM locator the stack wrote.
The expected routing is derived from the catalog alone (consumed events + filter policies, matched with moto's
SNS filter-policy matcher), so the rehearsal proves the deployed topology equals what the catalog says.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from eventform import filters, runner
from eventform.loader import load
from eventform.local import LOCAL_CREDENTIALS, LOCAL_ENV, LocalError, LocalPaths, deployed_stacks, endpoint
from eventform.model import Catalog, Consumer
from eventform.publisher import Publisher

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
    received: list[str] = field(default_factory=list)  # event ids seen by the handler


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
        name = f"/eventform/{LOCAL_ENV}/{consumer.domain}/consumers/{consumer.name}"
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
        )
    return found


def binding(deployed: DeployedConsumer, connection: Connection) -> runner.QueueBinding:
    """The queue binding Lambda's event source mapping would have, recording which events the handler saw."""
    from handlers.runtime import unwrap

    handler = None
    if deployed.handler_module:
        with aws_environment(connection, deployed.environment):
            handler = importlib.import_module(deployed.handler_module).lambda_handler

    def invoke(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
        for record in event["Records"]:
            with contextlib.suppress(Exception):
                deployed.received.append(unwrap(record["body"]).id)
        if handler is None:  # a queue consumed outside Lambda: acknowledge, as that service would
            return {"batchItemFailures": []}
        with aws_environment(connection, deployed.environment):
            return handler(event, context)

    return runner.QueueBinding(
        deployed.consumer.qualified_name,
        deployed.queue_url,
        deployed.queue_arn,
        invoke,
        deployed.batch_size,
        connection.region,
    )


def expected_consumers(catalog: Catalog, qualified: str, message: dict[str, Any]) -> set[str]:
    """Who should receive this SNS message, from the catalog alone (consumed events + filter policies)."""
    from moto.sns.utils import FilterPolicyMatcher

    domain = qualified.split("/", 1)[0]
    attributes = {
        k: {"Type": v["DataType"], "Value": v["StringValue"]} for k, v in message["MessageAttributes"].items()
    }
    receivers = set()
    for consumer in catalog.consumers_of(qualified):
        policy = filters.subscription_policy(list(consumer.events_from(domain)), consumer.filter)
        scope = "MessageBody" if consumer.filter_scope == "body" else "MessageAttributes"
        if FilterPolicyMatcher(policy, scope).matches(attributes, message["Message"]):
            receivers.add(consumer.qualified_name)
    return receivers


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
    events = [e for e in catalog.events if only in (None, e.qualified_name)]
    if only and not events:
        raise LocalError(
            f"unknown event {only!r}; the catalog has: {', '.join(e.qualified_name for e in catalog.events)}"
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

    def rows(self) -> list[tuple[str, int, str, str, bool]]:
        """(event, example, expected consumers, actual consumers, held) per published event."""
        rows = []
        for item in self.sent:
            actual = {c for c, ids in self.delivered.items() if item.event_id in ids}
            rows.append(
                (
                    item.event,
                    item.example,
                    ", ".join(sorted(item.expected)) or "-",
                    ", ".join(sorted(actual)) or "-",
                    actual == item.expected,
                )
            )
        return rows

    @property
    def routing_held(self) -> bool:
        return all(row[4] for row in self.rows())


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
    return Report(sent, {name: d.received for name, d in deployed.items()}, tallies, depth)


def redrive(root: Path, consumer: str) -> int:
    catalog, connection = connect(root)
    deployed = deployed_consumers(root, catalog, connection)
    matches = [d for name, d in deployed.items() if consumer in (name, name.split("/", 1)[1])]
    if len(matches) != 1:
        raise LocalError(f"unknown consumer {consumer!r}; deployed: {', '.join(sorted(deployed))}")
    item = matches[0]
    return runner.redrive(connection.client("sqs"), item.dlq_url, item.dlq_arn, item.queue_arn, item.queue_url)
