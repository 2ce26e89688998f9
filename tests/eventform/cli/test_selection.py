"""Unknown environment and stack names are named as such, with the closest known name, before any work starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.catalog.errors import CatalogError
from eventform.cli import selection
from eventform.cli.main import app
from tests.conftest import ROOT, copy_project

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def test_known_names_come_from_the_files(project: Path) -> None:
    assert selection.environment_names(project) == ["dev", "local", "prod", "staging"]
    stacks = selection.stack_names(project, ["dev"])
    assert "dev-platform" in stacks and "dev-orders" in stacks and "prod-orders" not in stacks


@pytest.mark.parametrize(
    ("typed", "meant"), [("stagin", "staging"), ("prd", "prod"), ("dev-order", "dev-orders"), ("qa", None)]
)
def test_closest_suggests_only_a_close_name(project: Path, typed: str, meant: str | None) -> None:
    known = selection.environment_names(project) + selection.stack_names(project)
    assert selection.closest(typed, known) == meant


def test_a_domain_alone_points_to_its_stacks() -> None:
    assert selection.closest("orders", ["dev-orders", "dev-platform"]) == "dev-orders"


def test_unknown_environment_names_the_file_the_option_and_the_fix(project: Path) -> None:
    with pytest.raises(CatalogError) as raised:
        selection.check(project, ["stagin"], None)
    text = str(raised.value)
    assert "environments/stagin.yaml at --env: unknown environment 'stagin'" in text
    assert "fix: did you mean 'staging'? known environments: dev, local, prod, staging" in text


@pytest.mark.parametrize("command", ["synth", "scan"])
def test_commands_refuse_an_unknown_environment_before_working(project: Path, command: str) -> None:
    result = runner.invoke(app, [command, "--env", "qa", "--root", str(project)])
    assert result.exit_code == 1, result.output
    assert (
        "unknown environment 'qa'" in result.output and "known environments: dev, local, prod, staging" in result.output
    )
    assert "run `eventform synth`" not in result.output  # the old, wrong advice for scan
    assert "Nothing was written." in result.output
    assert not (project / "cdktf.out").exists()


def test_synth_unknown_stack_suggests_the_closest(project: Path) -> None:
    result = runner.invoke(app, ["synth", "--stack", "dev-order", "--root", str(project)])
    assert result.exit_code == 1
    assert "unknown stack 'dev-order'" in result.output and "did you mean 'dev-orders'?" in result.output


def test_validate_tells_a_typo_from_a_stack_not_synthesized_yet(project: Path) -> None:
    (project / "cdktf.out" / "stacks" / "dev-orders").mkdir(parents=True)
    (project / "cdktf.out" / "stacks" / "dev-orders" / "cdk.tf.json").write_text("{}")
    typo = runner.invoke(app, ["validate", "--stack", "dev-ordres", "--root", str(project)])
    assert typo.exit_code == 1 and "unknown stack 'dev-ordres'" in typo.output
    assert "did you mean 'dev-orders'?" in typo.output
    later = runner.invoke(app, ["validate", "--stack", "prod-orders", "--root", str(project)])
    assert later.exit_code == 1 and "not synthesized yet: prod-orders" in later.output
    assert "eventform synth --stack prod-orders" in later.output


def test_cdktn_app_names_the_variable_not_an_option() -> None:
    """`cdktn synth` runs main.py: a bad EVENTFORM_STACK is reported as that variable, before jsii starts."""
    env = {**os.environ, "EVENTFORM_STACK": "dev-ordres", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert "at EVENTFORM_STACK: unknown stack 'dev-ordres'" in done.stderr and "--stack" not in done.stderr
    assert "did you mean 'dev-orders'?" in done.stderr


@pytest.mark.parametrize(("count", "text"), [(0, "0 messages"), (1, "1 message"), (2, "2 messages")])
def test_plural(count: int, text: str) -> None:
    assert selection.plural(count, "message") == text
    assert selection.plural(1, "failed delivery", "failed deliveries") == "1 failed delivery"


def test_publish_names_a_bad_payload_file_without_a_class_name(project: Path) -> None:
    bad = project / "payload.json"
    bad.write_text('{"order_id": "o-1",\n}')
    result = runner.invoke(
        app, ["local", "publish", "--event", "orders/order.created", "--file", str(bad), "--root", str(project)]
    )
    assert result.exit_code == 1
    assert f"{bad}:2:1: not valid JSON" in result.output and "fix: pass a readable file" in result.output
    assert "Error:" not in result.output and "Exception" not in result.output
    missing = runner.invoke(
        app, ["local", "publish", "--event", "orders/order.created", "--file", "nope.json", "--root", str(project)]
    )
    assert missing.exit_code == 1 and "nope.json: No such file or directory" in missing.output


def test_shell_completion_completes_commands_and_options() -> None:
    """`eventform --install-completion` installs click's completion; the same protocol answers here."""
    env = {**os.environ, "_EVENTFORM_COMPLETE": "complete_bash", "COMP_WORDS": "eventform local sta", "COMP_CWORD": "2"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "eventform.cli.main"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == ["start", "status"]
    show = runner.invoke(app, ["--help"])
    assert "--install-completion" in show.output


def test_publish_refuses_a_payload_file_that_is_not_one_object(project: Path) -> None:
    listed = project / "payloads.json"
    listed.write_text('[{"order_id": "o-1"}]')
    result = runner.invoke(
        app, ["local", "publish", "--event", "orders/order.created", "--file", str(listed), "--root", str(project)]
    )
    assert result.exit_code == 1
    assert f"{listed}: holds an array, not a JSON object" in result.output
    assert "fix: pass a readable file" in result.output
