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


def load_workflow() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "eventform.yml").read_text())


def test_workflow_lints_then_synthesizes_once_for_scan_and_tests() -> None:
    workflow = load_workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"pull_request", "push"} <= set(triggers)
    jobs = workflow["jobs"]
    assert set(jobs) == {"lint", "test"}
    for job in jobs.values():
        assert job["runs-on"] == "ubuntu-latest"
        assert 0 < job["timeout-minutes"] <= 30
        assert job["steps"][0]["uses"].startswith("actions/checkout@")
        for step in job["steps"]:
            assert "uses" in step or "run" in step
            if "run" in step:
                assert_real_command(step["run"].replace('"origin/${{ github.base_ref }}"', "origin/main"))
    assert jobs["lint"]["steps"][0]["with"]["fetch-depth"] == 0
    assert [s["run"] for s in jobs["test"]["steps"] if "run" in s] == [".ci/run"], "one synthesis: make test only"
    uploads = [s for s in jobs["test"]["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif")]
    assert uploads[0]["with"]["sarif_file"] == "reports/eventform-scan.sarif"
    assert "hashFiles('reports/eventform-scan.sarif')" in uploads[0]["if"], "upload only a SARIF that was written"
    assert "head.repo.full_name == github.repository" in uploads[0]["if"], "forks' tokens cannot upload"
    assert jobs["test"]["permissions"]["security-events"] == "write"


def test_actions_are_pinned_by_commit_sha() -> None:
    for job in load_workflow()["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


def test_tool_caches_are_keyed_on_the_lock_files() -> None:
    for job in load_workflow()["jobs"].values():
        caches = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
        assert caches, "every job caches its downloads"
        assert "uv.lock" in caches[0]["with"]["key"]


def test_targets_a_pre_push_hook_runs_install_no_system_package() -> None:
    """`make scan` (the pre-push hook) and `make lint` never reach the apt-get of `make browser`."""
    text = (ROOT / "Makefile").read_text()
    prerequisites = dict(re.findall(r"^([a-z][a-z-]*):([^#\n]*)", text, flags=re.MULTILINE))

    def reaches(target: str) -> set[str]:
        seen: set[str] = set()
        stack = [target]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(p for p in prerequisites.get(name, "").split() if p in prerequisites)
        return seen

    for target in ("lint", "synth", "scan", "setup", "docs"):
        assert "browser" not in reaches(target), target
    assert "browser" in reaches("test")


def test_pre_commit_hooks_reference_real_commands() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [h["id"] for h in hooks] == ["ruff", "eventform-lint", "eventform-scan"]
    for hook in hooks:
        assert hook["language"] == "system"
        assert_real_command(hook["entry"])
        if "files" in hook:
            re.compile(hook["files"])
