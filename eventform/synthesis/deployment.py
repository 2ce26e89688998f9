"""Applying synthesized stacks with plain Terraform: the one deploy path behind ``eventform deploy``/``destroy`` and
``eventform local up``.

Every stack is initialised first (the first alone, then the others in parallel: a plugin cache is not safe for
concurrent first installs). Then each stack, as soon as the stacks it depends on are done: ``terraform plan -out``,
the plan's summary, a confirmation, and ``terraform apply`` of exactly that plan. Up to ``workers`` stacks run at
once. Domains that consume each other's events (a dependency cycle) cannot be ordered: their SNS topics and buses,
which the other side's subscriptions and rules need, are planned and applied first (``-target``), then the whole
stacks. With ``shared_first`` (``local up``) that step is taken for every stack another one waits for, and each
whole stack then starts as soon as the topics and buses it needs exist, not when their whole stacks are done: each
stack's own waits (SQS propagation, S3 lifecycle rules, Kinesis activation) overlap instead of adding up along
the chain of subscriptions.
After the first failure or refusal nothing new starts, what is running is waited for, and every stack not started
is "not run". Destroy runs the same steps with ``plan -destroy`` in the reverse order (a cycle is ignored: SNS
deletes a topic that still has subscriptions).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from eventform.synthesis.provider_locks import LOCK_NAME
from eventform.synthesis.toolchain import first_then_parallel

PLAN_FILE = "eventform.tfplan"
FIRST_PLAN_FILE = "eventform-first.tfplan"  # the targeted plan of resources created before the whole stacks
SHARED_TYPES = ("aws_sns_topic", "aws_cloudwatch_event_bus")  # what other stacks' subscriptions and rules need
EARLY_STEP = " (topics and buses)"  # the step name of a stack's early, targeted apply (stack names have no spaces)

# `terraform <command> <args>` run in a stack's folder; the runner adds its own flags (input, colour, parallelism).
Terraform = Callable[[Path, list[str]], subprocess.CompletedProcess[str]]
Progress = Callable[[str], None]


class CycleError(Exception):
    """Stacks wait for each other although none is on a cycle the topics-first step can break."""


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

    @property
    def stopped_the_run(self) -> bool:
        return self.outcome in ("failed", "declined")


@dataclass
class Deployment:
    """What to run and how: the stacks and what each waits for, the Terraform runner and the hooks."""

    stacks_dir: Path
    prerequisites: dict[str, set[str]]  # stack -> stacks that must be done before it
    terraform: Terraform
    destroy: bool = False
    workers: int = 1
    confirm: Callable[[str, Plan], bool] = lambda _stack, _plan: True
    progress: Progress = lambda _line: None
    started: Callable[[str], None] = lambda _stack: None  # before a stack's first plan (e.g. a journal for cleanup)
    abort: Callable[[], object] = lambda: None  # stops running Terraform when the waiting itself is interrupted
    plan_flags: tuple[str, ...] = field(default_factory=tuple)  # extra `plan` flags, e.g. -refresh=false
    # Create what other stacks need (SHARED_TYPES) first, in the stacks others wait for; a whole stack then waits
    # only for those (`local up`: every resource a consumer stack refers to in another stack is a topic or a bus).
    shared_first: bool = False
    # False: nobody reviews the plans (`local up`), so each step is one `terraform apply -auto-approve` (which plans
    # and applies in one process) instead of a saved plan and its apply: a Terraform start less per step.
    saved_plans: bool = True

    def run(self) -> list[StackResult]:
        """Every stack's result, in the order they finished, then the stacks not run."""
        order = sorted(self.prerequisites)
        self.progress(f"terraform init: {', '.join(order)}")
        inits = first_then_parallel(
            order, lambda name: (name, self.terraform(self._dir(name), _init(self._dir(name)))), self.workers
        )
        for name, done in inits:
            if done.returncode != 0:
                failed = StackResult(name, "failed", output=_output("init", done))
                return [failed, *(StackResult(other, "not run") for other in order if other != name)]
        prerequisites = {name: set(needs) & set(order) for name, needs in self.prerequisites.items()}
        if self.destroy:
            dependents = {name: {o for o, needs in prerequisites.items() if name in needs} for name in order}
            cyclic = on_a_cycle(dependents)
            prerequisites = {name: needs - cyclic if name in cyclic else needs for name, needs in dependents.items()}
        elif self.shared_first:
            return self._shared_first(order, prerequisites)
        else:
            cyclic = on_a_cycle(prerequisites)
            if cyclic:
                self.progress(f"domains consume each other's events ({', '.join(sorted(cyclic))}): creating "
                              "their topics and buses first")  # fmt: skip
                refused = self._create_first(sorted(cyclic), SHARED_TYPES)
                if refused is not None:
                    return [refused, *(StackResult(other, "not run") for other in order if other != refused.stack)]
                prerequisites = {n: needs - cyclic if n in cyclic else needs for n, needs in prerequisites.items()}
        results = in_dependency_waves(
            prerequisites,
            lambda name: self._one_stack(name),
            self._starting,
            lambda result: result.stopped_the_run,
            self.workers,
            self.abort,
        )
        finished = {r.stack for r in results}
        return [*results, *(StackResult(name, "not run") for name in order if name not in finished)]

    def _dir(self, stack: str) -> Path:
        return self.stacks_dir / stack

    def _starting(self, stack: str) -> None:
        self.started(stack)
        self.progress(f"{stack}: terraform plan{' -destroy' if self.destroy else ''}")

    def _create_first(self, stacks: list[str], types: tuple[str, ...]) -> StackResult | None:
        """A targeted plan and apply of ``types`` in each of ``stacks``, all at once (up to ``workers``); the first
        stack that fails or is refused."""
        for name in stacks:
            self.started(name)
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(stacks)))) as pool:
            results = list(pool.map(lambda name: self._early(name, types), stacks))
        return next((r for r in results if r.stopped_the_run), None)

    def _early(self, stack: str, types: tuple[str, ...]) -> StackResult:
        targets = [f"-target={address}" for address in _addresses(self._dir(stack), types)]
        if not targets:
            return StackResult(stack, "unchanged", Plan())
        return self._plan_and_apply(stack, targets, FIRST_PLAN_FILE, f"{', '.join(types)} of ")

    def _shared_first(self, order: list[str], prerequisites: dict[str, set[str]]) -> list[StackResult]:
        """One graph of steps: the topics and buses of every stack another waits for, and every whole stack, which
        waits for its own early step and those of its prerequisites. A cycle needs nothing more."""
        shared = sorted({p for needs in prerequisites.values() for p in needs})
        steps: dict[str, set[str]] = {_early_step(name): set() for name in shared}
        for name in order:
            steps[name] = {_early_step(p) for p in prerequisites[name] | ({name} & set(shared))}

        early: list[StackResult] = []

        def action(step: str) -> StackResult:
            stack = step.removesuffix(EARLY_STEP)
            if not step.endswith(EARLY_STEP):
                return self._one_stack(stack)
            result = self._early(stack, SHARED_TYPES)
            early.append(result)
            return result

        def starting(step: str) -> None:
            stack = step.removesuffix(EARLY_STEP)
            self.started(stack)
            if not step.endswith(EARLY_STEP):
                self.progress(f"{stack}: terraform apply")

        results = in_dependency_waves(steps, action, starting, lambda r: r.stopped_the_run, self.workers, self.abort)
        whole = [r for r in results if not any(r is e for e in early)]
        whole += [r for r in early if r.stopped_the_run]  # a failed early step is its stack's result
        finished = {r.stack for r in whole}
        return [*whole, *(StackResult(name, "not run") for name in order if name not in finished)]

    def _one_stack(self, stack: str) -> StackResult:
        return self._plan_and_apply(stack, [], PLAN_FILE, "")

    def _plan_and_apply(self, stack: str, targets: list[str], plan_file: str, what: str) -> StackResult:
        started = time.perf_counter()
        stack_dir = self._dir(stack)

        def result(outcome: str, plan: Plan | None = None, output: str = "") -> StackResult:
            return StackResult(stack, outcome, plan, time.perf_counter() - started, output)

        destroy = ["-destroy"] if self.destroy else []
        if not self.saved_plans:
            applied = self.terraform(stack_dir, ["apply", "-auto-approve", *destroy, *self.plan_flags, *targets])
            if applied.returncode != 0:
                return result("failed", output=_output("apply", applied))
            done = applied_summary(applied.stdout)
            self.progress(f"{what}{stack}: {done} in {time.perf_counter() - started:.1f}s")
            return result("unchanged" if done.empty else "destroyed" if self.destroy else "applied", done)
        planned = self.terraform(
            stack_dir, ["plan", f"-out={plan_file}", "-detailed-exitcode", *destroy, *self.plan_flags, *targets]
        )
        try:
            if planned.returncode not in (0, 2):
                return result("failed", output=_output("plan", planned))
            summary = summary_of(planned.stdout)
            if summary is None:  # no summary line in the output: ask Terraform for the plan itself
                shown = self.terraform(stack_dir, ["show", "-json", plan_file])
                summary = plan_of(json.loads(shown.stdout)) if shown.returncode == 0 else Plan()
            plan = summary
            if planned.returncode == 0 or plan.empty:
                return result("unchanged", plan)
            self.progress(f"{what}{stack}: {plan}")
            if not self.confirm(f"{what}{stack}", plan):
                return result("declined", plan)
            self.progress(f"{what}{stack}: terraform apply")
            applied = self.terraform(stack_dir, ["apply", plan_file])
            if applied.returncode != 0:
                return result("failed", plan, _output("apply", applied))
        finally:
            (stack_dir / plan_file).unlink(missing_ok=True)
        outcome = "destroyed" if self.destroy else "applied"
        self.progress(f"{what}{stack}: {outcome} in {time.perf_counter() - started:.1f}s")
        return result(outcome, plan)


def _init(stack_dir: Path) -> list[str]:
    """A stack with the environment's provider lock installs exactly the builds it records, and never rewrites it."""
    return ["init", "-lockfile=readonly"] if (stack_dir / LOCK_NAME).is_file() else ["init"]


def _early_step(stack: str) -> str:
    return stack + EARLY_STEP


def _output(step: str, done: subprocess.CompletedProcess[str]) -> str:
    return f"terraform {step}: {done.stdout[-2000:]}{done.stderr[-4000:]}"


def _addresses(stack_dir: Path, types: tuple[str, ...]) -> list[str]:
    resources = json.loads((stack_dir / "cdk.tf.json").read_text()).get("resource", {})
    return [f"{kind}.{key}" for kind in types for key in sorted(resources.get(kind, {}))]


# `Plan: 3 to add, 1 to change, 0 to destroy.` (also `Plan: 1 to import, 3 to add, ...`); `No changes.`
_SUMMARY = re.compile(r"^Plan: (?:\d+ to import, )?(\d+) to add, (\d+) to change, (\d+) to destroy\.", re.MULTILINE)


def summary_of(plan_output: str) -> Plan | None:
    """To add, change and destroy from ``terraform plan``'s own summary line; None when it printed none."""
    found = _SUMMARY.search(plan_output)
    if found:
        return Plan(*(int(n) for n in found.groups()))
    return Plan() if re.search(r"^No changes\.", plan_output, re.MULTILINE) else None


# `Apply complete! Resources: 3 added, 0 changed, 0 destroyed.` / `Destroy complete! Resources: 4 destroyed.`
_APPLIED = re.compile(
    r"^Apply complete! Resources: (?:\d+ imported, )?(\d+) added, (\d+) changed, (\d+) destroyed\.", re.M
)
_DESTROYED = re.compile(r"^Destroy complete! Resources: (\d+) destroyed\.", re.MULTILINE)


def applied_summary(apply_output: str) -> Plan:
    """What ``terraform apply -auto-approve`` did, from its closing line (nothing found: nothing done)."""
    found = _APPLIED.search(apply_output)
    if found:
        return Plan(*(int(n) for n in found.groups()))
    destroyed = _DESTROYED.search(apply_output)
    return Plan(destroy=int(destroyed.group(1))) if destroyed else Plan()


def plan_of(show: dict) -> Plan:
    """To add, change and destroy, from ``terraform show -json <plan>`` (a replacement counts as both)."""
    add = change = destroy = 0
    for resource in show.get("resource_changes", []):
        actions = resource.get("change", {}).get("actions", [])
        add += "create" in actions
        destroy += "delete" in actions
        change += actions == ["update"]
    return Plan(add, change, destroy)


def on_a_cycle(prerequisites: dict[str, set[str]]) -> set[str]:
    """The stacks that (indirectly) depend on themselves."""

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(prerequisites.get(start, ()))
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(prerequisites.get(name, ()))
        return seen

    return {name for name in prerequisites if name in reachable(name)}


def in_dependency_waves(
    prerequisites: dict[str, set[str]],
    action: Callable[[str], StackResult],
    started: Callable[[str], None],
    stops: Callable[[StackResult], bool],
    workers: int,
    abort: Callable[[], object] = lambda: None,
) -> list[StackResult]:
    """Start each item once its prerequisites are done, up to ``workers`` at once; the results in finishing order.

    After a result that ``stops`` the run (or an exception) nothing new starts; the items already running are waited
    for. An exception is raised after that wait; ``abort`` stops what runs when the waiting itself is interrupted."""
    waiting = {name: set(needs) for name, needs in prerequisites.items()}
    done: set[str] = set()
    results: list[StackResult] = []
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        running: dict[Future[StackResult], str] = {}

        def launch() -> None:
            for name, needs in sorted(waiting.items()):
                if needs <= done and not errors and not any(stops(r) for r in results) and len(running) < workers:
                    started(name)
                    running[pool.submit(action, name)] = name
                    del waiting[name]

        try:
            launch()
            while running:
                completed, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in completed:
                    name = running.pop(future)
                    error = future.exception()
                    if error is not None:
                        errors.append(error)
                        continue
                    results.append(future.result())
                    done.add(name)
                launch()
        except BaseException:  # Ctrl-C or a signal: stop the children now, or leaving the pool would wait for them
            abort()
            raise
    if errors:
        raise errors[0]
    if waiting and not any(stops(r) for r in results):
        raise CycleError(f"stack dependencies form a cycle: {', '.join(sorted(waiting))}")
    return results


def first_failure(results: Iterable[StackResult]) -> StackResult | None:
    return next((r for r in results if r.stopped_the_run), None)
