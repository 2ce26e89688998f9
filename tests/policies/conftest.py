"""The policy tests run where checkov is: the scan environment (.cache/scan-venv, `make setup`), never the dev venv,
which does not hold checkov (its exact pins would freeze the project's boto3). `make test` runs them there:
``.cache/scan-venv/bin/pytest tests/policies``. Elsewhere they are not collected, and the run says so."""

from __future__ import annotations

import importlib.util

import pytest

HERE_ONLY_WITH_CHECKOV = importlib.util.find_spec("checkov") is None
collect_ignore_glob = ["test_*.py"] if HERE_ONLY_WITH_CHECKOV else []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if HERE_ONLY_WITH_CHECKOV:
        terminalreporter.write_line(
            "tests/policies not collected: checkov is not in this environment; they run in the scan environment "
            "(.cache/scan-venv/bin/pytest tests/policies, part of `make test`)",
            yellow=True,
        )
