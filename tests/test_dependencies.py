"""Dependencies by role: what a user's CI installs to lint and synthesize is ``[project] dependencies`` alone (no dev
group: no moto, no pytest), and checkov never shares the project's lock (its exact pins would freeze boto3)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from eventform.synthesis.toolchain import node22
from tests.conftest import copy_project

ROOT = Path(__file__).resolve().parent.parent
DEV_ONLY = ("moto", "pytest", "checkov", "ruff", "mypy")


def uv_binary() -> str:
    found = shutil.which("uv") or str(ROOT / ".cache/uv-bootstrap/bin/uv")
    if not Path(found).exists():
        if os.environ.get("CI"):
            pytest.fail("uv is not installed: run make setup")
        pytest.skip("uv is not installed here (make setup pip-installs it into .cache/uv-bootstrap)")
    return found


def test_checkov_is_not_in_the_project_lock_and_has_its_own_environment() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    names = {package["name"] for package in lock["package"]}
    assert "checkov" not in names
    boto3 = next(p["version"] for p in lock["package"] if p["name"] == "boto3")
    scan = (ROOT / "tools/scan-requirements.txt").read_text()
    assert "\ncheckov==" in scan and "\n-e .\n" in f"\n{scan}"
    pinned = next(line.split("==")[1] for line in scan.splitlines() if line.startswith("boto3=="))
    assert tuple(map(int, boto3.split("."))) >= tuple(map(int, pinned.split("."))), "boto3 follows its own releases"


def test_lint_and_synth_run_with_the_runtime_dependencies_alone(tmp_path: Path) -> None:
    uv = uv_binary()
    venv = tmp_path / "runtime-venv"
    environment = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    environment.pop("PYTHONPATH", None)  # only what the venv holds
    sync = [uv, "sync", "--frozen", "--no-default-groups", "--quiet", "--python", sys.executable]
    run = subprocess.run([*sync, "--offline"], cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    if run.returncode != 0:  # the cache lacks a wheel: fetch it from the registry, as a user's CI would
        run = subprocess.run(sync, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    python = venv / "bin" / "python"
    present = subprocess.run(
        [python, "-c", f"import importlib.util as u; print([m for m in {DEV_ONLY!r} if u.find_spec(m)])"],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        cwd=tmp_path,
    ).stdout.strip()
    assert present == "[]", f"dev-only packages in the runtime set: {present}"
    project = copy_project(tmp_path / "project")
    node = node22(ROOT)
    if node is not None:
        environment["JSII_NODE"] = str(node)
    eventform = [str(venv / "bin" / "eventform")]
    lint = subprocess.run([*eventform, "lint", "--root", str(project)], capture_output=True, text=True, env=environment)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    out = tmp_path / "out"
    synth = subprocess.run(
        [*eventform, "synth", "--root", str(project), "--stack", "dev-orders", "--out", str(out)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert synth.returncode == 0, synth.stdout + synth.stderr
    assert (out / "stacks" / "dev-orders" / "cdk.tf.json").is_file()
