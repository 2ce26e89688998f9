"""Atomic multi-file changes: each file is written to a temporary sibling and moved into place; ``rollback()``
restores what was there before. Scaffolding writes a YAML entry, a schema and examples (and maybe a handler) as one
change, lints the result, and rolls everything back when lint fails, so a failed command leaves no trace."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory, then rename (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Change:
    """A set of file writes that can be undone as a whole."""

    def __init__(self) -> None:
        self._previous: dict[Path, str | None] = {}
        self._created_dirs: list[Path] = []

    @property
    def paths(self) -> list[Path]:
        return list(self._previous)

    def write(self, path: Path, text: str) -> None:
        if path not in self._previous:
            self._previous[path] = path.read_text(encoding="utf-8") if path.exists() else None
            missing = []
            parent = path.parent
            while not parent.exists():
                missing.append(parent)
                parent = parent.parent
            self._created_dirs.extend(reversed(missing))
        write_atomic(path, text)

    def rollback(self) -> None:
        """Restore previous contents, delete new files and the directories this change created."""
        for path, previous in reversed(list(self._previous.items())):
            if previous is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, previous)
        for directory in reversed(self._created_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()
        self._previous.clear()
        self._created_dirs.clear()


__all__ = ["Change", "write_atomic"]
