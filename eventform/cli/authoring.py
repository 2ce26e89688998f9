"""Authoring commands of the CLI: ``add``, ``docs``, ``diff`` and ``export``.

Kept apart from :mod:`eventform.cli.main` so that module only registers them (``register(app)``); each command loads
its heavy imports lazily so ``eventform --help`` stays fast.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from eventform.catalog.errors import CatalogError
from eventform.cli.selection import check as check_selection
from eventform.cli.selection import plural

console = Console(soft_wrap=True, emoji=False)  # never turn an ARN's :secret: into an emoji
errors = Console(stderr=True, soft_wrap=True, emoji=False)

add_app = typer.Typer(
    help="Scaffold a domain, an event (version), a consumer or a schedule; lint runs after every change.",
    no_args_is_help=True,
)
export_app = typer.Typer(help="Export the catalog to other formats.", no_args_is_help=True)

RootOption = Annotated[
    Path | None, typer.Option("--root", help="Project root holding catalog/ and environments/.", show_default=False)
]


def project_root(root: Path | None) -> Path:
    """The project root, after finishing what a killed `eventform add` left there (see authoring/files.py)."""
    from eventform.authoring.files import heal

    project = (root or Path.cwd()).resolve()
    for note in heal(project):
        errors.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    return project


def _fail(error: CatalogError) -> None:
    from eventform.authoring.scaffold import LintFailedError

    errors.print(str(error), markup=False, highlight=False)
    if isinstance(error, LintFailedError):
        errors.print("Lint failed after the change: it was rolled back, nothing was written.", style="bold red")
    else:
        errors.print("Nothing was written.", style="bold red")
    raise typer.Exit(1)


def _report(result, root: Path) -> None:
    for note in result.recovered:
        errors.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    for path in result.written:
        console.print(f"[green]wrote[/] {path.relative_to(root) if path.is_relative_to(root) else path}")
    catalog = result.catalog
    console.print(
        f"Catalog OK: {plural(len(catalog.domains), 'domain')}, {plural(len(catalog.events), 'event')}, "
        f"{plural(len(catalog.consumers), 'consumer')}."
    )
    console.print("[bold]Next steps:[/]")
    for number, step in enumerate(result.next_steps, 1):
        console.print(f"  {number}. {step}", markup=False, highlight=False)


@add_app.command("domain")
def add_domain(
    name: Annotated[str, typer.Argument(help="Domain name, e.g. shipping.")],
    owner: Annotated[str, typer.Option("--owner", help="Owning team, e.g. team-logistics.")],
    description: Annotated[str | None, typer.Option("--description", help="One sentence.")] = None,
    classification: Annotated[
        str, typer.Option("--classification", help="public | internal | confidential | restricted.")
    ] = "internal",
    root: RootOption = None,
) -> None:
    """Create catalog/<name>.yaml."""
    from eventform.authoring.scaffold import add_domain as scaffold

    project = project_root(root)
    try:
        result = scaffold(project, name, owner, description, classification)
    except CatalogError as error:
        _fail(error)
    _report(result, project)


@add_app.command("event")
def add_event(
    domain: Annotated[str, typer.Argument(help="Domain that publishes the event.")],
    name: Annotated[str, typer.Argument(help="<entity>.<past-tense verb>, e.g. order.shipped.")],
    version: Annotated[
        int | None, typer.Option("--version", help="Publish version N of an existing event (copies N-1).")
    ] = None,
    topic: Annotated[bool, typer.Option("--topic", help="Publish on the SNS topic (added if missing).")] = False,
    bus: Annotated[
        bool, typer.Option("--bus", help="Publish on the domain's EventBridge bus <env>-<domain> (added if missing).")
    ] = False,
    description: Annotated[str | None, typer.Option("--description", help="One sentence: the fact.")] = None,
    message_group: Annotated[
        str | None, typer.Option("--message-group", help="FIFO topics: field naming the aggregate id.")
    ] = None,
    root: RootOption = None,
) -> None:
    """Add an event (schema skeleton + one example) or a new version of one, then lint."""
    from eventform.authoring.scaffold import add_event as scaffold

    project = project_root(root)
    try:
        result = scaffold(project, domain, name, version, topic, description, message_group, bus)
    except CatalogError as error:
        _fail(error)
    _report(result, project)


@add_app.command("consumer")
def add_consumer(
    domain: Annotated[str, typer.Argument(help="Domain that owns the consumer.")],
    name: Annotated[str, typer.Argument(help="Consumer name, e.g. send-email.")],
    events: Annotated[str, typer.Option("--events", help="Comma-separated <domain>/<event> names.")],
    filter_json: Annotated[
        str | None, typer.Option("--filter", help='SNS filter policy as JSON, e.g. \'{"country": ["DE"]}\'.')
    ] = None,
    filter_scope: Annotated[str, typer.Option("--filter-scope", help="attributes | body.")] = "attributes",
    handler: Annotated[
        str | None,
        typer.Option(
            "--handler",
            help="Handler package handlers/<NAME>/ (default: the consumer name with '_'); generated with a test "
            "when new, reused when it exists.",
        ),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", help="One sentence.")] = None,
    via: Annotated[
        str, typer.Option("--via", help="topic (SNS subscriptions) | bus (EventBridge rules on the domains' buses).")
    ] = "topic",
    pattern: Annotated[
        str | None,
        typer.Option(
            "--pattern", help='With --via bus: EventBridge pattern, e.g. \'{"detail": {"data": {"country": ["DE"]}}}\'.'
        ),
    ] = None,
    push: Annotated[
        bool,
        typer.Option(
            "--push",
            help="Invoke the handler directly (SNS push; with --via bus the rule's target) instead of a queue.",
        ),
    ] = False,
    root: RootOption = None,
) -> None:
    """Add a consumer (queue + DLQ + subscriptions or rules + Lambda are generated from it) and its handler package."""
    from eventform.authoring.scaffold_routes import add_consumer as scaffold

    project = project_root(root)
    try:
        result = scaffold(
            project, domain, name, events, filter_json, filter_scope, handler, description, via, pattern, push
        )
    except CatalogError as error:
        _fail(error)
    _report(result, project)


@add_app.command("schedule")
def add_schedule(
    domain: Annotated[str, typer.Argument(help="Domain that owns the schedule.")],
    name: Annotated[str, typer.Argument(help="Schedule name, e.g. nightly-recount.")],
    expression: Annotated[
        str, typer.Option("--expression", help="cron(0 3 * * ? *), rate(1 day) or at(2026-01-01T00:00:00).")
    ],
    event: Annotated[
        str | None,
        typer.Option("--event", help="Put this bus event of the domain (or, with --consumer, invoke its handler)."),
    ] = None,
    consumer: Annotated[
        str | None, typer.Option("--consumer", help="A consumer of the domain: its handler (with --event) or queue.")
    ] = None,
    payload: Annotated[
        str | None, typer.Option("--payload", help="JSON payload (default: the event's first catalog example).")
    ] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="e.g. Europe/Berlin (default UTC).")] = None,
    window: Annotated[str | None, typer.Option("--window", help="Flexible window, e.g. 15m, or off.")] = None,
    description: Annotated[str | None, typer.Option("--description", help="One sentence: why it runs.")] = None,
    root: RootOption = None,
) -> None:
    """Add an EventBridge Scheduler schedule: an event on the domain's bus, or a consumer's handler or queue."""
    from eventform.authoring.scaffold_routes import add_schedule as scaffold

    project = project_root(root)
    try:
        result = scaffold(project, domain, name, expression, event, consumer, payload, timezone, window, description)
    except CatalogError as error:
        _fail(error)
    _report(result, project)


@export_app.command("asyncapi")
def export_asyncapi(
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("site/asyncapi"),
    root: RootOption = None,
) -> None:
    """One AsyncAPI 3.0 document per domain: <out>/<domain>.asyncapi.json."""
    from eventform.authoring.asyncapi import export
    from eventform.catalog.loader import load

    project = project_root(root)
    try:
        catalog, _ = load(project)
    except CatalogError as error:
        _fail(error)
    target = out if out.is_absolute() else project / out
    if target.exists() and not target.is_dir():
        errors.print(
            f"eventform export asyncapi: --out {target}: is a file\n    fix: remove it or choose a folder, "
            "e.g. --out site/asyncapi. Nothing was written.",
            markup=False,
        )
        raise typer.Exit(1)
    for path in export(catalog, target):
        console.print(f"[green]wrote[/] {path}")


def diff(
    base: Annotated[str, typer.Option("--base", help="Git revision to compare with, e.g. main or origin/main.")],
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="Environment(s); default: all.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the Markdown to this file.")] = None,
    full_url: Annotated[
        str | None,
        typer.Option(
            "--full-url",
            help="Where readers find the full report when the comment must be cut (e.g. the CI artifact's URL); "
            "default: the file written beside --out.",
        ),
    ] = None,
    fail_on_breaking: Annotated[
        bool, typer.Option("--fail-on-breaking", help="Exit 3 when a published schema changed incompatibly.")
    ] = False,
    full: Annotated[bool, typer.Option("--full", help="Print the whole report, however long.")] = False,
    root: RootOption = None,
) -> None:
    """Markdown for a PR comment (at most 65,536 characters; the full report beside it when longer): catalog
    changes, breaking schema changes, Terraform changes per stack (identical environments grouped)."""
    from eventform.authoring.diff import DiffError
    from eventform.authoring.diff import diff as compute
    from eventform.synthesis.lock import output_lock

    project = project_root(root)
    with output_lock(out, "diff") if out is not None else contextlib.nullcontext():
        try:
            check_selection(project, env)
            with errors.status(f"Synthesizing {base} and the working tree..."):
                report = compute(project, base, env)
        except CatalogError as error:
            _fail(error)
        except DiffError as error:
            errors.print(f"eventform diff: {error}", markup=False, highlight=False)
            raise typer.Exit(1) from error
        from eventform.authoring.diff import render_comment
        from eventform.authoring.files import write_atomic

        full_path = out.with_name(out.stem + ".full" + out.suffix) if out is not None else None
        link = full_url or (full_path.name if full_path is not None else "")
        text, cut = render_comment(report, link)
        if out is not None:
            write_atomic(out, text)
            if cut and full_path is not None:
                write_atomic(full_path, report.markdown())
                errors.print(f"the comment is cut to fit a pull-request comment; the full report is {full_path}")
    print(report.markdown() if full else text)
    if fail_on_breaking and report.has_breaking:
        raise typer.Exit(3)


def docs(
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("site"),
    root: RootOption = None,
) -> None:
    """Markdown + static HTML site of the catalog: domains, events, consumers, topology diagram, AsyncAPI."""
    from eventform.authoring.docs import DocsError, build
    from eventform.catalog.loader import load

    project = project_root(root)
    try:
        catalog, environments = load(project)
        result = build(catalog, environments, out if out.is_absolute() else project / out, project)
    except CatalogError as error:
        _fail(error)
    except DocsError as error:
        errors.print(f"eventform docs: {error}", markup=False)
        raise typer.Exit(1) from error
    console.print(
        f"{plural(result.pages, 'page')} (Markdown + HTML) in {result.seconds:.2f}s -> {result.out}/index.html"
    )


def register(app: typer.Typer) -> None:
    """Attach the authoring commands to the main CLI."""
    app.add_typer(add_app, name="add")
    app.add_typer(export_app, name="export")
    app.command("diff")(diff)
    app.command("docs")(docs)
