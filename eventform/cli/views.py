"""What the commands print: tables for people and JSON for scripts (kept apart so ``main`` stays the commands)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from eventform.catalog.model import Catalog
    from eventform.synthesis.app import PlannedStack


def deploy_waves(stacks: Iterable[PlannedStack]) -> dict[str, int]:
    """Deploy order per stack: the platform stack 1, a domain stack one more than the highest wave among its
    dependencies and its environment's platform stack (the README's order: platform, publishers, consumers). Stacks
    of one wave can be applied together; destroy in the reverse order."""
    return waves_of(prerequisites_of(stacks))


def prerequisites_of(stacks: Iterable[PlannedStack]) -> dict[str, set[str]]:
    """Per stack, the stacks that must exist first: its domain dependencies and, for a domain stack, its
    environment's platform stack."""
    stacks = list(stacks)
    platforms = {s.environment.name: s.name for s in stacks if s.domain is None}
    return {
        s.name: {
            *s.depends_on,
            *([platforms[s.environment.name]] if s.domain and s.environment.name in platforms else []),
        }
        for s in stacks
    }


def waves_of(prerequisites: dict[str, set[str]]) -> dict[str, int]:
    """Per stack, one more than the highest wave among the stacks it waits for (1 for none); a cycle is broken where
    it closes. Prerequisites outside the mapping are ignored."""
    waves: dict[str, int] = {}

    def wave(name: str, seen: tuple[str, ...] = ()) -> int:
        if name not in waves:
            needs = prerequisites.get(name, set())
            below = [wave(d, (*seen, name)) for d in sorted(needs) if d in prerequisites and d not in seen]
            waves[name] = 1 + max(below, default=0)
        return waves[name]

    for name in prerequisites:
        wave(name)
    return waves


def print_json(value: object) -> None:
    """Machine-readable output: sorted keys, nothing cut or wrapped, nothing else on stdout."""
    print(json.dumps(value, indent=2, sort_keys=True))


def channels(catalog: Catalog, event) -> list[str]:
    """Every way the event travels: its domain's topic and bus, the catalog streams that carry it, a table, and the
    HTTP endpoints callers send it in through."""
    from eventform.catalog.ingestion import endpoints_of

    topic = catalog.domain(event.domain).topic
    carried = [
        f"stream {d.name}/{s.name}" for d in catalog.domains for s in d.streams if event.qualified_name in s.events
    ]
    return [
        *(["FIFO topic" if topic and topic.fifo else "topic"] if "topic" in event.via else []),
        *(["bus"] if "bus" in event.via else []),
        *carried,
        *(["table"] if "table" in event.via else []),
        *(["workflow task"] if "workflow" in event.via else []),
        *(f"workflow {w.qualified_name}" for w in catalog_workflows(catalog) if event.qualified_name in w.emits),
        *(f"http {i.qualified_name}" for i in endpoints_of(catalog, event.qualified_name)),  # callers send it in
    ]


def catalog_workflows(catalog: Catalog) -> list:
    return [w for d in catalog.domains for w in d.workflows]


def workflows_json(catalog: Catalog) -> list[dict[str, object]]:
    from eventform.catalog.workflows import starters

    return [
        {
            "workflow": w.qualified_name,
            "type": w.type,
            "states": list(w.states),
            "started_by": starters(catalog, w),
            "emits": list(w.emits),
            "tasks": list(w.task_queues),
            "invokes": list(w.functions),
        }
        for w in catalog_workflows(catalog)
    ]


def print_workflows(console: Console, catalog: Catalog) -> None:
    """The catalog's workflows: what starts them, what they emit, whom they send tasks and invoke."""
    rows = workflows_json(catalog)
    if not rows:
        return
    table = Table(title=f"Workflows ({len(rows)})")
    for column in ("workflow", "type", "started by", "emits", "tasks / invokes"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["workflow"]),
            str(row["type"]),
            ", ".join(row["started_by"]) or "-",  # type: ignore[arg-type]
            ", ".join(row["emits"]) or "-",  # type: ignore[arg-type]
            ", ".join([*row["tasks"], *row["invokes"]]) or "-",  # type: ignore[misc]
        )
    console.print(table)


def receivers(catalog: Catalog, event) -> list[str]:
    """Every consumer whose handler or targets receive the event, stream and table readers included, and the
    delivery streams that archive it."""
    from eventform.catalog.deliveries import archives_of

    archived = [f"delivery stream {s.qualified_name}" for s in archives_of(catalog, event.qualified_name)]
    return [c.qualified_name for c in catalog.receivers_of(event.qualified_name)] + archived


def catalog_json(catalog: Catalog, environments: list[str]) -> dict[str, object]:
    """What `lint` prints, as data: every event with its versions, channels and consumers."""
    return {
        "domains": [d.name for d in catalog.domains],
        "environments": environments,
        "events": [
            {
                "event": e.qualified_name,
                "versions": [v.number for v in e.versions],
                "channels": channels(catalog, e),
                "consumers": receivers(catalog, e),
            }
            for e in catalog.events
        ],
        "consumers": [c.qualified_name for c in catalog.consumers],
        "workflows": workflows_json(catalog),
    }


def print_matrix(console: Console, catalog: Catalog) -> None:
    """Which catalog example each EventBridge consumer's rule delivers (EventBridge's matching), and what targets
    get."""
    from eventform.catalog.buses import example_matrix, rendered_inputs

    rows = example_matrix(catalog)
    table = Table(title=f"EventBridge patterns x catalog examples ({sum(r[3] for r in rows)} of {len(rows)} delivered)")
    for column in ("consumer", "event", "example", "delivered"):
        table.add_column(column, overflow="fold")
    for consumer, qualified, index, delivered in rows:
        rare = " (rare)" if consumer.route is not None and consumer.route.rare else ""
        table.add_row(consumer.qualified_name + rare, qualified, str(index), "yes" if delivered else "-")
    console.print(table)
    print_pipe_matrix(console, catalog)
    inputs = rendered_inputs(catalog)
    if inputs:
        rendered = Table(title="Target inputs rendered from the examples (input_path / input_transformer)")
        for column in ("consumer", "target", "event", "example", "input"):
            rendered.add_column(column, overflow="fold")
        for consumer_name, target, qualified, index, text in inputs:
            rendered.add_row(consumer_name, target, qualified, str(index), text)
        console.print(rendered)


def print_pipe_matrix(console: Console, catalog: Catalog) -> None:
    """Which catalog example passes each pipe's filters, as the pipe's source would carry it (EventBridge's
    matching)."""
    from eventform.catalog.pipe_checks import example_matrix

    rows = [(p, *row) for d in catalog.domains for p in d.pipes for row in example_matrix(catalog, p)]
    if not rows:
        return
    table = Table(title=f"Pipe filters x catalog examples ({sum(r[3] for r in rows)} of {len(rows)} pass)")
    for column in ("pipe", "event", "example", "passes"):
        table.add_column(column, overflow="fold")
    for pipe, qualified, index, passes in rows:
        table.add_row(
            pipe.qualified_name + (" (rare)" if pipe.rare else ""), qualified, str(index), "yes" if passes else "-"
        )
    console.print(table)


def print_handlers(console: Console, errors: Console, run) -> None:
    """Per consumer queue: received/succeeded/failed, DLQ depth, and every handler error with its event."""
    outcome = Table(title="Handlers (the runner plays Lambda; taps of other targets are recorded)")
    for column in ("consumer", "received", "succeeded", "failed", "in DLQ", "left"):
        outcome.add_column(column, justify="right" if column != "consumer" else "left", overflow="fold")
    for name, tally in sorted(run.tallies.items()):
        outcome.add_row(
            name,
            str(tally.received),
            str(tally.succeeded),
            str(tally.failed),
            str(run.dlq_depth.get(name, "-")),
            str(run.tallies.left.get(name, 0)),
        )
    console.print(outcome)
    for tally in run.tallies.values():
        for error in tally.errors:
            errors.print(f"handler error: {error}", markup=False, soft_wrap=True)


def print_rehearsal(console: Console, errors: Console, report) -> None:
    table = Table(title="Where everything went (expected: from the catalog; delivered: observed on the embedded AWS)")
    for column in (
        "channel",
        "event",
        "example",
        "consumer -> target",
        "expected",
        "delivered",
        "payload as delivered",
        "outcome",
    ):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        table.add_row(
            row.sent.channel,
            row.sent.event,
            row.sent.example,
            str(row.receiver),
            "yes" if row.expected else "-",
            ("yes" if row.delivered else "[red]NO") if row.expected else ("[red]UNEXPECTED" if row.delivered else "-"),
            row.payload,
            row.outcome if row.held else f"[red]{row.outcome}",
        )
    console.print(table)
    if report.orders:
        order = Table(title="FIFO order (one message group published in sequence)")
        for column in ("consumer", "group", "sent", "handled", "in order"):
            order.add_column(column, overflow="fold")
        for item in report.orders:
            order.add_row(
                item.consumer, item.group, " ".join(item.sent), " ".join(item.seen), "yes" if item.held else "[red]NO"
            )
        console.print(order)
    coverage = Table(title="Every catalog consumer received something")
    for column in ("consumer", "items received"):
        coverage.add_column(column)
    for name, count in sorted(report.coverage.items()):
        coverage.add_row(name, str(count) if count else "[red]0")
    console.print(coverage)
    print_handlers(console, errors, report.run)
    for note in report.notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)
