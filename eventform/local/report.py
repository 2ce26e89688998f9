"""The rehearsal's verdicts: where each sent item went against the catalog, target inputs, FIFO order, coverage.

Every verdict is computed from what was sent (with its receivers from the catalog) and what the runner and the tap
observers saw; nothing expected is derived from what was observed. A failed expectation is a line in
:attr:`Report.failures`; ``eventform local rehearse`` exits non-zero when there is any.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from eventform.catalog.model import Catalog, Consumer, Target
from eventform.catalog.naming import Names
from eventform.catalog.routing import Receiver
from eventform.local import archive_runner, taps, workflow_runner
from eventform.local.rehearsal import Arrival, DeployedConsumer, Run, connect, run
from eventform.local.sending import Channels, Sent


@dataclass(frozen=True)
class Row:
    """One (sent item, receiver): expected and/or delivered, the payload the target got, the outcome."""

    sent: Sent
    receiver: Receiver
    expected: bool
    delivered: bool
    payload: str  # the input as delivered for reshaping targets; "event" when the target gets the whole event
    outcome: str
    held: bool


@dataclass(frozen=True)
class Order:
    consumer: str
    group: str
    sent: list[str]
    seen: list[str]

    @property
    def held(self) -> bool:
        return self.seen == self.sent


@dataclass
class Report:
    rows: list[Row]
    orders: list[Order]
    coverage: dict[str, int]  # consumer -> items it received
    run: Run
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.failures


def _target(catalog: Catalog, receiver: Receiver) -> tuple[Consumer, Target | None]:
    domain, name = receiver.consumer.split("/", 1)
    consumer = next(c for c in catalog.domain(domain).consumers if c.name == name)
    target = None
    if consumer.route is not None and receiver.target is not None:
        target = next((t for t in consumer.route.targets if t.name == receiver.target), None)
    return consumer, target


def _matches(sent: Sent, arrival: Arrival) -> bool:
    if sent.body is not None:
        return arrival.body == sent.body
    if sent.object_key is not None:
        return (arrival.event_type, arrival.key) == sent.object_key
    return arrival.event_id is not None and arrival.event_id == sent.event_id


def _reshaped_match(catalog: Catalog, names: Names, sent: Sent, deployed: DeployedConsumer, arrival: Arrival) -> bool:
    """A consumer's own queue whose rule target reshapes the input carries no envelope to match by id: the body is
    matched with what this event renders to (as AWS would, or as moto does)."""
    if sent.bus_event is None or arrival.event_id is not None or deployed.target is None:
        return False
    consumer, target = _target(catalog, Receiver(deployed.consumer.qualified_name, deployed.target))
    if target is None or not (target.input_path or target.input_transformer):
        return False
    expected = taps.predicted(names, consumer, target, sent.bus_event)
    moto = taps.moto_rendering(target, sent.bus_event)
    return taps.same(expected, arrival.body) or (moto is not None and taps.same(moto, arrival.body))


def _delivered(catalog: Catalog, names: Names, sent: Sent, run: Run) -> dict[Receiver, tuple[str, str]]:
    """Receiver -> (body as delivered, outcome) for one sent item: handler queues, replayed and observed taps."""
    found: dict[Receiver, tuple[str, str]] = {}
    for deployed in run.deployed.values():
        for arrival in deployed.arrivals:
            if _matches(sent, arrival) or _reshaped_match(catalog, names, sent, deployed, arrival):
                by_target = sent.bus_event is not None
                receiver = Receiver(deployed.consumer.qualified_name, deployed.target if by_target else None)
                handled = (arrival.event_id or arrival.message_id) in deployed.handled
                outcome = "handled" if deployed.handler_module and handled else "acknowledged"
                if deployed.handler_module and not handled:
                    outcome = "FAILED"
                found[receiver] = (arrival.body, outcome)
    for key, bodies in sent.observed.items():
        consumer, _, target = key.partition(" -> ")
        for body in bodies:
            found[Receiver(consumer, target)] = (body, "recorded")
    return found


def build(catalog: Catalog, names: Names, sent: list[Sent], run: Run) -> Report:
    rows: list[Row] = []
    failures: list[str] = []
    notes: list[str] = []
    moto_differs = 0
    for item in sent:
        if item.refused is not None and item.bus_event is not None:
            culprits = _unrenderable(catalog, item)
            if culprits:  # moto cannot render a target's input for this event: not exercised, and said so
                notes.append(
                    f"NOT EXERCISED: {item.event} {item.example} on the bus: {item.refused}; moto cannot render "
                    f"the input of {', '.join(culprits)} for it (AWS can: see lint --matrix), so no target of that "
                    "bus received it locally"
                )
                rows.append(Row(item, Receiver("-"), False, False, "", "NOT EXERCISED (moto)", True))
                continue
            failures.append(f"{item.event} {item.example}: {item.refused}, and no catalog target explains it")
        delivered = _delivered(catalog, names, item, run)
        expected = set(item.targets) if item.bus_event is not None else {Receiver(c) for c in item.expected}
        if not expected and not delivered:
            rows.append(Row(item, Receiver("-"), False, False, "", "sent; no consumer in the catalog", True))
            continue
        for receiver in sorted(expected | delivered.keys(), key=str):
            body, outcome = delivered.get(receiver, ("", "-"))
            is_expected, is_delivered = receiver in expected, receiver in delivered
            payload, held = "", is_expected == is_delivered and outcome != "FAILED"
            consumer, target = _target(catalog, receiver)
            if is_delivered and target is not None and item.bus_event is not None:
                verdict, aws = taps.judge(names, consumer, target, item.bus_event, body)
                reshaped = bool(target.input_path or target.input_transformer)
                payload = body if reshaped else "event"
                outcome = f"{outcome}; {verdict}"
                if verdict == taps.MOTO_DIFFERS:
                    moto_differs += 1
                    if reshaped:
                        payload += f"\n(AWS: {aws})"
                elif verdict == taps.NOT_PREDICTED:
                    held = False
                    failures.append(
                        f"{receiver} got {body!r} for {item.event} {item.example}; lint --matrix predicts {aws!r}: "
                        "the deployed target's input path or transformer differs from the catalog"
                    )
            if not is_expected and is_delivered:
                failures.append(
                    f"{item.event} {item.example} ({item.channel}) reached {receiver}, which the catalog "
                    "does not route it to: the deployed filter, pattern or subscription differs"
                )
            elif is_expected and not is_delivered:
                failures.append(
                    f"{item.event} {item.example} ({item.channel}) never reached {receiver}, which the "
                    "catalog routes it to: the deployed filter, pattern or subscription differs"
                )
            elif outcome.startswith("FAILED"):
                failures.append(f"{receiver}'s handler failed on {item.event} {item.example} ({item.channel})")
            rows.append(Row(item, receiver, is_expected, is_delivered, payload, outcome, held))
    for pipe, seen in sorted(run.pipes.items()):
        for item in sent:
            if item.event_id in seen:
                wanted, passed = seen[item.event_id]
                outcome = "passes the filter" if passed else "filtered out"
                receiver = Receiver(f"pipe {pipe}")
                rows.append(Row(item, receiver, wanted, passed, "", outcome, wanted == passed))
                if wanted != passed:
                    failures.append(
                        f"pipe {pipe}: {item.event} {item.example} {outcome} by the deployed filter, the catalog's "
                        f"filter {'passes' if wanted else 'drops'} it: the deployed pipe differs from the catalog"
                    )
    if moto_differs:
        notes.append(
            f"{moto_differs} target inputs match AWS's rendering except where moto renders differently (moto omits "
            "`account`, ignores InputPath, writes $.time as epoch seconds): shown with AWS's text; README, local"
        )
    orders = list(_orders(sent, run))
    failures += [
        f"{o.consumer} handled group {o.group} out of order: sent {o.sent}, handled {o.seen}"
        for o in orders
        if not o.held
    ]
    coverage = _coverage(catalog, rows)
    for name, count in sorted(coverage.items()):
        consumer, _ = _target(catalog, Receiver(name))
        if count == 0 and not (consumer.rare or (consumer.route is not None and consumer.route.rare)):
            failures.append(
                f"{name} received nothing: no catalog example reaches it on any channel; add an example its "
                "filter or pattern matches (catalog/<domain>/<event>/v<N>.examples.json), or mark the consumer "
                "`rare: true` if that is intended"
            )
    failures += [f"handler error: {error}" for tally in run.tallies.values() for error in tally.errors]
    failures += [f"{name}: {depth} new messages in its DLQ" for name, depth in sorted(run.dlq_depth.items()) if depth]
    notes += [f"{name}: {depth} dead letters were already in its DLQ" for name, depth in sorted(run.dlq_before.items())]
    failures += [
        f"{name}: {left} messages still queued when the time ran out"
        for name, left in sorted(run.tallies.left.items())
        if left
    ]
    tests = sum(d.test_events for d in run.deployed.values())
    if tests:
        notes.append(f"{tests} S3 test events acknowledged, not counted as received")
    return Report(rows, orders, coverage, run, failures, notes)


def rehearse(root: Path, timeout: float = 120.0) -> tuple[list[Sent], Report]:
    """Send on every channel (topic, bus, FIFO groups, objects, schedules), reading the observed taps right after
    each bus send, then run every handler until the queues drain; the report judges all of it."""
    catalog, connection = connect(root)
    names, sqs = connection.names, connection.client("sqs")
    observed = [t for t in taps.taps(catalog, names, sqs) if not t.replayed]

    stale = sum(len(taps.take(sqs, tap)) for tap in observed)  # left by `local publish`: not this rehearsal's

    firehose = connection.client("firehose")

    def read_taps(item: Sent) -> None:  # moto delivers to SQS within PutEvents: what is there now is this event's
        for tap in observed:
            bodies = taps.take(sqs, tap)
            if bodies:
                item.observed[str(tap.receiver)] = bodies
                if archive_runner.is_archive(tap):  # on to the delivery stream, as EventBridge does in AWS
                    archive_runner.forward(firehose, names, tap, bodies)

    channels = Channels(catalog, connection.client, connection.account, connection.region, after_send=read_taps)
    sent = channels.every_example() + channels.fifo_sequences() + channels.objects("created")

    def afterwards() -> None:  # handlers of created objects may read them: removed once they ran
        sent.extend(channels.objects("removed") + channels.schedules())

    flows = workflow_runner.Rehearsal(catalog, names, connection.client("stepfunctions"), connection.endpoint, timeout)

    def start_workflows() -> None:  # each input a workflow target's tap got starts the deployed state machine
        inputs = [(k, i, b) for i in sent for k, bodies in i.observed.items() for b in bodies]
        flows.start([(k, f"{i.event} {i.example}, sent on {i.channel}", b) for k, i, b in inputs])

    steps = (afterwards, start_workflows, *[flows.next_tasks] * workflow_runner.TASK_ROUNDS)
    result = run(root, timeout=timeout, then=steps)
    executions = flows.finish()
    sent.extend(_task_items(catalog, names, executions))
    built = build(catalog, names, sent, result)
    _judge_executions(built, executions)
    _judge_archives(built, catalog, sent, archive_runner.archived(connection.client("s3"), names, catalog))
    if stale:
        built.notes.append(f"{stale} messages found in target taps before the rehearsal were discarded")
    return sent, built


def _task_items(catalog: Catalog, names: Names, executions: list[workflow_runner.Execution]) -> list[Sent]:
    """Each task message a workflow sent: the task consumer (named by the queue it went to) must handle it."""
    consumers = {names.queue(c.domain, c.physical_name, False): c for c in catalog.consumers if c.tasks}
    items = []
    for execution in executions:
        for event_type, event_id, queue_url in execution.tasks:
            consumer = consumers.get(queue_url.rsplit("/", 1)[-1])
            qualified = (
                next((q for q in consumer.events if q.endswith(f"/{event_type}")), event_type)
                if consumer
                else event_type
            )
            expected = {consumer.qualified_name} if consumer else set()
            items.append(Sent("workflow", qualified, execution.workflow.qualified_name, event_id, expected))
    return items


def _judge_executions(report: Report, executions: list[workflow_runner.Execution]) -> None:
    for execution in executions:
        held, outcome = execution.judged
        line = f"workflow {execution.workflow.qualified_name} started by {execution.started_by}: {outcome}"
        if held:
            report.notes.append(line)
        else:
            report.failures.append(f"{line}; its execution history on the embedded AWS says where")


def _judge_archives(report: Report, catalog: Catalog, sent: list[Sent], found: list[archive_runner.Archived]) -> None:
    """Each bus event a rule target sends to a catalog delivery stream is in that stream's bucket (read back)."""
    verdicts = archive_runner.verdicts(catalog, sent, found)
    for verdict in verdicts:
        held = verdict.found is not None
        payload = json.dumps(verdict.found.envelope, sort_keys=True) if verdict.found else ""
        report.rows.append(Row(verdict.sent, verdict.receiver, True, held, payload, verdict.outcome, held))
        if not held:
            item = verdict.sent
            report.failures.append(
                f"{item.event} {item.example} ({item.channel}) was sent to delivery stream {verdict.stream} but is not "
                "in its bucket: the deployed delivery stream, its rule target or forwarding differ from the catalog"
            )
    if verdicts:
        streams = sorted({v.stream for v in verdicts})
        report.notes.append(
            f"{sum(v.found is not None for v in verdicts)} of {len(verdicts)} events archived by "
            f"{', '.join(streams)}: moto's Firehose writes each batch at once, uncompressed, records concatenated, "
            "under the prefix taken literally (no dynamic partitioning); the AWS prefix of each is shown (README, "
            "local)"
        )


def _unrenderable(catalog: Catalog, item: Sent) -> list[str]:
    """The rule targets the catalog routes this event to whose input moto fails to render (moto matches first,
    then renders; one failure fails the whole PutEvents)."""
    assert item.bus_event is not None
    found = []
    for receiver in sorted(item.targets, key=str):
        _, target = _target(catalog, receiver)
        if target is not None and taps.moto_rendering(target, item.bus_event) is None:
            found.append(str(receiver))
    return found


def _orders(sent: list[Sent], run: Run) -> Iterator[Order]:
    """Per FIFO group and consumer that must receive it: the order its handler saw the events in."""
    groups: dict[str, list[Sent]] = {}
    for item in sent:
        if item.group:
            groups.setdefault(item.group, []).append(item)
    for group, items in groups.items():
        for name in sorted(set().union(*(i.expected for i in items))):
            deployed = run.deployed.get(name)
            if deployed is None:
                continue
            ids = [i.event_id for i in items if i.event_id and name in i.expected]
            seen: list[str] = []
            for event_id in deployed.received:
                if event_id in ids and event_id not in seen:
                    seen.append(event_id)
            yield Order(name, group, [_short(i) for i in ids], [_short(i) for i in seen])


def _short(event_id: str) -> str:
    return event_id[:8]


def _coverage(catalog: Catalog, rows: list[Row]) -> dict[str, int]:
    counts = {c.qualified_name: 0 for c in catalog.consumers}
    for row in rows:
        if row.delivered and row.receiver.consumer in counts:
            counts[row.receiver.consumer] += 1
    return counts
