"""The deployed topology, proven on the embedded AWS: real Terraform applied the local stacks onto a moto server.

One deployment serves every test here (session fixture on a copy of the project); each test drains what it
published, so they do not see each other's messages.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from eventform.catalog import routing
from eventform.local import embedded as local
from eventform.local import rehearsal, report, runner
from eventform.local.sending import Channels, Sent
from tests.conftest import copy_project, require_terraform


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_terraform()
    root = copy_project(tmp_path_factory.mktemp("rehearsal"))
    try:
        local.up(root)
        yield root
    finally:
        local.down(root)  # stops the embedded AWS, and with it every resource (no stack-by-stack destroy)


@pytest.fixture
def connected(deployed: Path) -> tuple[Any, rehearsal.Connection, dict[str, rehearsal.DeployedConsumer]]:
    catalog, connection = rehearsal.connect(deployed)
    return catalog, connection, rehearsal.deployed_consumers(deployed, catalog, connection)


def test_terraform_plans_no_change_right_after_up(deployed: Path) -> None:
    """No drift: what the provider reads back from the embedded AWS equals what was applied, for every stack (first
    in this module, so that nothing the other tests do can hide or cause a difference)."""
    paths = local.LocalPaths(deployed)
    changed = {}
    stacks = local.deployed_stacks(paths)

    def plan(stack: str) -> subprocess.CompletedProcess[str]:
        return local._terraform(paths, stack, "plan", "-detailed-exitcode", "-lock=false")

    with ThreadPoolExecutor(max_workers=max(1, len(stacks))) as pool:  # each plan mostly waits on the embedded AWS
        plans = list(pool.map(plan, stacks))
    for stack, result in zip(stacks, plans, strict=True):
        if result.returncode != 0:
            changes = [line for line in result.stdout.splitlines() if line.strip().startswith(("#", "~", "+", "-"))]
            changed[stack] = "\n".join(changes)[-3000:] + result.stderr[-1000:]
    assert not changed, changed


def test_the_rehearsal_exercises_every_channel_and_every_consumer_of_the_sample(deployed: Path) -> None:
    catalog, _ = rehearsal.connect(deployed)
    sent, result = report.rehearse(deployed)
    assert result.failures == [], result.failures
    # Every example of every version on every channel its event travels, FIFO groups, objects, schedules.
    examples = sum(len(v.examples) * len(routing.channels(e)) for e in catalog.events for v in e.versions)
    assert len([s for s in sent if s.channel in ("topic", "bus")]) == examples
    assert {s.channel for s in sent} == {
        "topic",
        "bus",
        "fifo",
        "object",
        "schedule",
        "stream",
        "table",
        "http",
        "workflow",
    }
    # Not vacuous: all fifteen consumers received something, some example is filtered away from a consumer of its
    # event, and every target of the fan-out rule got a payload.
    assert len(result.coverage) == 15 and all(result.coverage.values()), result.coverage
    assert any(r.expected is False and r.delivered is False for r in result.rows) or any(
        s.expected != {c.qualified_name for c in catalog.consumers_of(s.event)} for s in sent if s.channel == "topic"
    )
    fanout = {r.receiver.target for r in result.rows if r.receiver.consumer == "users/customer-fanout" and r.delivered}
    assert fanout == {"crm", "onboarding", "analytics", "stream", "partner"}
    # A transformed payload is what lint --matrix renders for that example (the sample's SNS alert).
    from eventform.catalog.buses import rendered_inputs

    predicted = {text for consumer, target, *_, text in rendered_inputs(catalog) if target == "risk-topic"}
    risk = [r for r in result.rows if r.receiver.target == "risk-topic" and r.delivered]
    assert risk and all(r.payload in predicted and "as predicted" in r.outcome for r in risk)
    # FIFO: the ledger handled one order's events in the order they were published.
    assert any(o.consumer == "payments/ledger" and len(o.sent) >= 3 for o in result.orders)
    assert all(o.held for o in result.orders)
    # The stream: every example of its events put on it; the mapping's filter keeps US orders from order-metrics,
    # whose handler counted every other one.
    on_stream = [s for s in sent if s.channel == "stream"]
    stream_events = catalog.domain("orders").streams[0].events
    assert len(on_stream) == sum(len(v.examples) for q in stream_events for v in catalog.event(q).versions)
    metrics = {r.sent.event_id: r for r in result.rows if r.receiver.consumer == "orders/order-metrics"}
    for item in on_stream:
        country = next(v.examples for v in catalog.event(item.event).versions)[int(item.example.split("#")[1])]
        if country["country"] == "US":
            assert item.event_id not in metrics and item.expected == set()
        else:
            assert metrics[item.event_id].delivered and metrics[item.event_id].outcome == "handled"
    # The archive: every order event sent on the bus is in the order-archive delivery stream's bucket (by its id),
    # written by moto's Firehose, with the partition AWS would write it to.
    (archive,) = catalog.domain("orders").delivery_streams
    archived = [r for r in result.rows if r.receiver.consumer == f"archive {archive.qualified_name}"]
    # Put on the orders bus directly, or through the webhook (which puts API Gateway's request id in the envelope):
    # each such send has its own row, credited to that send, holding the envelope with that send's id.
    on_bus = [s for s in sent if s.channel == "bus" and s.event in archive.events]
    assert on_bus and {s.event_id for s in on_bus} <= {r.sent.event_id for r in archived}
    assert {r.sent.channel for r in archived} <= {"bus", "http"}
    assert len({id(r.sent) for r in archived}) == len(archived)
    assert all(
        r.delivered
        and json.loads(r.payload)["id"] == r.sent.event_id
        and f"(AWS: events/type={r.sent.event.split('/')[1]}/year=" in r.outcome
        for r in archived
    )
    # The table: each stock.reserved example written into reserve-stock's table reached the projection as that
    # event, through the table's DynamoDB stream.
    changed = [r for r in result.rows if r.sent.channel == "table"]
    examples = catalog.event("inventory/stock.reserved").latest.examples
    assert len(changed) == len(examples) and all(
        r.receiver.consumer == "inventory/stock-availability" and r.delivered and r.outcome == "handled"
        for r in changed
    )
    # HTTP ingestion: every example of order.created posted through the deployed partner-webhook reached exactly
    # the bus receivers of the envelope the deployed template built, as a put order.created does.
    posted = [s for s in sent if s.channel == "http"]
    assert [s.example for s in posted] == [
        f"v1#{i}" for i in range(len(catalog.event("orders/order.created").latest.examples))
    ]
    assert all(s.event == "orders/order.created" and s.bus_event and s.expected for s in posted)
    put = {s.example: s.expected for s in sent if s.channel == "bus" and s.event == "orders/order.created"}
    assert all(s.expected == put[s.example] for s in posted)
    assert all(r.delivered for r in result.rows if r.sent.channel == "http" and r.expected)
    # The object path: created reaches the indexer (S3 -> queue), the permanent delete the removals rule.
    objects = {(r.sent.event.split()[-1], r.receiver.consumer) for r in result.rows if r.sent.channel == "object"}
    assert {("object.created", "payments/index-invoice"), ("object.removed", "payments/invoice-removals")} <= objects


@pytest.mark.parametrize("broken", ["pattern", "transformer", "filter"])
def test_a_deployment_that_differs_from_the_catalog_is_caught(deployed: Path, broken: str) -> None:
    """Break, on the embedded AWS, a rule pattern, a target's transformer and a subscription filter in turn: the
    rehearsal fails and says what differs (then the original is put back)."""
    _, connection = rehearsal.connect(deployed)
    names = connection.names
    events, sns = connection.client("events"), connection.client("sns")
    rule = names.rule("payments", "large-orders", "orders")
    bus = names.bus("orders")
    if broken == "pattern":
        original = events.describe_rule(Name=rule, EventBusName=bus)["EventPattern"]
        wrong = {
            "source": ["com.example.orders"],
            "detail-type": ["order.created"],
            "detail": {"data": {"total": [{"numeric": [">", 1000000]}]}},
        }
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(wrong))
        restore = lambda: events.put_rule(Name=rule, EventBusName=bus, EventPattern=original)  # noqa: E731
        expected = "never reached payments/large-orders"
    elif broken == "transformer":
        targets = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
        risk = next(t for t in targets if t["Id"] == "risk-topic")
        wrong = {**risk, "InputTransformer": {**risk["InputTransformer"], "InputTemplate": '"Order <order> is fine"'}}
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[wrong])
        restore = lambda: events.put_targets(Rule=rule, EventBusName=bus, Targets=[risk])  # noqa: E731
        expected = "lint --matrix predicts"
    else:
        topic = names.topic_arn("orders", False)
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        queue = names.queue_arn(names.queue("notifications", "send-email", False))
        arn = next(s["SubscriptionArn"] for s in subscriptions if s["Endpoint"] == queue)
        original = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["FilterPolicy"]
        wrong = {"type": ["order.created"], "country": ["SE"]}  # no example is Swedish
        sns.set_subscription_attributes(
            SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=json.dumps(wrong)
        )
        restore = lambda: sns.set_subscription_attributes(  # noqa: E731
            SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=original
        )
        expected = "never reached notifications/send-email"
    try:
        _, result = report.rehearse(deployed)
    finally:
        restore()
    assert not result.held
    assert any(expected in failure for failure in result.failures), result.failures
    _, again = report.rehearse(deployed)
    assert again.failures == [], again.failures


def _publish(catalog: Any, connection: rehearsal.Connection, name: str, count: int = 1) -> list[Sent]:
    """Example 0 of ``name`` ``count`` times on its topic only."""
    channels = Channels(catalog, connection.client, connection.account, connection.region)
    event = catalog.event(name)
    return [channels.on_topic(event, event.latest.number, event.latest.examples[0], "v1#0") for _ in range(count)]


def _one_example(catalog: Any, connection: rehearsal.Connection, event: str) -> Sent:
    return _publish(catalog, connection, event)[0]


def test_a_poison_message_lands_in_the_dlq_and_redrive_brings_it_back(connected, deployed: Path) -> None:
    catalog, connection, consumers = connected
    target = consumers["inventory/reserve-stock"]
    sqs = connection.client("sqs")
    sent = _one_example(catalog, connection, "orders/order.created")
    assert target.consumer.qualified_name in sent.expected
    others = [
        rehearsal.binding(d, connection)
        for name, d in consumers.items()
        if name != "inventory/reserve-stock" and d.consumer.stream is None  # stream readers have no queue
    ]
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
    others = [
        rehearsal.binding(d, connection)
        for name, d in consumers.items()
        if name != "inventory/reserve-stock" and d.consumer.stream is None  # stream readers have no queue
    ]
    orders = 40
    sent = _publish(catalog, connection, "orders/order.created", count=orders)
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
    items = [i for i in items if i["pk"]["S"].startswith("INV")]  # the rehearsal's own object may be there too
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
