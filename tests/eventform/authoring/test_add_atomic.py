"""`eventform add` changes the project whole or not at all: a failure at any move, a read-only file or folder, an
`add` killed outright (recovered by the next command). Real signals to real processes: tests/faults/."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.authoring import files
from eventform.authoring.scaffold import add_domain, add_event
from eventform.authoring.scaffold_routes import add_consumer
from eventform.catalog.loader import load
from eventform.cli.main import app

runner = CliRunner()
CONSUMER = ("inventory", "track-parcels", "orders/order.created")


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file of the project with its text and mode (a rollback must restore both)."""
    return {
        str(p.relative_to(root)): (p.read_text(), p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".eventform" not in p.parts
    }


def leftovers(root: Path) -> list[str]:
    staging = root / files.STAGING
    hidden = [p.name for p in root.iterdir() if p.name.startswith(".") and p.name != ".eventform"]
    return hidden + ([p.name for p in staging.iterdir()] if staging.is_dir() else [])


ADDS = {
    "consumer": (lambda root: add_consumer(root, *CONSUMER[:2], CONSUMER[2]), 2),  # handler package, then YAML
    "event": (lambda root: add_event(root, "orders", "order.shipped"), 2),  # schema folder, then YAML
    "version": (lambda root: add_event(root, "orders", "order.created", version=2), 3),  # 2 files, then YAML
    "domain": (lambda root: add_domain(root, "shipping", "team-logistics"), 1),
}


@pytest.mark.parametrize("kind", sorted(ADDS))
def test_a_failure_at_any_move_rolls_everything_back(project_copy: Path, monkeypatch: pytest.MonkeyPatch, kind: str):
    scaffold, moves = ADDS[kind]
    before = snapshot(project_copy)
    real_step = files.step
    for failing in range(1, moves + 1):
        calls: list[Path] = []

        def step(target: Path, staged: Path, failing: int = failing, calls: list[Path] = calls) -> None:
            calls.append(target)
            if len(calls) == failing:
                raise OSError(28, "No space left on device", str(target))
            real_step(target, staged)

        monkeypatch.setattr(files, "step", step)
        with pytest.raises(OSError, match="No space left"):
            scaffold(project_copy)
        assert snapshot(project_copy) == before, f"{kind}: failure at move {failing} left a change"
        assert leftovers(project_copy) == [], kind
        if failing == moves and moves > 1:  # the YAML moves last, after everything it names
            assert calls[-1].suffix == ".yaml", calls
    monkeypatch.setattr(files, "step", real_step)
    scaffold(project_copy)  # and the next add goes through
    load(project_copy)


def test_an_interrupt_during_lint_rolls_back(project_copy: Path, monkeypatch: pytest.MonkeyPatch):
    before = snapshot(project_copy)
    from eventform.authoring import scaffold

    original = scaffold.load

    def load_then_interrupt(root: Path, *args: object):
        if (root / "handlers/track_parcels").exists():  # the lint after the moves
            raise KeyboardInterrupt
        return original(root, *args)

    monkeypatch.setattr(scaffold, "load", load_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        add_consumer(project_copy, *CONSUMER[:2], CONSUMER[2])
    assert snapshot(project_copy) == before
    assert leftovers(project_copy) == []


def test_a_read_only_catalog_file_is_refused_and_left_alone(project_copy: Path):
    catalog_file = project_copy / "catalog/orders.yaml"
    catalog_file.chmod(0o444)
    before = snapshot(project_copy)
    result = runner.invoke(app, ["add", "event", "orders", "order.shipped", "--root", str(project_copy)])
    assert result.exit_code == 77, result.output
    assert "catalog/orders.yaml is a read-only file (nothing was changed)" in result.output
    assert "fix: make it writable (chmod u+w catalog/orders.yaml)" in result.output
    assert snapshot(project_copy) == before
    assert leftovers(project_copy) == []
    catalog_file.chmod(0o644)
    assert runner.invoke(app, ["add", "event", "orders", "order.shipped", "--root", str(project_copy)]).exit_code == 0


def test_an_unwritable_handlers_folder_is_refused_before_the_yaml_changes(project_copy: Path):
    handlers = project_copy / "handlers"
    handlers.chmod(0o555)
    before = snapshot(project_copy)
    try:
        args = ["add", "consumer", *CONSUMER[:2], "--events", CONSUMER[2], "--root", str(project_copy)]
        result = runner.invoke(app, args)
        assert result.exit_code == 77, result.output
        assert "handlers is a read-only folder" in result.output and "chmod u+w handlers" in result.output
        assert snapshot(project_copy) == before
    finally:
        handlers.chmod(0o755)
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, ["lint", "--root", str(project_copy)]).exit_code == 0


def killed_midway(root: Path, complete: bool) -> Path:
    """What SIGKILL leaves: the handler package moved, the YAML (or nothing else) not, the journal saying so."""
    staging = root / files.STAGING / "add-999999-x"
    (root / "handlers/track_parcels").mkdir()
    (root / "handlers/track_parcels/handler.py").write_text("from eventform.runtime.handler import EventHandler\n")
    staging.mkdir(parents=True)
    moves = [{"kind": "new", "target": "handlers/track_parcels"}]
    (staging / files.JOURNAL).write_text(json.dumps({"pid": 999999, "moves": moves, "complete": complete}))
    return staging


def test_the_next_command_rolls_back_what_a_killed_add_half_moved(project_copy: Path):
    before = snapshot(project_copy)
    killed_midway(project_copy, complete=False)
    result = runner.invoke(app, ["lint", "--root", str(project_copy)])
    assert result.exit_code == 0, result.output
    assert "rolled back an interrupted `eventform add` (pid 999999): handlers/track_parcels" in result.output
    assert snapshot(project_copy) == before and leftovers(project_copy) == []
    args = ["add", "consumer", *CONSUMER[:2], "--events", CONSUMER[2], "--root", str(project_copy)]
    assert runner.invoke(app, args).exit_code == 0


def test_a_complete_change_of_a_killed_add_is_kept(project_copy: Path):
    killed_midway(project_copy, complete=True)
    notes = files.recover(project_copy)
    assert notes == ["kept a complete change of an interrupted `eventform add` (pid 999999); lint it"]
    assert (project_copy / "handlers/track_parcels/handler.py").exists()
    assert leftovers(project_copy) == []


def test_a_running_add_holds_the_catalog(project_copy: Path):
    from eventform.synthesis.lock import output_lock

    with output_lock(project_copy / "catalog", "add"):
        result = runner.invoke(app, ["add", "domain", "shipping", "--owner", "team-x", "--root", str(project_copy)])
    assert result.exit_code == 75, result.output
    assert f"another eventform add is running (pid {os.getpid()})" in result.output
    assert not (project_copy / "catalog/shipping.yaml").exists()
