"""`eventform add consumer` (a handler package and a YAML entry) hit by real signals at each step of its move."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.authoring.files import STAGING
from eventform.cli.main import app
from tests.eventform.authoring.test_add_atomic import snapshot
from tests.faults.conftest import eventform, one_line_failure, start

runner = CliRunner()
ADD = ("add", "consumer", "inventory", "track-parcels", "--events", "orders/order.created")


def add_args(root: Path) -> list[str]:
    return [*ADD, "--root", str(root)]


def staging_left(root: Path) -> list[str]:
    folder = root / STAGING
    return [p.name for p in folder.iterdir()] if folder.is_dir() else []


def next_commands_accept(root: Path) -> str:
    """lint passes on what is left; the same add then succeeds or says the consumer exists (if the killed one had
    finished every move); a different add succeeds. Returns what the repeated add did."""
    lint = runner.invoke(app, ["lint", "--root", str(root)])
    assert lint.exit_code == 0, lint.output
    assert staging_left(root) == [], "the next command cleans the staging folder"
    again = runner.invoke(app, add_args(root))
    assert again.exit_code == 0 or "consumer 'track-parcels' already exists" in again.output, again.output
    other = runner.invoke(app, ["add", "consumer", "inventory", "audit-orders", "--events", "orders/order.created",
                                "--root", str(root)])  # fmt: skip
    assert other.exit_code == 0, other.output
    assert runner.invoke(app, ["lint", "--root", str(root)]).exit_code == 0
    return "repeated" if again.exit_code == 0 else "kept"


# (step, call): before the handler package moves, before the YAML moves, after both moved and lint passed.
STEPS = [("add-move", 1), ("add-move", 2), ("add-commit", 1)]


# SIGINT takes SIGTERM's path (both raise in eventform's handler): SIGTERM at every step, SIGINT at the middle one.
SIGNALLED = [(*step, "SIGTERM") for step in STEPS] + [("add-move", 2, "SIGINT")]


@pytest.mark.parametrize(("step", "call", "name"), SIGNALLED)
def test_a_signal_at_any_step_rolls_back_everything(project_copy: Path, step: str, call: int, name: str) -> None:
    before = snapshot(project_copy)
    result = eventform(*add_args(project_copy), fault=(step, call, name))
    assert result.returncode == (130 if name == "SIGINT" else 143), result.stderr
    line = one_line_failure(result.stderr, "add consumer")
    assert "interrupted" in line
    assert snapshot(project_copy) == before, f"{name} at {step} #{call} left a change"
    assert staging_left(project_copy) == []
    assert next_commands_accept(project_copy) == "repeated"


@pytest.mark.parametrize(("step", "call"), STEPS)
def test_sigkill_at_any_step_leaves_a_state_the_next_command_accepts(project_copy: Path, step: str, call: int):
    result = eventform(*add_args(project_copy), fault=(step, call, "SIGKILL"))
    assert result.returncode == -signal.SIGKILL, result.stderr
    outcome = next_commands_accept(project_copy)
    # Killed before the YAML moved: rolled back by the next command. After every move: the change is kept.
    assert outcome == ("kept" if step == "add-commit" else "repeated")


def test_ctrl_c_to_the_process_group_at_any_moment(project_copy: Path) -> None:
    """Ctrl-C as a terminal sends it (to the whole group), at moments spread over the command's run: the change is
    whole or absent, never half; the message is one line."""
    before = snapshot(project_copy)
    outcomes = []
    for delay in (0.3, 0.9, 1.5, 2.5):
        process = start(*add_args(project_copy))
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
        if process.returncode == -signal.SIGINT:  # Python's own start-up or shutdown, outside eventform's code
            assert "Traceback" not in stderr, stderr
        elif process.returncode != 0:
            assert process.returncode == 130, stderr
            one_line_failure(stderr, "add consumer")
        complete = (project_copy / "handlers/track_parcels/handler.py").exists()
        assert complete or snapshot(project_copy) == before, f"half a change after Ctrl-C at {delay}s:\n{stderr}"
        assert runner.invoke(app, ["lint", "--root", str(project_copy)]).exit_code == 0
        assert staging_left(project_copy) == []
        outcomes.append((delay, process.returncode, "complete" if complete else "unchanged"))
        if complete:
            break
    assert outcomes, "no run"
