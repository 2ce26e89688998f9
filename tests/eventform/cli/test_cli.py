"""The command line: help, exit codes and messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.catalog.loader import load
from eventform.cli import main as cli_main
from eventform.cli.main import app
from tests.conftest import copy_project

runner = CliRunner()


@pytest.fixture
def project(project_root: Path, tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("synth", "lint", "validate", "toolchain"):
        assert command in result.output


def test_lint_prints_the_catalog(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_main.console, "width", 200)  # names whole, not folded over lines
    result = runner.invoke(app, ["lint", "--root", str(project)])
    assert result.exit_code == 0, result.output
    catalog, _ = load(project)
    counts = f"{len(catalog.domains)} domains, {len(catalog.events)} events, {len(catalog.consumers)} consumers"
    assert f"Catalog OK: {counts}" in result.output
    assert "environments: dev, local, prod, staging" in " ".join(result.output.split())  # the title may wrap
    assert "notifications/send-email" in result.output


def test_lint_matrix_shows_which_examples_each_rule_delivers(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # rich reads COLUMNS when the console is made (at import, in this process): widen the console itself
    monkeypatch.setattr(cli_main.console, "width", 200)
    result = runner.invoke(app, ["lint", "--matrix", "--root", str(project)])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "payments/large-orders" in line and "order.created" in line]
    # the $or pattern (total >= 1000 or express shipping) delivers only the third example (express)
    delivered = [row.split("│")[3].strip() for row in rows if row.split("│")[4].strip() == "yes"]
    assert len(rows) >= 3 and delivered == ["2"], rows
    assert "Order ord_1003 needs review (total 36)" in result.output
    assert "ord_1001 needs review" not in result.output  # not delivered, so not rendered
    pipe_rows = [line.split("│")[1:5] for line in result.output.splitlines() if "users/marketing-signups" in line]
    passing = [(event.strip(), index.strip()) for _, event, index, passes in pipe_rows if passes.strip() == "yes"]
    assert len(pipe_rows) == 5 and passing == [("users/user.registered", "0")]  # consent, and no order.created


def test_lint_fails_with_the_problem_and_nothing_written(project: Path) -> None:
    path = project / "catalog" / "orders.yaml"
    path.write_text(path.read_text().replace("order.cancelled:", "cancel.order:"))
    result = runner.invoke(app, ["lint", "--root", str(project)])
    assert result.exit_code == 1
    line = path.read_text().splitlines().index("  cancel.order:") + 1
    assert f"orders.yaml:{line} at events.cancel.order" in result.output
    assert "Nothing was written." in result.output


def test_synth_one_stack_prints_a_summary(project: Path) -> None:
    out = project / "out"
    result = runner.invoke(app, ["synth", "--stack", "dev-payments", "--out", str(out), "--root", str(project)])
    assert result.exit_code == 0, result.output
    assert "Synthesized 1 stack in" in result.output and "dev-payments" in result.output
    assert (out / "stacks" / "dev-payments" / "cdk.tf.json").is_file()


def test_unknown_stack_is_a_clear_error(project: Path) -> None:
    result = runner.invoke(app, ["synth", "--stack", "dev-nope", "--root", str(project)])
    assert result.exit_code == 1
    assert "unknown stack 'dev-nope'" in result.output and "dev-orders" in result.output
    assert not (project / "cdktf.out").exists()


def test_validate_before_synth_says_what_to_do(project: Path) -> None:
    result = runner.invoke(app, ["validate", "--root", str(project)])
    assert result.exit_code == 1
    assert "run `eventform synth` first" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["synth", "--bogus"], "No such option: --bogus"), (["nosuchcmd"], "No such command 'nosuchcmd'")],
)
def test_usage_errors_are_usage_errors_not_internal_ones(args: list[str], message: str) -> None:
    """typer raises its own (vendored) click's exceptions: the error boundary lets them through to click's usage
    message and exit code 2 instead of reporting an internal error."""
    result = runner.invoke(app, args, prog_name="eventform")
    assert result.exit_code == 2, result.output
    assert message in result.output and "internal error" not in result.output
    assert "Usage: eventform" in result.output


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"], prog_name="eventform")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"eventform {version('eventform')}"


def test_lint_on_a_narrow_console_wraps_names_and_never_cuts_them(project: Path, monkeypatch) -> None:
    monkeypatch.setattr(cli_main.console, "width", 80)
    result = runner.invoke(app, ["lint", "--root", str(project)])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
