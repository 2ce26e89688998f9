"""--json output of the listing commands: whole values (no ARN cut with an ellipsis), only JSON on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.cli.main import app
from tests.conftest import copy_project

runner = CliRunner()  # result.stdout holds stdout alone


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def test_lint_json_is_the_catalog_as_data(project: Path) -> None:
    result = runner.invoke(app, ["lint", "--json", "--root", str(project)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    created = next(e for e in data["events"] if e["event"] == "orders/order.created")
    assert created["channels"] == ["topic", "bus", "stream orders/order-activity", "http orders/partner-webhook"]
    assert {"payments/large-orders", "orders/order-metrics"} <= set(created["consumers"])  # the stream reader too
    assert {"orders/order-archiver", "delivery stream orders/order-archive"} <= set(created["consumers"])  # archived
    reserved = next(e for e in data["events"] if e["event"] == "inventory/stock.reserved")
    assert reserved["channels"] == ["table"] and reserved["consumers"] == ["inventory/stock-availability"]
    assert data["environments"] == ["dev", "local", "prod", "staging"]


def test_synth_json_lists_each_stack_with_its_resources_and_dependencies(project: Path) -> None:
    out = project / "out"
    result = runner.invoke(
        app, ["synth", "--stack", "dev-payments", "--out", str(out), "--json", "--root", str(project)]
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["outdir"] == str(out.resolve())
    (stack,) = data["stacks"]
    config = json.loads((out / "stacks" / "dev-payments" / "cdk.tf.json").read_text())
    assert (
        stack["name"] == "dev-payments" and "dev-orders" in stack["depends_on"] and stack["wave"] == 3
    )  # after dev-platform (1) and dev-orders (2)
    assert stack["resources"] == {kind: len(items) for kind, items in config["resource"].items()}


def test_local_status_json_without_a_server(project: Path) -> None:
    result = runner.invoke(app, ["local", "status", "--json", "--root", str(project)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"endpoint": None, "pid": None, "running": False, "stacks": {}}


def test_deploy_waves_follow_the_dependencies(project: Path) -> None:
    from eventform.catalog.loader import load
    from eventform.cli.views import deploy_waves
    from eventform.synthesis.app import plan_stacks

    catalog, environments = load(project, ["dev"])
    planned = plan_stacks(catalog, environments)
    waves = deploy_waves(planned)
    assert waves["dev-platform"] == 1
    for stack in planned:
        for dependency in stack.depends_on:
            assert waves[stack.name] > waves[dependency], (stack.name, dependency)
        if stack.domain is not None:
            assert waves[stack.name] >= 2
    assert waves["dev-inventory"] > waves["dev-orders"]  # inventory consumes orders' events
