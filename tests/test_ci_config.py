"""The shipped GitHub workflow and pre-commit configuration stay valid: they cannot run here, so a test reads them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer
import yaml

from eventform.cli.main import app

ROOT = Path(__file__).resolve().parent.parent


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))


def eventform_commands() -> set[str]:
    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def assert_real_command(line: str) -> None:
    """A command line names a make target, an eventform command or a file of the repository."""
    words = shlex.split(line)
    if words[0] == "make":
        assert set(words[1:]) <= make_targets(), line
    elif words[0].endswith("/eventform"):
        assert words[1] in eventform_commands(), line
        if "--base" in words:
            assert words[1] == "lint"
    elif words[0].startswith(".venv/bin/"):
        assert words[0].removeprefix(".venv/bin/") in {"ruff", "pytest", "eventform"}, line
    else:
        assert (ROOT / words[0]).is_file(), line


def test_workflow_has_lint_scan_and_test_jobs() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "eventform.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"pull_request", "push"} <= set(triggers)
    jobs = workflow["jobs"]
    assert set(jobs) == {"lint", "scan", "test"}
    for job in jobs.values():
        assert job["runs-on"] == "ubuntu-latest"
        assert job["steps"][0]["uses"].startswith("actions/checkout@")
        for step in job["steps"]:
            assert "uses" in step or "run" in step
            if "run" in step:
                assert_real_command(step["run"].replace('"origin/${{ github.base_ref }}"', "origin/main"))
    assert jobs["lint"]["steps"][0]["with"]["fetch-depth"] == 0
    uploads = [s for s in jobs["scan"]["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif")]
    assert uploads[0]["with"]["sarif_file"] == "reports/eventform-scan.sarif"
    assert jobs["scan"]["permissions"]["security-events"] == "write"
    assert any(s.get("run") == ".ci/run" for s in jobs["test"]["steps"])


def test_pre_commit_hooks_reference_real_commands() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [h["id"] for h in hooks] == ["ruff", "eventform-lint", "eventform-scan"]
    for hook in hooks:
        assert hook["language"] == "system"
        assert_real_command(hook["entry"])
        if "files" in hook:
            re.compile(hook["files"])
