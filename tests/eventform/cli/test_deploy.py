"""`eventform deploy` / `destroy`: plain Terraform per stack in dependency order, plan first, stop at the first
failure; and once for real on the embedded AWS."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from eventform.cli import cdktn_app
from eventform.cli.deploy import stack_order, stack_prerequisites
from eventform.cli.main import app
from eventform.local import embedded as local
from tests.conftest import ROOT, SECOND_DOMAIN, copy_project, copy_second_project, require_terraform

runner = CliRunner()


def test_prerequisites_are_the_domain_dependencies_and_the_platform() -> None:
    prerequisites = stack_prerequisites(ROOT, "dev", None)
    assert prerequisites["dev-platform"] == set()
    assert "dev-platform" in prerequisites["dev-orders"] and "dev-orders" in prerequisites["dev-inventory"]
    chosen = stack_prerequisites(ROOT, "dev", ["dev-orders", "dev-inventory"])
    assert chosen == {"dev-orders": set(), "dev-inventory": {"dev-orders"}}  # only among the chosen stacks


def test_destroy_goes_in_reverse_dependency_order() -> None:
    prerequisites = stack_prerequisites(ROOT, "dev", None)
    order = stack_order(prerequisites, destroy=False)
    assert order[0] == "dev-platform" and order.index("dev-orders") < order.index("dev-inventory")
    assert stack_order(prerequisites, destroy=True) == list(reversed(order))


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
    """On the second catalog without its consumers (a bus: seconds to deploy; the sample's stacks are all deployed
    by the rehearsal tests): plan, apply after the platform stack, nothing to do the second time, destroy."""
    require_terraform()
    project = copy_second_project(tmp_path, consumers=False)
    domain_stack = f"local-{SECOND_DOMAIN}"
    started = runner.invoke(app, ["local", "start", "--root", str(project)])
    assert started.exit_code == 0, started.output
    try:
        url = local.endpoint(local.LocalPaths(project))
        monkeypatch.setenv(cdktn_app.ENDPOINT_VARIABLE, url)
        stacks = ["--stack", "local-platform", "--stack", domain_stack]
        deployed = runner.invoke(app, ["deploy", "--env", "local", *stacks, "--auto-approve", "--root", str(project)])
        assert deployed.exit_code == 0, deployed.output
        output = deployed.output
        assert output.index(f"{domain_stack}: terraform plan") > output.index("local-platform: applied")  # it waits
        lock = project / "cdktf.out" / "stacks" / domain_stack / ".terraform.lock.hcl"
        assert lock.read_text() == (project / "environments" / "local.terraform.lock.hcl").read_text()  # read-only
        events = boto3.client(
            "events", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )
        assert domain_stack in {b["Name"] for b in events.list_event_buses()["EventBuses"]}
        again = runner.invoke(app, ["deploy", "--env", "local", *stacks, "--auto-approve", "--root", str(project)])
        assert again.exit_code == 0 and again.output.count("unchanged") == 2, again.output
        gone = runner.invoke(app, ["destroy", "--env", "local", *stacks, "--auto-approve", "--root", str(project)])
        assert gone.exit_code == 0, gone.output
        assert "destroyed" in gone.output
        assert domain_stack not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}
    finally:
        local.down(project)
