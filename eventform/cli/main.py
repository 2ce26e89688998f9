"""The ``eventform`` command line: synth, lint, validate and the toolchain set-up."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from eventform.catalog.errors import CatalogError
from eventform.cli import authoring as cli_authoring
from eventform.cli import boundary, cdktn_app, cost_command, selection, views
from eventform.cli import deploy as cli_deploy
from eventform.cli import local_commands as cli_local
from eventform.cli import providers as cli_providers
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
        f"environments: {', '.join(e.name for e in environments)}"
    )
    for column in ("event", "versions", "channel", "consumers"):
        table.add_column(column, overflow="fold")  # names wrap whole on a narrow console, never cut with "…"
    for event in catalog.events:
        channel = " + ".join(views.channels(catalog, event))
        consumers = ", ".join(views.receivers(catalog, event)) or "-"
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


cli_local.register(app)  # local, dlq (eventform/cli/local_commands.py)
cli_authoring.register(app)  # add, docs, diff, export (eventform/cli/authoring.py)
cost_command.register(app)  # cost (eventform/cli/cost_command.py)
cli_deploy.register(app)  # deploy, destroy (eventform/cli/deploy.py)
cli_providers.register(app)  # providers lock (eventform/cli/providers.py)

if __name__ == "__main__":
    main()
