"""Fixtures for handler tests: moto for every AWS service, and real SNS -> SQS deliveries of catalog events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from eventform.catalog import filters, patterns
from eventform.catalog.loader import load
from eventform.catalog.model import Catalog
from eventform.local.runner import LambdaContext, sns_push_event
from eventform.runtime.handler import clients
from eventform.runtime.publisher import Publisher
from eventform.runtime.records import sqs_event

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load(ROOT)[0]


@pytest.fixture
def aws(monkeypatch) -> Iterator[Callable[[str], Any]]:
    """moto for every service; ``aws(service)`` makes a client the handlers' runtime uses too. moto's Step Functions
    interpreter is on, so a workflow's executions run (task tokens to a handler's queue, PutEvents of what it emits).
    """
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        clients.reset()

        def client(service: str) -> Any:
            made = boto3.client(service, region_name=REGION)
            clients.override(service, made)
            return made

        yield client
        clients.reset()


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext(function_name="test", timeout_seconds=30)


class Topology:
    """One consumer's slice of the catalog in moto: its source topics, its queue and DLQ, filtered subscriptions."""

    def __init__(self, aws: Callable[[str], Any], catalog: Catalog, consumer: str, max_receive_count: int = 3):
        self.sns, self.sqs = aws("sns"), aws("sqs")
        self.consumer = next(c for c in catalog.consumers if c.qualified_name == consumer)
        fifo = self.consumer.fifo
        suffix = ".fifo" if fifo else ""
        fifo_attributes = {"FifoQueue": "true"} if fifo else {}
        self.dlq_url = self.sqs.create_queue(QueueName=f"dlq{suffix}", Attributes=fifo_attributes)["QueueUrl"]
        self.dlq_arn = self._arn(self.dlq_url)
        redrive = json.dumps({"deadLetterTargetArn": self.dlq_arn, "maxReceiveCount": max_receive_count})
        self.queue_url = self.sqs.create_queue(
            QueueName=f"queue{suffix}", Attributes={**fifo_attributes, "RedrivePolicy": redrive}
        )["QueueUrl"]
        self.queue_arn = self._arn(self.queue_url)
        topics = {}
        for domain in self.consumer.source_domains():
            topic_attributes = {"FifoTopic": "true"} if fifo else {}
            topics[domain] = self.sns.create_topic(Name=f"{domain}-events{suffix}", Attributes=topic_attributes)[
                "TopicArn"
            ]
            self.sns.subscribe(
                TopicArn=topics[domain],
                Protocol="sqs",
                Endpoint=self.queue_arn,
                Attributes={
                    "RawMessageDelivery": "true",
                    "FilterPolicy": json.dumps(
                        filters.subscription_policy(list(self.consumer.events_from(domain)), self.consumer.filter)
                    ),
                    "FilterPolicyScope": "MessageBody" if self.consumer.filter_scope == "body" else "MessageAttributes",
                },
            )
        self.publisher = Publisher(catalog, "test", sns=self.sns, topic_arns=topics)

    def _arn(self, url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def receive(self, count: int = 10) -> dict[str, Any]:
        """What Lambda's event source mapping would deliver next, in Lambda's event shape."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=count, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        return sqs_event(messages, self.queue_arn, REGION)

    def depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return sum(int(v) for v in attributes.values())


@pytest.fixture
def topology(aws, catalog) -> Callable[..., Topology]:
    return lambda consumer, **options: Topology(aws, catalog, consumer, **options)


class BusTopology:
    """One bus consumer's rules in moto: a bus per source domain carrying the rule eventform generates (source,
    detail-type and the consumer's pattern), whose target is a queue. For a queue target that queue is the consumer's
    (each body is the EventBridge event); for a pushed consumer (``targets: {push: {type: lambda}}``) each body is
    exactly the event EventBridge invokes the function with."""

    def __init__(self, aws: Callable[[str], Any], catalog: Catalog, consumer: str):
        self.events, self.sqs, self.catalog = aws("events"), aws("sqs"), catalog
        self.consumer = next(c for c in catalog.consumers if c.qualified_name == consumer)
        self.queue_url = self.sqs.create_queue(QueueName="rule-target")["QueueUrl"]
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        extra = self.consumer.route.pattern if self.consumer.route else None
        buses = {}
        for domain in self.consumer.source_domains():
            buses[domain] = f"test-{domain}"
            self.events.create_event_bus(Name=buses[domain])
            pattern = patterns.rule_pattern(
                catalog.domain(domain).source, list(self.consumer.events_from(domain)), extra
            )
            self.events.put_rule(Name=f"rule-{domain}", EventBusName=buses[domain], EventPattern=json.dumps(pattern))
            self.events.put_targets(
                Rule=f"rule-{domain}", EventBusName=buses[domain], Targets=[{"Id": "target", "Arn": self.queue_arn}]
            )
        self.publisher = Publisher(catalog, "test", events=self.events, bus_names=buses)

    def put_examples(self) -> None:
        """Put every catalog example of the consumed events on its domain's bus."""
        self.publisher.put_events(
            (qualified, example)
            for qualified in self.consumer.events
            for example in self.catalog.event(qualified).latest.examples
        )

    def receive(self, count: int = 10) -> dict[str, Any]:
        """What Lambda's event source mapping delivers from the consumer's queue (a rule with a queue target)."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=count, AttributeNames=["All"]
        ).get("Messages", [])
        return sqs_event(messages, self.queue_arn, REGION)

    def pushed(self) -> list[dict[str, Any]]:
        """The events the rule delivered, each as EventBridge invokes a pushed function with it."""
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]


@pytest.fixture
def bus_topology(aws, catalog) -> Callable[[str], BusTopology]:
    return lambda consumer: BusTopology(aws, catalog, consumer)


@pytest.fixture
def sns_pushed(aws, catalog) -> Callable[[str], list[dict[str, Any]]]:
    """For a pushed SNS consumer (``delivery: push``): publish every catalog example of its events on real SNS
    topics with its filter policy and return the events Lambda is invoked with, one per delivered notification."""

    def deliveries(consumer: str) -> list[dict[str, Any]]:
        queue = Topology(aws, catalog, consumer)
        for subscription in queue.sns.list_subscriptions()["Subscriptions"]:  # whole notifications, as SNS pushes
            queue.sns.set_subscription_attributes(
                SubscriptionArn=subscription["SubscriptionArn"],
                AttributeName="RawMessageDelivery",
                AttributeValue="false",
            )
        for qualified in queue.consumer.events:
            for example in catalog.event(qualified).latest.examples:
                queue.publisher.publish(qualified, example)
        messages = queue.sqs.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        notifications = [json.loads(m["Body"]) for m in messages]
        return [sns_push_event(n, f"{n['TopicArn']}:{queue.consumer.name}") for n in notifications]

    return deliveries
