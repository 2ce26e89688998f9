"""`eventform deploy` / `destroy`: plain Terraform per stack in dependency order, plan first, stop at the first
failure; and once for real on the embedded AWS."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from eventform.cli import cdktn_app
from eventform.cli.deploy import Plan, plan_of, run_stacks, stack_order
from eventform.cli.main import app
from eventform.local import embedded as local
from tests.conftest import ROOT, copy_project, require_terraform

runner = CliRunner()
SHOW = {
    "resource_changes": [{"change": {"actions": a}} for a in (["create"], ["update"], ["delete", "create"], ["no-op"])]
}


class FakeTerraform:
    """Records every command; ``fail`` = (stack, step) answers 1 there, ``unchanged`` stacks plan no changes."""

    def __init__(self, fail: tuple[str, str] | None = None, unchanged: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail, self.unchanged = fail, unchanged

    def __call__(self, stack_dir: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
        stack, step = stack_dir.name, args[0]
        self.calls.append((stack, step))
        if (stack, step) == self.fail:
            return subprocess.CompletedProcess(args, 1, "", f"Error: {step} broke")
        if step == "plan":
            return subprocess.CompletedProcess(args, 0 if stack in self.unchanged else 2, "", "")
        if step == "show":
            return subprocess.CompletedProcess(args, 0, json.dumps(SHOW), "")
        return subprocess.CompletedProcess(args, 0, "", "")


def test_plan_of_counts_a_replacement_as_add_and_destroy() -> None:
    assert plan_of(SHOW) == Plan(add=2, change=1, destroy=1)
    assert str(Plan()) == "no changes" and str(plan_of(SHOW)) == "+2 ~1 -1"


def test_each_stack_is_planned_then_applied_in_order(tmp_path: Path) -> None:
    terraform = FakeTerraform(unchanged=("dev-orders",))
    results = run_stacks(tmp_path, ["dev-platform", "dev-orders", "dev-users"], terraform)
    assert [(r.stack, r.outcome) for r in results] == [
        ("dev-platform", "applied"), ("dev-orders", "unchanged"), ("dev-users", "applied"),
    ]  # fmt: skip
    assert terraform.calls[:4] == [("dev-platform", s) for s in ("init", "plan", "show", "apply")]
    assert ("dev-orders", "apply") not in terraform.calls


def test_the_first_failure_stops_the_run(tmp_path: Path) -> None:
    terraform = FakeTerraform(fail=("dev-orders", "apply"))
    results = run_stacks(tmp_path, ["dev-platform", "dev-orders", "dev-users"], terraform)
    assert [r.outcome for r in results] == ["applied", "failed", "not run"]
    assert "terraform apply" in results[1].output and "apply broke" in results[1].output
    assert not any(stack == "dev-users" for stack, _ in terraform.calls)


def test_a_declined_plan_is_not_applied(tmp_path: Path) -> None:
    terraform = FakeTerraform()
    results = run_stacks(tmp_path, ["dev-platform", "dev-orders"], terraform, confirm=lambda *_: False)
    assert [r.outcome for r in results] == ["declined", "not run"]
    assert ("dev-platform", "apply") not in terraform.calls


def test_destroy_goes_in_reverse_dependency_order() -> None:
    order = stack_order(ROOT, "dev", None, destroy=False)
    assert order[0] == "dev-platform" and order.index("dev-orders") < order.index("dev-inventory")
    assert stack_order(ROOT, "dev", None, destroy=True) == list(reversed(order))


def test_unknown_environment_and_a_stack_of_another_environment(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    unknown = runner.invoke(app, ["deploy", "--env", "qa", "--root", str(project)])
    assert unknown.exit_code == 1 and "unknown environment 'qa'" in unknown.output
    other = runner.invoke(app, ["destroy", "--env", "dev", "--stack", "prod-orders", "--root", str(project)])
    assert other.exit_code == 1 and "'prod-orders' is not a stack of --env dev" in other.output
    assert "--stack dev-orders, or --env prod" in other.output
    assert "Nothing was deployed or destroyed." in other.output


@pytest.mark.terraform
def test_deploy_and_destroy_on_the_embedded_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_terraform()
    project = copy_project(tmp_path)
    started = runner.invoke(app, ["local", "start", "--root", str(project)])
    assert started.exit_code == 0, started.output
    try:
        url = local.endpoint(local.LocalPaths(project))
        monkeypatch.setenv(cdktn_app.ENDPOINT_VARIABLE, url)
        stacks = ["--stack", "local-platform", "--stack", "local-orders"]
        deployed = runner.invoke(app, ["deploy", "--env", "local", *stacks, "--auto-approve", "--root", str(project)])
        assert deployed.exit_code == 0, deployed.output
        assert deployed.output.index("local-platform") < deployed.output.index("local-orders")
        sns = boto3.client(
            "sns", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )
        assert "local-orders-events" in {t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]}
        again = runner.invoke(app, ["deploy", "--env", "local", *stacks, "--auto-approve", "--root", str(project)])
        assert again.exit_code == 0 and again.output.count("unchanged") == 2, again.output
        gone = runner.invoke(app, ["destroy", "--env", "local", *stacks, "--auto-approve", "--root", str(project)])
        assert gone.exit_code == 0, gone.output
        assert "destroyed" in gone.output and sns.list_topics()["Topics"] == []
    finally:
        local.down(project)
