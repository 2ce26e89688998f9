"""What every catalog section's bad-input cases check: the load fails, a problem names the case's message, its file,
its fix and (when the case says where) the line; and `lint` prints it without a traceback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.cli.main import app
from tests.eventform.catalog.test_bad_input import line_containing


@dataclass(frozen=True)
class Case:
    """One bad input of a catalog section: what ``change`` does to a copy of the sample, and what must be reported."""

    id: str
    change: Callable[[Path], object]
    message: str
    fix: str
    at: str | tuple[str, ...] | None  # where the problem must point (see test_bad_input.line_containing)
    file: str = "orders.yaml"


def assert_reported(case: Case, project: Path) -> None:
    case.change(project)
    with pytest.raises(CatalogError) as raised:
        load(project)
    matching = [p for p in raised.value.problems if case.message in p.message]
    assert matching, f"no problem mentions {case.message!r}:\n{raised.value}"
    problem = matching[0]
    assert problem.file.name == case.file
    assert case.fix in problem.fix, problem.fix
    if case.at is not None:
        expected = line_containing(problem.file.read_text(), case.at)
        assert problem.line == expected, f"the problem points at line {problem.line}, {case.at!r} is at {expected}"


def assert_lint_prints(case: Case, project: Path) -> None:
    case.change(project)
    result = CliRunner().invoke(app, ["lint", "--root", str(project)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert " ".join(case.message.split()) in " ".join(result.output.split()), result.output
