"""The deployed topology, proven on the embedded AWS: real Terraform applied the local stacks onto a moto server.

One deployment serves every test here (session fixture on a copy of the project); each test drains what it
published, so they do not see each other's messages.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventform.catalog import routing
from eventform.local import embedded as local
from eventform.local import rehearsal, runner
from tests.conftest import copy_project, require_terraform


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_terraform()
    root = copy_project(tmp_path_factory.mktemp("rehearsal"))
    try:
        local.up(root)
        yield root
    finally:
        local.down(root)


@pytest.fixture
def connected(deployed: Path) -> tuple[Any, rehearsal.Connection, dict[str, rehearsal.DeployedConsumer]]:
    catalog, connection = rehearsal.connect(deployed)
    return catalog, connection, rehearsal.deployed_consumers(deployed, catalog, connection)


def test_every_example_reaches_exactly_the_consumers_the_catalog_implies(deployed: Path) -> None:
    catalog, connection = rehearsal.connect(deployed)
    sent = rehearsal.publish_examples(catalog, connection)
    assert len(sent) == sum(len(e.latest.examples) for e in routing.topic_events(catalog))
    # The contract covers the SNS path; bus consumers are excluded explicitly (eventform.local.rehearsal's docstring).
    covered = {c.qualified_name for c in routing.topic_consumers(catalog)}
    assert covered == {
        "inventory/reserve-stock",
        "notifications/send-email",
        "payments/ledger",
        "payments/settlement",  # a queue without handler (the settle-captures pipe drains it): received, acked
        "users/crm-sync",
    }
    report = rehearsal.run(deployed, sent)
    mismatches = [row for row in report.rows() if not row[-1]]
    assert not mismatches, mismatches
    # The contract is not vacuous: some examples are filtered away from a consumer of their event type, and every
    # consumer receives at least one example.
    filtered = [s for s in sent if s.expected != {c.qualified_name for c in catalog.consumers_of(s.event)} & covered]
    assert filtered, "the sample catalog should hold an example that a filter policy keeps from a consumer"
    assert {c for c, ids in report.delivered.items() if ids} == covered
    assert all(t.failed == 0 for t in report.tallies.values()), {n: t.errors for n, t in report.tallies.items()}
    assert set(report.dlq_depth.values()) == {0}


def _one_example(catalog: Any, connection: rehearsal.Connection, event: str) -> rehearsal.Sent:
    return rehearsal.publish_examples(catalog, connection, only=event, index=0)[0]


def test_a_poison_message_lands_in_the_dlq_and_redrive_brings_it_back(connected, deployed: Path) -> None:
    catalog, connection, consumers = connected
    target = consumers["inventory/reserve-stock"]
    sqs = connection.client("sqs")
    sent = _one_example(catalog, connection, "orders/order.created")
    assert target.consumer.qualified_name in sent.expected
    others = [rehearsal.binding(d, connection) for name, d in consumers.items() if name != "inventory/reserve-stock"]
    runner.drain(sqs, others)

    def poisoned(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    real = rehearsal.binding(target, connection)
    tally = runner.drain(sqs, [runner.QueueBinding(real.consumer, real.queue_url, real.queue_arn, poisoned)])
    redrive_policy = sqs.get_queue_attributes(QueueUrl=target.queue_url, AttributeNames=["RedrivePolicy"])
    max_receives = int(json.loads(redrive_policy["Attributes"]["RedrivePolicy"])["maxReceiveCount"])
    assert tally[real.consumer].failed == max_receives  # received and failed max_receive_count times...
    assert _depth(sqs, target.dlq_url) == 1  # ...then moto's redrive policy moved it to the DLQ
    alarms = connection.client("cloudwatch").describe_alarms()["MetricAlarms"]
    dlq_name = target.dlq_url.rsplit("/", 1)[1]
    watching = [a for a in alarms if {"Name": "QueueName", "Value": dlq_name} in a["Dimensions"]]
    assert watching and watching[0]["MetricName"] == "ApproximateNumberOfMessagesVisible"

    assert rehearsal.redrive(deployed, "inventory/reserve-stock") == 1
    assert _depth(sqs, target.dlq_url) == 0
    handled = runner.drain(sqs, [real])[real.consumer]
    assert (handled.received, handled.succeeded, handled.failed) == (1, 1, 0), handled.errors
    assert target.received[-1] == sent.event_id


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_nothing_is_lost_when_a_handler_fails_transiently(connected) -> None:
    """N orders, a handler failing 30% of deliveries at random: every order is handled once or dead-lettered."""
    catalog, connection, consumers = connected
    target = consumers["inventory/reserve-stock"]
    sqs = connection.client("sqs")
    others = [rehearsal.binding(d, connection) for name, d in consumers.items() if name != "inventory/reserve-stock"]
    orders = 40
    sent = rehearsal.publish_examples(catalog, connection, only="orders/order.created", index=0, count=orders)
    ids = {s.event_id for s in sent}
    real = rehearsal.binding(target, connection)
    chance = random.Random(7)

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failing = [r for r in event["Records"] if chance.random() < 0.3]
        passing = [r for r in event["Records"] if r not in failing]
        result = real.handler({"Records": passing}, context) if passing else {"batchItemFailures": []}
        failures = [{"itemIdentifier": r["messageId"]} for r in failing]
        return {"batchItemFailures": result["batchItemFailures"] + failures}

    runner.drain(sqs, others)
    before = _idempotency_records(connection, target)
    tally = runner.drain(sqs, [runner.QueueBinding(real.consumer, real.queue_url, real.queue_arn, flaky, 10)])
    stats = tally[real.consumer]
    assert stats.failed > 0, "the flaky handler should have failed some deliveries"
    dead = _depth(sqs, target.dlq_url)
    assert stats.succeeded + dead == orders, (stats, dead)
    # The idempotency table gained one completed record per event the handler processed: none was processed twice.
    after = _idempotency_records(connection, target)
    new_records = {key: status for key, status in after.items() if key not in before}
    assert set(new_records.values()) == {"COMPLETED"}, new_records
    assert len(new_records) == len(target.handled & ids) == stats.succeeded
    assert target.handled >= ids or dead > 0


def _idempotency_records(connection: rehearsal.Connection, target: rehearsal.DeployedConsumer) -> dict[str, str]:
    """Idempotency record key -> status, for this consumer's records (keys are prefixed by the consumer's name)."""
    pages = (
        connection.client("dynamodb").get_paginator("scan").paginate(TableName=target.environment["IDEMPOTENCY_TABLE"])
    )
    prefix = f"{target.consumer.qualified_name}#"
    return {
        item["id"]["S"]: item.get("status", {}).get("S", "")
        for page in pages
        for item in page["Items"]
        if item["id"]["S"].startswith(prefix)
    }


def test_an_object_reaches_its_consumers_by_s3_notification_and_by_the_default_bus(connected) -> None:
    """S3 -> the indexer's queue (prefix/suffix filtered) -> its handler reads the object; a permanent delete ->
    EventBridge's default bus -> the removals consumer's rule -> its queue. Both arrive as object CloudEvents."""
    from eventform.runtime.handler import unwrap

    _, connection, consumers = connected
    s3, sqs, ssm = connection.client("s3"), connection.client("sqs"), connection.client("ssm")
    bucket = ssm.get_parameter(Name="/eventform/local/payments/buckets/invoices")["Parameter"]["Value"]
    indexer, removals = consumers["payments/index-invoice"], consumers["payments/invoice-removals"]
    written = s3.put_object(Bucket=bucket, Key="invoices/INV 2026-1.pdf", Body=b"%PDF-1.7 invoice")
    s3.put_object(Bucket=bucket, Key="drafts/INV 2026-2.txt", Body=b"draft")  # neither prefix nor suffix matches

    tally = runner.drain(sqs, [rehearsal.binding(indexer, connection)])[indexer.consumer.qualified_name]
    # the invoice is handled (plus S3's test event from the configuration, unless an earlier test drained it)
    assert tally.failed == 0 and tally.succeeded in (1, 2), tally.errors
    assert len(indexer.handled) == 1
    table = indexer.environment["INVOICES_TABLE"]
    items = connection.client("dynamodb").scan(TableName=table)["Items"]
    assert [(i["pk"]["S"], i["key"]["S"], i["size"]["N"]) for i in items] == [
        ("INV 2026-1", "invoices/INV 2026-1.pdf", "16")  # the key decoded from S3's URL encoding
    ]

    s3.delete_object(Bucket=bucket, Key="invoices/INV 2026-1.pdf", VersionId=written["VersionId"])
    received = sqs.receive_message(QueueUrl=removals.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=5)
    events = [unwrap(m["Body"]) for m in received.get("Messages", [])]
    assert [(e.type, e.data["bucket"], e.data["key"]) for e in events] == [
        ("object.removed", bucket, "invoices/INV 2026-1.pdf")
    ]
    assert _depth(sqs, indexer.queue_url) == 0  # a removal is not an object.created for the indexer
