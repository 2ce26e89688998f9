"""Input problems reported to users: every one names the file, the place in it and the fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    file: Path
    location: str
    message: str
    fix: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        at = f" at {self.location}" if self.location else ""
        return f"{where}{at}: {self.message}\n    fix: {self.fix}"


class CatalogError(Exception):
    """The catalog or an environment file is invalid; nothing has been built or written."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in the catalog or environments:"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))
