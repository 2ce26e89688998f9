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
from tests.conftest import ROOT, copy_project, require_terraform

runner = CliRunner()


def test_prerequisites_are_the_domain_dependencies_and_the_platform() -> None:
    prerequisites = stack_prerequisites(ROOT, "dev", None)
    assert prerequisites["dev-platform"] == set()
    assert "dev-platform" in prerequisites["dev-orders"] and "dev-orders" in prerequisites["dev-inventory"]
    chosen = stack_prerequisites(ROOT, "dev", ["dev-orders", "dev-inventory"])
    assert chosen == {"dev-orders": set(), "dev-inventory": {"dev-orders"}}  # only among the chosen stacks


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
        output = deployed.output
        assert output.index("local-orders: terraform plan") > output.index("local-platform: applied")  # it waits
        lock = project / "cdktf.out" / "stacks" / "local-orders" / ".terraform.lock.hcl"
        assert lock.read_text() == (project / "environments" / "local.terraform.lock.hcl").read_text()  # read-only
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
