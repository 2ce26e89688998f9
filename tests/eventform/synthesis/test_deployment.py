"""The one deploy path (`eventform deploy`/`destroy`, `eventform local up`): init every stack, then per stack once its
prerequisites are done plan, summary, confirmation, apply of that plan; topics first on a cycle; stop at the first
failure. Terraform is a recording fake here; tests/eventform/cli/test_deploy.py runs the real one on the embedded
AWS."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from eventform.synthesis.deployment import (
    CycleError,
    Deployment,
    Plan,
    applied_summary,
    in_dependency_waves,
    plan_of,
    summary_of,
)

SHOW = {
    "resource_changes": [{"change": {"actions": a}} for a in (["create"], ["update"], ["delete", "create"], ["no-op"])]
}
PLATFORM, ORDERS, USERS = "dev-platform", "dev-orders", "dev-users"


class FakeTerraform:
    """Records (stack, step, args); ``fail`` = (stack, step) answers 1 there; ``unchanged`` stacks plan nothing;
    ``summary=False`` prints no summary line, so the plan is read with ``terraform show -json``."""

    def __init__(self, fail: tuple[str, str] | None = None, unchanged: tuple[str, ...] = (), summary: bool = True):
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []
        self.fail, self.unchanged, self.summary = fail, unchanged, summary
        self.lock = threading.Lock()

    def __call__(self, stack_dir: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
        stack, step = stack_dir.name, args[0]
        with self.lock:
            self.calls.append((stack, step, tuple(args[1:])))
        if (stack, step) == self.fail:
            return subprocess.CompletedProcess(args, 1, "", f"Error: {step} broke")
        if step == "plan":
            if stack in self.unchanged:
                return subprocess.CompletedProcess(args, 0, "No changes. Your infrastructure matches.\n", "")
            text = "Plan: 3 to add, 1 to change, 0 to destroy.\n" if self.summary else ""
            return subprocess.CompletedProcess(args, 2, text, "")
        if step == "show":
            return subprocess.CompletedProcess(args, 0, json.dumps(SHOW), "")
        return subprocess.CompletedProcess(args, 0, "", "")

    def steps(self, stack: str) -> list[str]:
        return [step for name, step, _ in self.calls if name == stack]


def deployment(tmp_path: Path, terraform: FakeTerraform, prerequisites: dict[str, set[str]], **options) -> Deployment:
    for name in prerequisites:
        (tmp_path / name).mkdir(exist_ok=True)
    return Deployment(stacks_dir=tmp_path, prerequisites=prerequisites, terraform=terraform, **options)


CHAIN = {PLATFORM: set(), ORDERS: {PLATFORM}, USERS: {PLATFORM, ORDERS}}


def test_the_plan_summary_comes_from_terraforms_own_line_or_from_show_json() -> None:
    assert summary_of("...\nPlan: 2 to add, 0 to change, 1 to destroy.\n") == Plan(2, 0, 1)
    assert summary_of("Plan: 1 to import, 2 to add, 3 to change, 4 to destroy.") == Plan(2, 3, 4)
    assert summary_of("No changes. Your infrastructure matches the configuration.") == Plan()
    assert summary_of("something else") is None
    assert plan_of(SHOW) == Plan(add=2, change=1, destroy=1)
    assert str(Plan()) == "no changes" and str(plan_of(SHOW)) == "+2 ~1 -1"


def test_every_stack_is_initialised_then_planned_and_applied_after_its_prerequisites(tmp_path: Path) -> None:
    terraform = FakeTerraform(unchanged=(ORDERS,))
    results = deployment(tmp_path, terraform, CHAIN).run()
    assert [(r.stack, r.outcome) for r in results] == [(PLATFORM, "applied"), (ORDERS, "unchanged"), (USERS, "applied")]
    assert [step for _, step, _ in terraform.calls[:3]] == ["init"] * 3
    assert terraform.steps(PLATFORM) == ["init", "plan", "apply"]  # the summary line spares `show`
    assert terraform.steps(ORDERS) == ["init", "plan"]
    plan_args = next(args for name, step, args in terraform.calls if (name, step) == (PLATFORM, "plan"))
    apply_args = next(args for name, step, args in terraform.calls if (name, step) == (PLATFORM, "apply"))
    assert plan_args[0] == "-out=eventform.tfplan" and apply_args == ("eventform.tfplan",)  # exactly that plan
    assert results[0].plan == Plan(3, 1, 0)


def test_without_a_summary_line_the_plan_is_read_with_show_json(tmp_path: Path) -> None:
    terraform = FakeTerraform(summary=False)
    results = deployment(tmp_path, terraform, {PLATFORM: set()}).run()
    assert terraform.steps(PLATFORM) == ["init", "plan", "show", "apply"] and results[0].plan == Plan(2, 1, 1)


@pytest.mark.parametrize("step", ["plan", "apply"])
def test_the_first_failure_stops_the_run(tmp_path: Path, step: str) -> None:
    terraform = FakeTerraform(fail=(ORDERS, step))
    results = deployment(tmp_path, terraform, CHAIN).run()
    assert [(r.stack, r.outcome) for r in results] == [(PLATFORM, "applied"), (ORDERS, "failed"), (USERS, "not run")]
    assert f"terraform {step}" in results[1].output and f"{step} broke" in results[1].output
    assert terraform.steps(USERS) == ["init"]


def test_a_failed_init_runs_nothing_else(tmp_path: Path) -> None:
    terraform = FakeTerraform(fail=(ORDERS, "init"))
    results = deployment(tmp_path, terraform, CHAIN).run()
    assert results[0].stack == ORDERS and results[0].outcome == "failed" and "init broke" in results[0].output
    assert {r.outcome for r in results[1:]} == {"not run"}
    assert {step for _, step, _ in terraform.calls} == {"init"}


def test_a_declined_plan_is_not_applied_and_stops_the_run(tmp_path: Path) -> None:
    terraform = FakeTerraform()
    results = deployment(tmp_path, terraform, CHAIN, confirm=lambda *_: False).run()
    assert [r.outcome for r in results] == ["declined", "not run", "not run"]
    assert "apply" not in terraform.steps(PLATFORM)


def test_with_workers_independent_stacks_run_at_once(tmp_path: Path) -> None:
    """orders and users wait only for the platform: both plan at the same time (a barrier proves they overlap)."""
    barrier = threading.Barrier(2, timeout=10)
    inner = FakeTerraform()

    def terraform(stack_dir: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
        if args[0] == "plan" and stack_dir.name != PLATFORM:
            barrier.wait()
        return inner(stack_dir, args)

    prerequisites = {PLATFORM: set(), ORDERS: {PLATFORM}, USERS: {PLATFORM}}
    results = deployment(tmp_path, terraform, prerequisites, workers=3).run()  # type: ignore[arg-type]
    assert results[0].stack == PLATFORM and {r.outcome for r in results} == {"applied"}


def test_domains_that_consume_each_other_get_their_topics_first(tmp_path: Path) -> None:
    terraform = FakeTerraform()
    prerequisites = {"dev-orders": {"dev-payments"}, "dev-payments": {"dev-orders"}, "dev-inventory": {"dev-orders"}}
    plan = deployment(tmp_path, terraform, prerequisites, workers=3)
    for name in prerequisites:
        topic = {"resource": {"aws_sns_topic": {f"{name.split('-')[1]}_topic": {}}}}
        (tmp_path / name / "cdk.tf.json").write_text(json.dumps(topic))
    started: list[str] = []
    plan.started = started.append
    results = plan.run()
    assert {r.outcome for r in results} == {"applied"}
    targeted = [(name, args[-1]) for name, step, args in terraform.calls if step == "plan" and "-target" in args[-1]]
    assert sorted(targeted) == [
        ("dev-orders", "-target=aws_sns_topic.orders_topic"),
        ("dev-payments", "-target=aws_sns_topic.payments_topic"),
    ]
    plans = [(name, args) for name, step, args in terraform.calls if step == "plan"]
    first_whole = min(i for i, (_, args) in enumerate(plans) if not args[-1].startswith("-target"))
    assert first_whole >= 2  # both topic plans came before any whole stack
    assert [r.stack for r in results].index("dev-inventory") > [r.stack for r in results].index("dev-orders")
    assert started[:2] == ["dev-orders", "dev-payments"]  # recorded before their topics were created


def test_destroy_goes_in_reverse_dependency_order_with_plan_destroy(tmp_path: Path) -> None:
    terraform = FakeTerraform()
    results = deployment(tmp_path, terraform, CHAIN, destroy=True, plan_flags=("-refresh=false",)).run()
    assert [r.stack for r in results] == [USERS, ORDERS, PLATFORM] and {r.outcome for r in results} == {"destroyed"}
    assert all("-destroy" in args and "-refresh=false" in args for _, step, args in terraform.calls if step == "plan")


def test_a_cycle_the_waves_cannot_break_is_reported() -> None:
    with pytest.raises(CycleError, match="a, b"):
        in_dependency_waves({"a": {"b"}, "b": {"a"}}, lambda n: None, lambda n: None, lambda r: False, 2)  # type: ignore[arg-type,return-value]


def test_without_saved_plans_each_step_is_one_apply_auto_approve(tmp_path: Path) -> None:
    """`local up`: nobody reviews the plans, so a step is one `apply -auto-approve`; its closing line is the summary."""
    calls: list[tuple[str, list[str]]] = []

    def terraform(stack_dir: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
        calls.append((stack_dir.name, args))
        done = "Apply complete! Resources: 3 added, 0 changed, 0 destroyed.\n" if stack_dir.name == PLATFORM else ""
        return subprocess.CompletedProcess(args, 0, done, "")

    results = deployment(tmp_path, terraform, {PLATFORM: set(), ORDERS: {PLATFORM}}, saved_plans=False).run()  # type: ignore[arg-type]
    assert [(r.stack, r.outcome, r.plan) for r in results] == [
        (PLATFORM, "applied", Plan(3, 0, 0)), (ORDERS, "unchanged", Plan()),
    ]  # fmt: skip
    assert [args for name, args in calls if name == ORDERS] == [["init"], ["apply", "-auto-approve"]]
    assert applied_summary("Destroy complete! Resources: 4 destroyed.") == Plan(destroy=4)


def test_shared_first_creates_the_topics_others_need_then_every_stack_at_once(tmp_path: Path) -> None:
    """`local up`: only the stacks others wait for apply their topics and buses first; each whole stack then waits
    for those alone, not for whole stacks (so the stacks' own waits overlap); a cycle needs nothing more."""
    terraform = FakeTerraform()
    prerequisites = {PLATFORM: set(), ORDERS: {USERS}, USERS: {ORDERS}, "dev-inventory": {ORDERS}}
    plan = deployment(tmp_path, terraform, prerequisites, workers=4, shared_first=True, saved_plans=False)
    for name in prerequisites:
        shared = {"aws_sns_topic": {"topic": {}}, "aws_cloudwatch_event_bus": {"bus": {}}, "aws_sqs_queue": {"q": {}}}
        (tmp_path / name / "cdk.tf.json").write_text(json.dumps({"resource": shared}))
    results = plan.run()
    assert sorted((r.stack, r.outcome) for r in results) == sorted((n, "unchanged") for n in prerequisites)
    applies = [(name, args) for name, step, args in terraform.calls if step == "apply"]
    targeted = sorted(name for name, args in applies if any(a.startswith("-target") for a in args))
    assert targeted == [ORDERS, USERS]  # the platform and inventory stacks are nobody's prerequisite
    early_args = next(args for name, args in applies if name == ORDERS and "-target" in args[-1])
    assert set(early_args) >= {"-target=aws_sns_topic.topic", "-target=aws_cloudwatch_event_bus.bus"}
    assert not any("aws_sqs_queue" in a for a in early_args)
    position = {(name, "-target" in args[-1]): i for i, (name, args) in enumerate(applies)}
    assert {name for name, early in position if not early} == set(prerequisites)  # every whole stack, once
    for name, needs in prerequisites.items():  # after the topics and buses it needs, and its own
        assert all(position[(need, True)] < position[(name, False)] for need in needs | ({name} & {ORDERS, USERS}))


def test_shared_first_reports_a_failed_early_step_as_its_stacks_result(tmp_path: Path) -> None:
    terraform = FakeTerraform(fail=(ORDERS, "apply"))
    plan = deployment(tmp_path, terraform, {ORDERS: set(), USERS: {ORDERS}}, shared_first=True, saved_plans=False)
    for name in (ORDERS, USERS):
        (tmp_path / name / "cdk.tf.json").write_text(json.dumps({"resource": {"aws_sns_topic": {"t": {}}}}))
    results = plan.run()
    assert [(r.stack, r.outcome) for r in results] == [(ORDERS, "failed"), (USERS, "not run")]
    assert "-target=aws_sns_topic.t" in terraform.calls[-1][2]
