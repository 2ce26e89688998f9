"""``eventform deploy`` and ``eventform destroy``: one environment's stacks with plain Terraform, in dependency order.

Per stack, in deploy waves (platform first, then each stack after the stacks it depends on; destroy in the reverse
order): ``terraform init``, ``terraform plan -out`` (``-destroy`` for destroy), the plan's summary (to add, change,
destroy), a confirmation unless ``--auto-approve``, then ``terraform apply`` of exactly that plan. The first
failure stops the run: the stacks after it are reported as not run, and the command exits 1 with the failed step's
output. A later stack is planned only once the stacks before it exist, because plans read earlier stacks' resources
(keys, parameters) through data sources.

Local stacks run with the embedded AWS's test credentials and none of the developer's ``AWS_*`` variables.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from eventform.catalog.errors import CatalogError, Problem
from eventform.cli import cdktn_app, selection, views
from eventform.cli.authoring import RootOption, project_root

PLAN_FILE = "eventform.tfplan"
console = Console(emoji=False)
errors = Console(stderr=True, emoji=False)


@dataclass(frozen=True)
class Plan:
    add: int = 0
    change: int = 0
    destroy: int = 0

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.destroy)

    def __str__(self) -> str:
        return "no changes" if self.empty else f"+{self.add} ~{self.change} -{self.destroy}"


@dataclass(frozen=True)
class StackResult:
    stack: str
    outcome: str  # applied | destroyed | unchanged | declined | failed | not run
    plan: Plan | None = None
    seconds: float = 0.0
    output: str = ""  # the failed step's output


Terraform = Callable[[Path, list[str]], subprocess.CompletedProcess[str]]


def plan_of(show: dict) -> Plan:
    """To add, change and destroy, from ``terraform show -json <plan>`` (a replacement counts as both)."""
    add = change = destroy = 0
    for resource in show.get("resource_changes", []):
        actions = resource.get("change", {}).get("actions", [])
        add += "create" in actions
        destroy += "delete" in actions
        change += actions == ["update"]
    return Plan(add, change, destroy)


def terraform_runner(env: dict[str, str]) -> Terraform:
    def run(stack_dir: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
        flags = ["-input=false", "-no-color"] if args[0] != "show" else []
        command = ["terraform", f"-chdir={stack_dir}", args[0], *flags, *args[1:]]  # options before the plan file
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    return run


def run_stacks(
    stacks_dir: Path,
    order: list[str],
    terraform: Terraform,
    destroy: bool = False,
    confirm: Callable[[str, Plan], bool] = lambda _stack, _plan: True,
    progress: Callable[[str], None] = lambda _: None,
) -> list[StackResult]:
    """Init, plan, confirm and apply each stack of ``order`` in turn; stop at the first failure or refusal."""
    results: list[StackResult] = []
    for index, stack in enumerate(order):
        result = _one_stack(stacks_dir / stack, stack, terraform, destroy, confirm, progress)
        results.append(result)
        if result.outcome in ("failed", "declined"):
            results += [StackResult(name, "not run") for name in order[index + 1 :]]
            break
    return results


def _one_stack(
    stack_dir: Path,
    stack: str,
    terraform: Terraform,
    destroy: bool,
    confirm: Callable[[str, Plan], bool],
    progress: Callable[[str], None],
) -> StackResult:
    started = time.perf_counter()
    plan_path = stack_dir / PLAN_FILE

    def failed(step: str, done: subprocess.CompletedProcess[str], plan: Plan | None = None) -> StackResult:
        return StackResult(
            stack, "failed", plan, time.perf_counter() - started, f"terraform {step}: {done.stdout[-2000:]}"
            f"{done.stderr[-4000:]}"
        )  # fmt: skip

    progress(f"{stack}: terraform init")
    done = terraform(stack_dir, ["init"])
    if done.returncode != 0:
        return failed("init", done)
    progress(f"{stack}: terraform plan{' -destroy' if destroy else ''}")
    done = terraform(stack_dir, ["plan", f"-out={PLAN_FILE}", "-detailed-exitcode", *(["-destroy"] if destroy else [])])
    if done.returncode not in (0, 2):
        return failed("plan", done)
    try:
        shown = terraform(stack_dir, ["show", "-json", PLAN_FILE])
        plan = plan_of(json.loads(shown.stdout)) if shown.returncode == 0 else Plan()
        if done.returncode == 0 or plan.empty:
            return StackResult(stack, "unchanged", plan, time.perf_counter() - started)
        progress(f"{stack}: {plan}")
        if not confirm(stack, plan):
            return StackResult(stack, "declined", plan, time.perf_counter() - started)
        progress(f"{stack}: terraform apply")
        done = terraform(stack_dir, ["apply", PLAN_FILE])
        if done.returncode != 0:
            return failed("apply", done, plan)
    finally:
        plan_path.unlink(missing_ok=True)
    return StackResult(stack, "destroyed" if destroy else "applied", plan, time.perf_counter() - started)


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
        style = "red" if result.outcome in ("failed", "declined") else ""
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

    def confirm(name: str, plan: Plan) -> bool:
        return auto_approve or typer.confirm(f"{verb} {name}: {plan}. Apply this plan?", default=False)

    results = run_stacks(
        stacks_dir,
        order,
        terraform_runner(_environment(project, env)),
        destroy,
        confirm,
        lambda line: errors.print(line, markup=False, highlight=False),
    )
    _print(results, f"eventform {verb} --env {env}: {selection.plural(len(order), 'stack')} in order")
    bad = next((r for r in results if r.outcome in ("failed", "declined")), None)
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


__all__ = ["Plan", "StackResult", "plan_of", "register", "run_stacks", "stack_order"]
