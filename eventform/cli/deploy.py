"""``eventform deploy`` and ``eventform destroy``: one environment's stacks with plain Terraform, in dependency order.

The steps are :mod:`eventform.synthesis.deployment`'s, the same that ``eventform local up`` runs: ``terraform init``
of every stack, then per stack once the stacks it depends on are done (platform first; destroy in the reverse
order) ``terraform plan -out`` (``-destroy`` for destroy), the plan's summary (to add, change, destroy), a
confirmation unless ``--auto-approve``, and ``terraform apply`` of exactly that plan. Asking, one stack at a time;
with ``--auto-approve``, every stack whose prerequisites are done at once. The first failure stops the run: stacks
not started are reported as not run, and the command exits 1 with the failed step's output. A later stack is
planned only once the stacks before it exist, because plans read earlier stacks' resources (keys, parameters)
through data sources.

Local stacks run with the embedded AWS's test credentials and none of the developer's ``AWS_*`` variables.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from eventform.catalog.errors import CatalogError, Problem
from eventform.cli import cdktn_app, selection, views
from eventform.cli.authoring import RootOption, project_root
from eventform.synthesis import provider_locks
from eventform.synthesis.deployment import Deployment, Plan, StackResult, Terraform, first_failure

console = Console(emoji=False)
errors = Console(stderr=True, emoji=False)


def terraform_runner(env: dict[str, str]) -> Terraform:
    def run(stack_dir: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
        flags = ["-input=false", "-no-color"] if args[0] != "show" else []
        command = ["terraform", f"-chdir={stack_dir}", args[0], *flags, *args[1:]]  # options before the plan file
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    return run


def stack_prerequisites(project: Path, env: str, stacks: list[str] | None) -> dict[str, set[str]]:
    """The environment's stacks (or the chosen ones), each with the chosen stacks it waits for: its domain
    dependencies and, for a domain stack, the platform stack (the deploy waves `eventform synth` prints)."""
    from eventform.catalog.loader import load
    from eventform.synthesis.app import plan_stacks

    catalog, environments = load(project, [env])
    planned = plan_stacks(catalog, environments)
    chosen = {s.name for s in planned if not stacks or s.name in stacks}
    platform = {s.name for s in planned if s.domain is None}
    return {s.name: ({*s.depends_on, *(platform if s.domain else ())}) & chosen for s in planned if s.name in chosen}


def stack_order(project: Path, env: str, stacks: list[str] | None, destroy: bool) -> list[str]:
    """The environment's stacks (or the chosen ones) by deploy wave; reversed for destroy."""
    from eventform.catalog.loader import load
    from eventform.synthesis.app import plan_stacks

    catalog, environments = load(project, [env])
    waves = views.deploy_waves(plan_stacks(catalog, environments))
    chosen = sorted((name for name in waves if not stacks or name in stacks), key=lambda n: (waves[n], n))
    return list(reversed(chosen)) if destroy else chosen


def _environment(project: Path, env: str) -> dict[str, str]:
    if env == "local":
        from eventform.local.embedded import local_terraform_environment

        return local_terraform_environment(project)
    from eventform.synthesis.toolchain import terraform_environment

    return terraform_environment(project)


def _print(results: list[StackResult], title: str) -> None:
    table = Table(title=title)
    for column in ("stack", "plan", "result", "seconds"):
        table.add_column(column, overflow="fold")
    for result in results:
        style = "red" if result.stopped_the_run else ""
        outcome = f"[{style}]{result.outcome}[/]" if style else result.outcome
        table.add_row(result.stack, str(result.plan or "-"), outcome, f"{result.seconds:.1f}")
    console.print(table)


EnvOption = Annotated[str, typer.Option("--env", "-e", help="The environment, e.g. dev or local.")]
StackOption = Annotated[list[str] | None, typer.Option("--stack", "-s", help="Only these stacks of it.")]
ApproveOption = Annotated[bool, typer.Option("--auto-approve", help="Apply each plan without asking.")]
SynthOption = Annotated[
    bool, typer.Option("--synth/--no-synth", help="Synthesize the stacks first (default) or use cdktf.out as it is.")
]


def _run(env: str, stack: list[str] | None, auto_approve: bool, synth: bool, root: Path | None, destroy: bool) -> None:
    from eventform.synthesis.app import synthesize
    from eventform.synthesis.toolchain import require_terraform

    project = project_root(root)
    verb = "destroy" if destroy else "deploy"
    try:
        selection.check(project, [env], stack)
        wrong = sorted(s for s in stack or () if not s.startswith(f"{env}-"))
        if wrong:
            raise CatalogError(
                Problem(
                    project / "environments" / f"{env}.yaml",
                    "--stack",
                    f"stack {name!r} is not a stack of --env {env}",
                    f"choose {env}'s stacks, e.g. --stack {env}-{name.split('-', 1)[-1]}, "
                    f"or --env {name.split('-')[0]}",
                )
                for name in wrong
            )
        order = stack_order(project, env, stack, destroy)
        require_terraform()
        if synth:
            with console.status(f"Synthesizing {', '.join(order)}..."):
                synthesize(project, None, [env], order, cdktn_app.local_endpoint(project))
    except CatalogError as error:
        errors.print(str(error), markup=False, highlight=False, soft_wrap=True)
        errors.print("Nothing was deployed or destroyed.", style="bold red")
        raise typer.Exit(1) from None
    stacks_dir = project / "cdktf.out" / "stacks"
    missing = [s for s in order if not (stacks_dir / s / "cdk.tf.json").is_file()]
    if missing:
        errors.print(
            f"eventform {verb}: not synthesized: {', '.join(missing)}; fix: run `eventform synth --env {env}` "
            "(or drop --no-synth)",
            markup=False,
        )
        raise typer.Exit(1)

    if not provider_locks.lock_path(project, env).is_file():  # said where the verdict is printed, never skipped
        errors.print(
            f"eventform {verb}: providers not pinned: environments/{env}.terraform.lock.hcl does not exist, so "
            f"`terraform init` takes any hashicorp/aws build that {env}'s provider_version accepts; fix: run "
            f"`eventform providers lock --env {env}` and commit the file",
            markup=False,
            soft_wrap=True,
        )

    def confirm(name: str, plan: Plan) -> bool:
        return auto_approve or typer.confirm(f"{verb} {name}: {plan}. Apply this plan?", default=False)

    results = Deployment(
        stacks_dir=stacks_dir,
        prerequisites=stack_prerequisites(project, env, stack),
        terraform=terraform_runner(_environment(project, env)),
        destroy=destroy,
        # Unattended, every stack whose prerequisites are done runs at once; asking, one plan at a time.
        workers=len(order) if auto_approve else 1,
        confirm=confirm,
        progress=lambda line: errors.print(line, markup=False, highlight=False),
    ).run()
    _print(results, f"eventform {verb} --env {env}: {selection.plural(len(order), 'stack')}")
    bad = first_failure(results)
    if bad is not None:
        if bad.output:
            errors.print(f"--- {bad.stack}\n{bad.output}", markup=False, soft_wrap=True)
        after = [r.stack for r in results if r.outcome == "not run"]
        errors.print(
            f"eventform {verb}: {bad.stack} {bad.outcome}; "
            + (f"not run: {', '.join(after)}; " if after else "")
            + f"fix: {'see the output above, fix it and' if bad.outcome == 'failed' else 'approve the plan or'} run "
            "the command again (stacks already done show no changes)",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


def deploy(
    env: EnvOption,
    stack: StackOption = None,
    auto_approve: ApproveOption = False,
    synth: SynthOption = True,
    root: RootOption = None,
) -> None:
    """Apply an environment's stacks with plain Terraform in dependency order: per stack init, plan, summary,
    apply; stops at the first failure."""
    _run(env, stack, auto_approve, synth, root, destroy=False)


def destroy(
    env: EnvOption,
    stack: StackOption = None,
    auto_approve: ApproveOption = False,
    synth: SynthOption = True,
    root: RootOption = None,
) -> None:
    """Destroy an environment's stacks with plain Terraform in reverse dependency order (plan -destroy first)."""
    _run(env, stack, auto_approve, synth, root, destroy=True)


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("destroy")(destroy)


__all__ = ["register", "stack_order", "stack_prerequisites", "terraform_runner"]
