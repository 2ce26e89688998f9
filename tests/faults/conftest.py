"""Fault injection: real eventform processes interrupted, killed, starved and raced; each case then runs the next
normal command on what is left and expects it to be accepted."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def as_from_a_terminal() -> None:
    """In the child before it starts: SIGINT and SIGTERM as a shell gives them to a program it starts (default), not
    as this test process may have them (a test runner worker can ignore SIGINT, and an ignored signal stays ignored
    across exec: eventform would then never see the Ctrl-C these tests send)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def environment(**extra: str) -> dict[str, str]:
    """The test's environment, with this checkout first on the import path and synthesis left un-optimised (the
    -O re-exec would drop an injected fault)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env["EVENTFORM_NO_OPTIMIZE"] = "1"
    env.pop("EVENTFORM_DEBUG", None)
    env.update(extra)
    return env


def eventform(
    *args: str,
    fault: tuple[str, int, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``eventform ARGS`` as its own process (``fault``: (step, call, signal) of tests/faults/faulty.py)."""
    extra = {}
    module = "eventform.cli.main"
    if fault is not None:
        module = "tests.faults.faulty"
        extra = {"FAULT_AT": fault[0], "FAULT_CALL": str(fault[1]), "FAULT_SIGNAL": fault[2]}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**(env or environment()), **extra},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
        preexec_fn=as_from_a_terminal,
    )


def start(*args: str, fault: tuple[str, int, str] | None = None, **extra: str) -> subprocess.Popen[str]:
    """Start ``eventform ARGS`` in a process group of its own (so a signal can go to the whole group, Node too)."""
    module = "eventform.cli.main" if fault is None else "tests.faults.faulty"
    fault_env = {} if fault is None else {"FAULT_AT": fault[0], "FAULT_CALL": str(fault[1]), "FAULT_SIGNAL": fault[2]}
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env=environment(**fault_env, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
        preexec_fn=as_from_a_terminal,
    )


def one_line_failure(stderr: str, command: str) -> str:
    """The failure is one `eventform <command>: ...; fix: ...` line (`eventform: ...` when interrupted while still
    importing), never a traceback."""
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith((f"eventform {command}: ", "eventform: "))]
    assert len(lines) == 1 and "; fix: " in lines[0], stderr
    return lines[0]


def hidden_leftovers(*folders: Path) -> list[str]:
    """Staging, retired, temporary and lock entries anywhere under ``folders``."""
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [str(p) for p in folder.rglob(".*") if p.name not in (".eventform",)]
    return found


def user_namespaces() -> bool:
    """A mount namespace of our own (``unshare -rm``) lets a test mount a tiny tmpfs or a read-only bind mount."""
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False).returncode == 0


@pytest.fixture()
def require_namespaces() -> None:
    if not user_namespaces():
        if os.environ.get("CI"):
            pytest.fail("unshare -rm (user + mount namespaces) is unavailable under CI: the disk-full case must run")
        pytest.skip("unshare -rm is unavailable here: the tmpfs/read-only-mount cases need user namespaces")


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
