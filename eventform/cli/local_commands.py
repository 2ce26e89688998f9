"""The ``eventform local`` and ``eventform dlq`` commands: the embedded AWS (moto server) and the rehearsal on it.

Kept apart from :mod:`eventform.cli.main`, which registers them (``register(app)``); heavy imports stay inside the
commands so ``eventform --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from eventform.catalog.errors import CatalogError
from eventform.cli import boundary, cdktn_app, selection, views
from eventform.cli.authoring import RootOption
from eventform.cli.authoring import project_root as _root
from eventform.synthesis import toolchain

console = Console(emoji=False)  # never turn an ARN's :secret: into an emoji
errors = Console(stderr=True, emoji=False)
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON on stdout instead of tables: every value whole, for scripts.")
]


def _fail(error: CatalogError) -> None:
    errors.print(str(error), markup=False, highlight=False, soft_wrap=True)
    errors.print("Nothing was written.", style="bold red")
    raise typer.Exit(1)


def _running(root: Path | None) -> Path:
    """The project root, once its embedded AWS is known to be up when `local up` left an endpoint for it."""
    from eventform.local import embedded as local

    project = _root(root)
    paths = local.LocalPaths(project)
    url = local.endpoint(paths)
    if url is not None and local.server_pid(paths) is None:
        raise boundary.EmbeddedAwsDownError(url)
    return project


def _plain(error: BaseException) -> str:
    """An error for people: its message, never its Python class name (an OS error names its file)."""
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def _payload(file: Path) -> dict[str, Any]:
    """The JSON payload of ``local publish --file``; an unreadable or malformed file is named with the fix."""
    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(payload, dict):
            return payload
        kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
        where, what = str(file), f"holds {kinds.get(type(payload), 'null')}, not a JSON object"
    except (OSError, json.JSONDecodeError) as error:
        where, what = (
            (f"{file}:{error.lineno}:{error.colno}", f"not valid JSON ({error.msg})")
            if isinstance(error, json.JSONDecodeError)
            else (str(file), error.strerror or str(error))
        )
    errors.print(
        f"eventform local publish: {where}: {what}\n    fix: pass a readable file holding one JSON object "
        "(the event's payload), e.g. a copy of an entry of catalog/<domain>/<event>/v<N>.examples.json",
        markup=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)


local_app = typer.Typer(
    help="The local rehearsal: real Terraform onto an embedded AWS (moto server).", no_args_is_help=True
)


@local_app.command("up")
def local_up(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Start moto on a free loopback port, synthesize the local-* stacks and apply them in dependency waves."""
    from eventform.local import embedded as local

    project = _root(root)
    toolchain.require_terraform()  # before starting anything: no server is left behind for want of Terraform
    toolchain.ensure_jsii_node(project)
    try:
        shown = errors if as_json else console  # with --json, progress goes to stderr and stdout holds only JSON
        result = local.up(project, progress=lambda line: shown.print(line, markup=False, highlight=False))
    except local.LocalError as error:
        errors.print(str(error), markup=False, soft_wrap=True)
        raise typer.Exit(1) from error
    except CatalogError as error:
        local.down(project)
        _fail(error)
    if as_json:
        views.print_json(
            {
                "endpoint": result.endpoint,
                "stacks": [
                    {"name": n, "seconds": round(result.seconds[n], 1), "outputs": result.outputs.get(n, {})}
                    for n in result.order
                ],
            }
        )
        return
    table = Table(title=f"local environment up in {result.total_seconds:.1f}s on {result.endpoint}")
    for column in ("stack", "applied in", "outputs"):
        table.add_column(column, overflow="fold")  # ARNs wrap whole, never cut with "…" (--json: one line each)
    for name in result.order:
        outputs = "\n".join(f"{k} = {v}" for k, v in result.outputs.get(name, {}).items())
        table.add_row(name, f"{result.seconds[name]:.1f}s", outputs)
    console.print(table)


@local_app.command("publish")
def local_publish(
    event: Annotated[str | None, typer.Option("--event", help="Only this event, e.g. orders/order.created.")] = None,
    index: Annotated[int | None, typer.Option("--index", help="Only this example (0-based).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Publish this JSON payload (needs --event).")] = None,
    count: Annotated[int, typer.Option("--count", min=1, help="Publish each chosen example N times.")] = 1,
    root: RootOption = None,
) -> None:
    """Publish catalog examples (all, one event's, one by index) or a payload file on every channel of the event."""
    from eventform.local import embedded as local
    from eventform.local import rehearsal
    from eventform.local.sending import Channels
    from eventform.runtime.publisher import PublishError

    if file is not None and event is None:
        errors.print(
            f"eventform local publish: --file {file} needs --event to say which event the payload is\n"
            "    fix: add --event <domain>/<event>, e.g. --event orders/order.created",
            markup=False,
        )
        raise typer.Exit(1)
    try:
        payload = _payload(file) if file else None
        catalog, connection = rehearsal.connect(_running(root))
        channels = Channels(catalog, connection.client, connection.account, connection.region)
        sent = channels.chosen(event, index, count, payload)
    except (local.LocalError, PublishError, OSError) as error:
        errors.print(f"eventform local publish: {_plain(error)}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from error
    console.print(f"published {selection.plural(len(sent), 'event')}")


TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=1, help="Stop after this many seconds; what is left is reported (exit 1).")
]


@local_app.command("run")
def local_run(root: RootOption = None, timeout: TimeoutOption = 120.0) -> None:
    """Play Lambda: drain every consumer queue through its handler until the queues are empty (or --timeout).

    Exits 1 when a handler failed, a DLQ holds messages, or queues were not drained in time."""
    from eventform.local import embedded as local
    from eventform.local import rehearsal

    try:
        result = rehearsal.run(_running(root), timeout=timeout)
    except local.LocalError as error:
        errors.print(str(error), markup=False)
        raise typer.Exit(1) from error
    views.print_handlers(console, errors, result)
    failed = sum(t.failed for t in result.tallies.values())
    dead = sum(result.dlq_depth.values())
    if not result.tallies.drained:
        left = sum(result.tallies.left.values())
        errors.print(
            f"not drained: {selection.plural(left, 'message')} still queued after {timeout:.0f}s; "
            "run again or raise --timeout"
        )
    if failed or dead or not result.tallies.drained:
        errors.print(
            f"{selection.plural(failed, 'failed delivery', 'failed deliveries')}, "
            f"{selection.plural(dead, 'message')} in DLQs",
            style="bold red",
        )
        raise typer.Exit(1)


@local_app.command("rehearse")
def local_rehearse(root: RootOption = None, timeout: TimeoutOption = 120.0) -> None:
    """Send on every channel (every example of every version on topic and bus, FIFO groups, objects, schedules),
    run the handlers until the queues drain, and check everything against the catalog.

    Exits 1 on any failed expectation: routing, target inputs, FIFO order, a consumer that received nothing, a
    handler error, a DLQ that is not empty, queues not drained."""
    from eventform.local import embedded as local
    from eventform.local import report
    from eventform.runtime.publisher import PublishError

    project = _running(root)
    try:
        with console.status("sending on every channel and running the handlers..."):
            sent, result = report.rehearse(project, timeout=timeout)
    except (local.LocalError, PublishError) as error:
        errors.print(str(error), markup=False)
        raise typer.Exit(1) from error
    views.print_rehearsal(console, errors, result)
    if not result.held:
        for failure in result.failures:
            errors.print(f"FAILED: {failure}", markup=False, soft_wrap=True)
        errors.print(f"{selection.plural(len(result.failures), 'expectation')} failed", style="bold red")
        raise typer.Exit(1)
    consumers = len(result.coverage)
    fifo = f"; FIFO order held in {len(result.orders)} groups" if result.orders else ""
    console.print(
        f"[green]all {selection.plural(len(sent), 'item')} sent reached exactly the receivers the catalog implies; "
        f"all {selection.plural(consumers, 'consumer')} received at least one; target inputs as lint predicts{fifo}"
    )


@local_app.command("status")
def local_status(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Show whether the embedded AWS runs and what is deployed on it."""
    from eventform.local import embedded as local

    state = local.status(_root(root))
    if as_json:
        views.print_json(
            {
                "running": state.pid is not None,
                "pid": state.pid,
                "endpoint": state.endpoint,
                "stacks": state.stacks,
            }
        )
        return
    if state.pid is None:
        console.print("embedded AWS: not running")
    else:
        console.print(f"embedded AWS: running, pid {state.pid}, {state.endpoint}")
    if not state.stacks:
        console.print("deployed stacks: none")
    elif state.pid is None:  # the server kept everything in memory: these resources are gone with it
        console.print(
            f"left-over local state of {selection.plural(len(state.stacks), 'stack')} "
            "(the resources died with the embedded AWS); "
            "fix: run `eventform local down` to clear it, then `eventform local up`"
        )
        return
    for stack, count in state.stacks.items():
        console.print(f"  {stack}: {selection.plural(count, 'resource')}")


@local_app.command("start")
def local_start(root: RootOption = None) -> None:
    """Start the embedded AWS alone (nothing deployed), for `cdktn deploy` or plain Terraform by hand."""
    from eventform.local import embedded as local

    project = _root(root)
    try:
        url = local.start_server(local.LocalPaths(project))
    except local.LocalError as error:
        errors.print(f"eventform local start: {error}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from error
    credentials = " ".join(f"{k}={v}" for k, v in local.LOCAL_CREDENTIALS.items())
    console.print(f"embedded AWS listening on {url}; stop it with `eventform local down`", markup=False, soft_wrap=True)
    console.print(f"export {cdktn_app.ENDPOINT_VARIABLE}={url} {credentials}", markup=False, soft_wrap=True)


@local_app.command("down")
def local_down(root: RootOption = None) -> None:
    """Destroy the local stacks and stop the embedded AWS (safe to run twice)."""
    from eventform.local import embedded as local

    if not local.down(_root(root), progress=lambda line: console.print(line, markup=False)):
        console.print("nothing was running")


dlq_app = typer.Typer(help="Dead-letter queues.", no_args_is_help=True)


@dlq_app.command("redrive")
def dlq_redrive(
    consumer: Annotated[str, typer.Argument(help="Consumer, e.g. inventory/reserve-stock.")], root: RootOption = None
) -> None:
    """Move a consumer's dead-lettered messages back to its queue (local environment)."""
    from eventform.local import embedded as local
    from eventform.local import rehearsal

    try:
        moved = rehearsal.redrive(_running(root), consumer)
    except local.LocalError as error:
        errors.print(str(error), markup=False)
        raise typer.Exit(1) from error
    what = selection.plural(moved, "message") if moved >= 0 else "all messages"
    console.print(f"moved {what} back to {consumer}'s queue")


def register(app: typer.Typer) -> None:
    """Attach ``local`` and ``dlq`` to the main CLI."""
    app.add_typer(local_app, name="local")
    app.add_typer(dlq_app, name="dlq")
