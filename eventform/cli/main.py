"""The ``eventform`` command line: synth, lint, validate and the toolchain set-up."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from eventform.catalog.errors import CatalogError
from eventform.cli import authoring as cli_authoring
from eventform.cli import boundary, cdktn_app, cost_command, selection, views
from eventform.cli import deploy as cli_deploy
from eventform.cli.authoring import RootOption
from eventform.cli.authoring import project_root as _root
from eventform.synthesis import toolchain

if TYPE_CHECKING:
    pass

app = typer.Typer(
    help="eventform: one event catalog becomes SNS, SQS, EventBridge, Lambda and IAM Terraform for every environment.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
    cls=boundary.BoundaryGroup,
)
console = Console(emoji=False)  # never turn an ARN's :secret: into an emoji
errors = Console(stderr=True, emoji=False)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON on stdout instead of tables: every value whole, for scripts.")
]


def _running(root: Path | None) -> Path:
    """The project root, once its embedded AWS is known to be up when `local up` left an endpoint for it."""
    from eventform.local import embedded as local

    project = _root(root)
    paths = local.LocalPaths(project)
    url = local.endpoint(paths)
    if url is not None and local.server_pid(paths) is None:
        raise boundary.EmbeddedAwsDownError(url)
    return project


def _print_version(requested: bool) -> None:
    if requested:
        from importlib.metadata import version

        console.print(f"eventform {version('eventform')}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def options(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print eventform's version and exit."),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=boundary.DEBUG_VARIABLE,
            help="Show the traceback of a failure instead of the one-line message (exit codes: see README).",
        ),
    ] = False,
) -> None:
    """eventform: one event catalog becomes SNS, SQS, EventBridge, Lambda and IAM Terraform for every environment."""
    ctx.meta[boundary.DEBUG_KEY] = debug


def _fail(error: CatalogError) -> None:
    errors.print(str(error), markup=False, highlight=False, soft_wrap=True)
    errors.print("Nothing was written.", style="bold red")
    raise typer.Exit(1)


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


def _waves(project: Path, stacks: list) -> dict[str, int]:
    """Deploy waves of the synthesized stacks, counted over every stack of their environments (a stack synthesized
    alone still shows its place in the order)."""
    from eventform.catalog.loader import load
    from eventform.synthesis.app import plan_stacks

    catalog, environments = load(project, sorted({s.environment.name for s in stacks}))
    return views.deploy_waves(plan_stacks(catalog, environments))


def stack_summary(stack_dir: Path) -> Counter[str]:
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    return Counter({kind: len(items) for kind, items in config.get("resource", {}).items()})


@app.command()
def synth(
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="Environment(s) to build; default: all.")] = None,
    stack: Annotated[
        list[str] | None, typer.Option("--stack", "-s", help="Stack(s) to build, e.g. dev-orders.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory (default: cdktf.out).")] = None,
    root: RootOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate the catalog and synthesize Terraform JSON into cdktf.out/stacks/<env>-<domain>/."""
    from eventform.synthesis.app import synthesize

    project = _root(root)
    try:
        selection.check(project, env, stack)
        endpoint = cdktn_app.local_endpoint(project)  # EVENTFORM_LOCAL_ENDPOINT, as for `cdktn synth`
        with console.status("Synthesizing (loading the AWS bindings takes a few seconds)..."):
            result = synthesize(project, out, env, stack, endpoint)
    except CatalogError as error:
        _fail(error)
    waves = _waves(project, result.stacks)
    if as_json:
        views.print_json(
            {
                "outdir": str(result.outdir),
                "stacks": [
                    {
                        "name": p.name,
                        "wave": waves[p.name],
                        "depends_on": list(p.depends_on),
                        "resources": stack_summary(result.outdir / "stacks" / p.name),
                    }
                    for p in result.stacks
                ],
            }
        )
        return
    table = Table(
        title=f"Synthesized {selection.plural(len(result.stacks), 'stack')} in {result.seconds:.1f}s -> {result.outdir}"
    )
    table.add_column("stack")
    table.add_column("wave", justify="right")  # deploy order: a stack after every stack of a lower wave
    table.add_column("resources", justify="right")
    table.add_column("what", overflow="fold")
    total = 0
    for planned in sorted(result.stacks, key=lambda p: (p.environment.name, waves[p.name], p.name)):
        counts = stack_summary(result.outdir / "stacks" / planned.name)
        total += sum(counts.values())
        what = ", ".join(f"{n} {kind.removeprefix('aws_')}" for kind, n in sorted(counts.items()))
        table.add_row(planned.name, str(waves[planned.name]), str(sum(counts.values())), what)
    table.add_row("[bold]total", "", f"[bold]{total}", "")
    console.print(table)


@app.command()
def lint(
    root: RootOption = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Git ref to check schema compatibility against, e.g. origin/main."),
    ] = None,
    matrix: Annotated[
        bool,
        typer.Option(
            "--matrix", help="Also print EventBridge consumers x catalog examples and the rendered target inputs."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Validate the catalog and every environment; print what the catalog declares."""
    from eventform.catalog.loader import load

    try:
        catalog, environments = load(_root(root))
        if base:
            from eventform.catalog.compat import compatibility_problems

            incompatible = compatibility_problems(_root(root), catalog, base)
            if incompatible:
                raise CatalogError(incompatible)
    except CatalogError as error:
        _fail(error)
    if as_json:
        views.print_json(views.catalog_json(catalog, [e.name for e in environments]))
        return
    table = Table(
        title=f"Catalog OK: {selection.plural(len(catalog.domains), 'domain')}, "
        f"{selection.plural(len(catalog.events), 'event')}, {selection.plural(len(catalog.consumers), 'consumer')}, "
        "environments: {', '.join(e.name for e in environments)}"
    )
    table.add_column("event")
    table.add_column("versions")
    table.add_column("channel")
    table.add_column("consumers", overflow="fold")
    for event in catalog.events:
        channel = " + ".join(views.channels(catalog, event))
        consumers = ", ".join(c.qualified_name for c in catalog.consumers_of(event.qualified_name)) or "-"
        table.add_row(event.qualified_name, ", ".join(f"v{v.number}" for v in event.versions), channel, consumers)
    console.print(table)
    if matrix:
        views.print_matrix(console, catalog)


@app.command()
def validate(
    stack: Annotated[list[str] | None, typer.Option("--stack", "-s", help="Only these stacks.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Synthesized output (default: cdktf.out).")] = None,
    root: RootOption = None,
) -> None:
    """Run `terraform init -backend=false` + `terraform validate` on synthesized stacks."""
    project = _root(root)
    stacks_dir = (out or project / "cdktf.out") / "stacks"
    if not stacks_dir.is_dir():
        errors.print(f"{stacks_dir} does not exist: run `eventform synth` first.")
        raise typer.Exit(1)
    available = sorted(p for p in stacks_dir.iterdir() if (p / "cdk.tf.json").is_file() and p.name[0] != ".")
    chosen = [p for p in available if not stack or p.name in stack]
    missing = sorted(set(stack or ()) - {p.name for p in available})
    try:
        selection.check(project, stacks=missing)  # a name no environment or domain makes
    except CatalogError as error:
        _fail(error)
    if missing:
        names = [p.name for p in available]
        guess = [f"{m} -> {selection.closest(m, names)}" for m in missing if selection.closest(m, names)]
        errors.print(
            f"not synthesized yet: {', '.join(missing)} (synthesized: {', '.join(names)})\n"
            f"    fix: {'did you mean ' + ', '.join(guess) + '? or ' if guess else ''}"
            f"run `eventform synth --stack {' --stack '.join(missing)}` first",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    with console.status(f"terraform validate on {len(chosen)} stacks..."):
        results = toolchain.validate_stacks(chosen, project)  # no terraform: the boundary says so (exit 72)
    table = Table(title="terraform validate")
    for column in ("stack", "result", "aws provider constraint used"):
        table.add_column(column)
    for result in results:
        table.add_row(result.stack, "[green]valid" if result.ok else "[red]invalid", result.provider_constraint)
    console.print(table)
    failed = [r for r in results if not r.ok]
    for result in failed:
        errors.print(f"--- {result.stack}\n{result.output}", markup=False)
    if failed:
        raise typer.Exit(1)


@app.command()
def scan(
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="Only these environments.")] = None,
    stack: Annotated[list[str] | None, typer.Option("--stack", "-s", help="Only these stacks.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Synthesized output (default: cdktf.out).")] = None,
    reports: Annotated[Path | None, typer.Option("--reports", help="Report folder (default: reports).")] = None,
    today: Annotated[
        str | None, typer.Option("--today", help="Judge waiver expiry as of this YYYY-MM-DD (default: today).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="checkov worker processes.")] = 2,
    root: RootOption = None,
) -> None:
    """checkov (built-in + policies/) and eventform's cross-resource checks over synthesized stacks, offline."""
    from datetime import date

    from eventform.catalog.loader import load
    from eventform.compliance.reports import write_reports
    from eventform.compliance.scan import ScanConfig, ScanError
    from eventform.compliance.scan import scan as run_scan
    from eventform.compliance.view import print_report

    project = _root(root)
    try:
        selection.check(project, env, stack)
        catalog, environments = load(project)
    except CatalogError as error:
        _fail(error)
    config = ScanConfig(
        root=project,
        stacks_dir=(out or project / "cdktf.out") / "stacks",
        reports_dir=reports or project / "reports",
        today=date.fromisoformat(today) if today else date.today(),
        jobs=jobs,
        stacks=tuple(stack or ()),
        environments=tuple(env or ()),
    )
    try:
        with console.status("Scanning with checkov (offline) and eventform's policies..."):
            report = run_scan(config, catalog, environments)
    except ScanError as error:
        errors.print(str(error), markup=False)
        raise typer.Exit(2) from error
    paths = write_reports(report, config.reports_dir, config.stacks_dir, project)
    print_report(report, console, paths)
    if not report.ok:
        raise typer.Exit(1)


@app.command("toolchain")
def toolchain_command(root: RootOption = None) -> None:
    """Write the project's Terraform CLI config (.cache/terraform.rc) and show the tools in use."""
    project = _root(root)
    path = toolchain.write_cli_config(project)
    mirror = toolchain.find_mirror()
    console.print(f"Terraform CLI config: {path}")
    console.print(
        f"provider mirror: {mirror or 'none (the public registry)'}"
        f"{' with hashicorp/aws ' + ', '.join(toolchain.mirrored_aws_versions(mirror)) if mirror else ''}"
    )
    console.print(f"terraform: {toolchain.terraform_binary() or 'NOT FOUND'}")
    console.print(f"node for jsii and cdktn: {toolchain.node22(project) or 'NOT INSTALLED (run make setup)'}")


local_app = typer.Typer(
    help="The local rehearsal: real Terraform onto an embedded AWS (moto server).", no_args_is_help=True
)
app.add_typer(local_app, name="local")


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


def main() -> None:
    """Console entry point. Synthesis re-executes under ``python -O``: the AWS bindings then skip their per-call
    runtime type checks (our input is already validated by the loader), which saves ~30% of construct time.
    Signals become exceptions here (see :mod:`eventform.cli.boundary`), so every rollback runs."""
    command = next((word for word in sys.argv[1:] if not word.startswith("-")), "")
    if command == "synth" and not sys.flags.optimize and not os.environ.get("EVENTFORM_NO_OPTIMIZE"):
        os.execv(sys.executable, [sys.executable, "-O", "-m", "eventform.cli.main", *sys.argv[1:]])
    boundary.install_signal_handlers()
    code: int | str | None = 0
    try:
        app(prog_name="eventform")  # also after the re-exec of synth under python -O
    except SystemExit as done:
        code = done.code
    except KeyboardInterrupt:  # arrived while typer built the commands, outside any command
        code = boundary.EXIT_CODES["SIGINT"]
    boundary.finish(code)


dlq_app = typer.Typer(help="Dead-letter queues.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


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


cli_authoring.register(app)  # add, docs, diff, export (eventform/cli/authoring.py)
cost_command.register(app)  # cost (eventform/cli/cost_command.py)
cli_deploy.register(app)  # deploy, destroy (eventform/cli/deploy.py)

if __name__ == "__main__":
    main()
