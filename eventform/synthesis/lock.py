"""One eventform command at a time per output: ``synth``, ``docs``, ``diff``, ``scan`` and ``add`` lock what they write.

The lock is a file beside the output (``.cdktf.out.lock`` for ``cdktf.out``) holding the holder's pid and command,
locked with ``flock``: the kernel releases it when the holder dies, however it dies, so a crashed run never blocks
the next one (its file, naming a dead pid, is reported as a stale lock and taken over). It also reads the install
journal a synth keeps in its output while moving stacks (``.installing``), which ``scan`` checks. A leaf module:
``compliance`` may import it without the synthesis package. A second command fails at
once with "another eventform synth is running (pid N)" rather than waiting behind a run that may never end.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

INSTALLING = ".installing"  # in a synth output while stacks are moved into place: names them, removed when done
READ_ATTEMPTS = 20  # the holder writes its pid right after locking: wait up to ~1 s for it


class OutputBusyError(Exception):
    """Another eventform process holds the lock on this output."""

    def __init__(self, target: Path, pid: int | None, command: str) -> None:
        self.target, self.pid, self.command = target, pid, command
        who = f"another eventform {command} is running" + (f" (pid {pid})" if pid else "")
        super().__init__(
            f"{who} on {target}; fix: wait for it to finish and retry"
            + (f", or stop it (kill {pid})" if pid else "")
        )


@dataclass(frozen=True)
class Held:
    """A lock this process holds; ``stale_pid``: a previous holder that died without releasing its file."""

    path: Path
    stale_pid: int | None


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _holder(fd: int) -> dict[str, object]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _busy(target: Path, fd: int) -> OutputBusyError:
    holder: dict[str, object] = {}
    for _ in range(READ_ATTEMPTS):
        holder = _holder(fd)
        if holder.get("pid"):
            break
        time.sleep(0.05)
    pid = holder.get("pid")
    return OutputBusyError(target, pid if isinstance(pid, int) else None, str(holder.get("command") or "command"))


@contextlib.contextmanager
def output_lock(target: Path, command: str) -> Iterator[Held]:
    """Hold the lock on ``target`` (a folder or file) for the block, or raise :class:`OutputBusyError` at once.

    The lock file is removed on release. Whoever locks checks that the path still names the file it locked (a
    releasing holder may have removed it meanwhile) and retries otherwise, so two processes never both hold it."""
    target = target.resolve()
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            error = _busy(target, fd)
            os.close(fd)
            raise error from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        previous = _holder(fd).get("pid")
        stale = previous if isinstance(previous, int) and previous != os.getpid() else None
        record = json.dumps({"pid": os.getpid(), "command": command, "since": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
        yield Held(path, stale)
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def interrupted_install(outdir: Path) -> list[str]:
    """Stacks a killed synth was moving into ``outdir`` (empty when the last install finished)."""
    try:
        return [str(name) for name in json.loads((outdir / INSTALLING).read_text()).get("stacks", [])]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, AttributeError):
        return ["(an unreadable install journal)"]


__all__ = ["INSTALLING", "Held", "OutputBusyError", "interrupted_install", "lock_path", "output_lock", "pid_alive"]
