"""Whole-file writes that a crash or a concurrent writer never leaves half-written.

A leaf module (standard library only) so that synthesis, provider locks and authoring share one implementation
without importing each other.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write through a uniquely named temporary file in the same folder, then rename (atomic on POSIX).

    Concurrent writers never share a temporary; an existing file keeps its permission bits, a new one gets 0644.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


__all__ = ["write_atomic"]
