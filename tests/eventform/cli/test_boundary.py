"""The CLI's error boundary: each known failure is one line with the fix and its own exit code; --debug shows the
traceback. Real processes and real faults: tests/faults/."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError
from typer.testing import CliRunner

from eventform.cli import boundary
from eventform.cli.main import app
from eventform.synthesis import app as synthesis
from eventform.synthesis.lock import OutputBusyError, output_lock
from eventform.synthesis.toolchain import ToolMissingError

runner = CliRunner()

CASES = [
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:5"), 69, "does not answer at http://127.0.0.1:5"),
    (boundary.EmbeddedAwsDownError("http://127.0.0.1:5"), 69, "is not running"),
    (ToolMissingError("terraform", "terraform is not on PATH", "install it"), 72, "terraform is not on PATH"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "terraform"), 72, "terraform is not on PATH"),
    (OSError(errno.ENOSPC, "No space left on device", "/x/cdk.tf.json"), 73, "no space left on the device writing"),
    (RuntimeError("Error: ENOSPC: no space left on device, write"), 73, "no space left on the device"),
    (OutputBusyError(Path("/x/cdktf.out"), 42, "synth"), 75, "another eventform synth is running (pid 42)"),
    (PermissionError(errno.EACCES, "Permission denied", "/x/site"), 77, "permission denied: /x/site"),
    (OSError(errno.EROFS, "Read-only file system", "/x"), 77, "the file system is read-only: /x"),
    (KeyboardInterrupt(), 130, "interrupted (Ctrl-C)"),
    (boundary.Terminated(15), 143, "interrupted (SIGTERM)"),
    (ValueError("boom"), 70, "internal error: ValueError: boom"),
]


@pytest.mark.parametrize(("error", "code", "message"), CASES, ids=[type(c[0]).__name__ + str(c[1]) for c in CASES])
def test_each_known_failure_has_its_code_message_and_fix(error: BaseException, code: int, message: str) -> None:
    failure = boundary.classify(error)
    assert failure.code == code and message in failure.message and failure.fix


def test_the_exit_code_table_in_the_readme_matches(project_root: Path) -> None:
    readme = (project_root / "README.md").read_text()
    for kind, code in boundary.EXIT_CODES.items():
        assert f"| {code} |" in readme, f"README's exit code table misses {code} ({kind})"


def failing_lint(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def load(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr("eventform.catalog.loader.load", load)


def test_a_failure_is_one_line_and_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    failing_lint(monkeypatch, OSError(errno.EACCES, "Permission denied", "catalog/orders.yaml"))
    result = runner.invoke(app, ["lint", "--root", str(tmp_path)])
    assert result.exit_code == 77
    lines = result.output.strip().splitlines()
    assert lines == [
        "eventform lint: permission denied: catalog/orders.yaml (nothing was changed); fix: make it writable for your "
        "user (chmod u+w), or run from a checkout you own"
    ]
    debug = runner.invoke(app, ["--debug", "lint", "--root", str(tmp_path)])
    assert isinstance(debug.exception, PermissionError), "--debug lets the error (and its traceback) through"
    monkeypatch.setenv(boundary.DEBUG_VARIABLE, "1")
    assert isinstance(runner.invoke(app, ["lint", "--root", str(tmp_path)]).exception, PermissionError)


def test_synth_refused_while_another_holds_the_output(project_copy: Path) -> None:
    out = project_copy / "cdktf.out"
    with output_lock(out, "scan"):
        result = runner.invoke(app, ["synth", "--stack", "dev-orders", "--out", str(out), "--root", str(project_copy)])
    assert result.exit_code == 75, result.output
    assert f"another eventform scan is running (pid {os.getpid()})" in result.output
    assert not out.exists()


def test_an_injected_full_disk_during_the_move_recovers_on_the_next_synth(
    project_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project_copy / "cdktf.out"
    args = ["synth", "--env", "dev", "--out", str(out), "--root", str(project_copy)]
    assert runner.invoke(app, args).exit_code == 0
    before = {p.name: (p / "cdk.tf.json").read_bytes() for p in (out / "stacks").iterdir()}
    moves: list[Path] = []

    def full(staged: Path, target: Path) -> None:
        moves.append(target)
        if len(moves) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        staged.rename(target)

    monkeypatch.setattr(synthesis, "_place", full)
    result = runner.invoke(app, args)
    assert result.exit_code == 73, result.output
    assert result.output.startswith("eventform synth: no space left on the device writing")
    monkeypatch.undo()
    assert json.loads((out / ".installing").read_text())["stacks"], "the journal names the half-moved stacks"
    assert runner.invoke(app, args).exit_code == 0
    after = {p.name: (p / "cdk.tf.json").read_bytes() for p in (out / "stacks").iterdir()}
    assert after == before, "the same catalog gives the same, whole tree"
    assert not [p.name for p in out.rglob(".*")]
