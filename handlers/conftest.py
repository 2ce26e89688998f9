"""Fixtures for handler tests: moto for every AWS service, and real SNS -> SQS deliveries of catalog events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from eventform.catalog import filters
from eventform.catalog.loader import load
from eventform.catalog.model import Catalog
from eventform.local.runner import LambdaContext
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
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
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
