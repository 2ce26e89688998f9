"""Atomic multi-file changes for ``eventform add``: everything is built in a staging folder, then moved into place.

:class:`Change` stages every file under ``.eventform/staging/add-<pid>-*/`` (same file system as the project, so a
move is one ``rename``), checks that every target can be written, and only then moves: a new folder whole (the
handler package first, then new schema folders), new files, and the catalog YAML last, the file being replaced kept
as a hard link. ``rollback()`` undoes the moves in reverse order; every exception or signal that reaches the caller
runs it, and signals are held while it runs. A journal in the staging folder names each move before it happens, so
when the process is killed outright (SIGKILL, power loss) the next ``eventform add`` finishes the job with
:func:`recover`: an incomplete change is rolled back, a complete one (everything moved, only lint left) is kept.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from eventform.synthesis.atomic import write_atomic
from eventform.synthesis.lock import OutputBusyError, output_lock

STAGING = Path(".eventform") / "staging"
JOURNAL = "journal.json"
HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


class NotWritableError(PermissionError):
    """A file or folder the change must write is read-only: refused before anything moved."""

    def __init__(self, path: Path, root: Path, what: str) -> None:
        shown = _shown(path, root)
        super().__init__(errno.EACCES, what, shown)
        self.fix = f"make it writable (chmod u+w {shown}) and run the command again"

    def __str__(self) -> str:
        return f"{self.filename} {self.strerror} (nothing was changed); fix: {self.fix}"


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Defer SIGINT/SIGTERM/SIGHUP for the block (they are delivered after it): a rollback is never cut in half."""
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    except ValueError:  # not the main thread: signals are not delivered here anyway
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def read_only(path: Path) -> bool:
    """Not writable for this process, or marked read-only for everyone (no write bit), which eventform honours even
    when running as root."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    return not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _move_order(relative: Path) -> int:
    """The handler package first, then schemas and examples, the catalog YAML last (it names the others)."""
    if relative.parts[0] == "handlers":
        return 0
    return 2 if relative.suffix == ".yaml" else 1


class Change:
    """A set of file writes staged under the project and moved into place as one change."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._texts: dict[Path, str] = {}
        self._staging: Path | None = None
        self._done: list[dict[str, str]] = []  # moves made, for rollback (also in the journal)
        self._state = "staging"  # -> applied -> committed | rolled back

    @property
    def paths(self) -> list[Path]:
        return list(self._texts)

    def write(self, path: Path, text: str) -> None:
        """Stage ``text`` for ``path``; nothing in the project changes until :meth:`apply`."""
        self._texts[path.resolve()] = text

    # -- apply -------------------------------------------------------------------------------------------------
    def _units(self) -> list[Path]:
        """What moves as one rename: the topmost missing folder above a new file, else the file itself."""
        units: set[Path] = set()
        for path in self._texts:
            unit = path
            while not unit.parent.exists() and unit.parent != self.root:
                unit = unit.parent
            units.add(unit)
        return sorted(units, key=lambda u: (_move_order(u.relative_to(self.root)), str(u)))

    def _check_writable(self, units: list[Path]) -> None:
        for unit in units:
            if unit.exists() and unit.is_dir():
                raise NotWritableError(unit, self.root, "already exists")
            if unit.exists() and read_only(unit):
                raise NotWritableError(unit, self.root, "is a read-only file")
            if read_only(unit.parent):
                raise NotWritableError(unit.parent, self.root, "is a read-only folder")

    def _stage(self) -> Path:
        base = self.root / STAGING
        try:
            base.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f"add-{os.getpid()}-", dir=base))
        except PermissionError as error:
            raise NotWritableError(base, self.root, "is not writable (eventform stages changes there)") from error
        except OSError as error:
            if error.errno == errno.EROFS:
                raise NotWritableError(base, self.root, "is on a read-only file system") from error
            raise
        self._staging = staging
        for path, text in self._texts.items():
            target = staging / "files" / path.relative_to(self.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
            os.chmod(target, mode)
        return staging

    def _journal(self, complete: bool = False) -> None:
        assert self._staging is not None
        record = {"pid": os.getpid(), "moves": self._done, "complete": complete}
        write_atomic(self._staging / JOURNAL, json.dumps(record, indent=1) + "\n")

    def apply(self) -> None:
        """Stage, check every target is writable, then move everything into place. On any exception or signal the
        moves made so far are undone before it propagates."""
        units = self._units()
        self._check_writable(units)
        try:
            staging = self._stage()
            self._state = "applied"
            for unit in units:
                relative = unit.relative_to(self.root)
                staged = staging / "files" / relative
                if unit.exists():  # a file being replaced: keep it, as a hard link, for the rollback
                    backup = staging / "backup" / relative
                    backup.parent.mkdir(parents=True, exist_ok=True)
                    os.link(unit, backup)
                    self._done.append({"kind": "replaced", "target": str(relative)})
                    self._journal()
                    step(unit, staged)
                else:
                    self._done.append({"kind": "new", "target": str(relative)})
                    self._journal()
                    step(unit, staged)
            self._journal(complete=True)
        except BaseException:
            self.rollback()
            raise

    # -- end -----------------------------------------------------------------------------------------------------
    def commit(self) -> None:
        """The change stays: forget the staging folder and its backups."""
        if self._state != "applied":
            return
        self._state = "committed"
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)

    def rollback(self) -> None:
        """Undo every move made, newest first, then delete the staging folder. Signals wait until it is done."""
        if self._state == "committed":
            return
        with signals_held():
            if self._staging is not None:
                undo(self.root, self._staging, self._done)
                shutil.rmtree(self._staging, ignore_errors=True)
            self._done = []
            self._state = "rolled back"


def step(target: Path, staged: Path) -> None:
    """One move into place (``os.replace``: atomic; a separate function so fault tests can fail or kill here)."""
    os.replace(staged, target)


def undo(root: Path, staging: Path, moves: list[dict[str, str]]) -> None:
    for move in reversed(moves):
        target = root / move["target"]
        if move["kind"] == "replaced":
            backup = staging / "backup" / move["target"]
            if backup.exists():
                os.replace(backup, target)
        elif target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def recover(root: Path) -> list[str]:
    """Finish what a killed ``eventform add`` left (call under the catalog's lock): roll back an incomplete change,
    keep a complete one; remove its staging folder. Returns one line per change found, for the user."""
    notes = []
    base = root.resolve() / STAGING
    for staging in sorted(base.glob("add-*")) if base.is_dir() else []:
        try:
            journal = json.loads((staging / JOURNAL).read_text())
        except (OSError, ValueError):
            journal = {"moves": [], "complete": False}
        moves = journal.get("moves", [])
        pid = journal.get("pid", staging.name.split("-")[1])
        if moves and not journal.get("complete"):
            with signals_held():
                undo(root.resolve(), staging, moves)
            targets = ", ".join(m["target"] for m in moves)
            notes.append(f"rolled back an interrupted `eventform add` (pid {pid}): {targets}")
        elif moves:
            notes.append(f"kept a complete change of an interrupted `eventform add` (pid {pid}); lint it")
        shutil.rmtree(staging, ignore_errors=True)
    return notes


def heal(root: Path) -> list[str]:
    """:func:`recover` for any command, when a killed ``add`` left a staging folder and no ``add`` is running now:
    lint would otherwise judge a half-moved change (a handler package no consumer names yet)."""
    base = root.resolve() / STAGING
    if not base.is_dir() or not any(base.glob("add-*")):
        return []
    try:
        with output_lock(root.resolve() / "catalog", "add"):
            return recover(root)
    except OutputBusyError:
        return []  # a running add owns it


__all__ = ["Change", "NotWritableError", "heal", "read_only", "recover", "signals_held", "step", "write_atomic"]
