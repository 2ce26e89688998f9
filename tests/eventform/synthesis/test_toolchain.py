from __future__ import annotations

import os
from pathlib import Path

import pytest

from eventform.synthesis import toolchain


@pytest.mark.parametrize(
    ("constraint", "version", "accepted"),
    [
        ("~> 6.0", "5.100.0", False),
        ("~> 6.0", "6.12.1", True),
        ("~> 6.0", "7.0.0", False),
        (">= 5.100.0, < 7.0.0", "5.100.0", True),
        (">= 5.100.0, < 7.0.0", "7.1.0", False),
        ("= 5.100.0", "5.100.0", True),
    ],
)
def test_provider_constraints(constraint: str, version: str, accepted: bool) -> None:
    assert toolchain.constraint_accepts(constraint, version) is accepted


def test_cli_config_points_at_the_mirror_named_by_the_variable(tmp_path: Path, monkeypatch) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64").mkdir(parents=True)
    monkeypatch.setenv(toolchain.MIRROR_VARIABLE, str(mirror))
    text = toolchain.write_cli_config(tmp_path).read_text()
    assert f'path    = "{mirror}"' in text and "direct" in text
    assert toolchain.mirrored_aws_versions(toolchain.find_mirror()) == ["5.100.0"]


def test_cli_config_falls_back_to_the_registry(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(toolchain.MIRROR_VARIABLE, str(tmp_path / "nowhere"))
    text = toolchain.write_cli_config(tmp_path).read_text()
    assert "filesystem_mirror" not in text and "direct {}" in text


ROOT = Path(__file__).resolve().parents[3]
# What npm calls each platform (os, cpu) -> (platform.system(), platform.machine()) there.
NPM_PLATFORMS = {
    ("linux", "x64"): ("Linux", "x86_64"),
    ("linux", "arm64"): ("Linux", "aarch64"),
    ("darwin", "x64"): ("Darwin", "x86_64"),
    ("darwin", "arm64"): ("Darwin", "arm64"),
}


@pytest.mark.parametrize(("npm_os", "npm_cpu"), sorted(NPM_PLATFORMS))
def test_npm_ci_installs_the_node_of_each_platform(tmp_path: Path, npm_os: str, npm_cpu: str) -> None:
    """``npm ci`` of the committed lock, as npm would run on each platform (dry run in a copy): it succeeds and
    installs exactly the Node 22 package the toolchain then uses; none on macOS/arm64 (the machine's Node, README)."""
    import json
    import shutil
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not on PATH") if os.environ.get("CI") else pytest.skip("npm is not on PATH")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    run = subprocess.run(
        [npm, "ci", "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund", f"--os={npm_os}", f"--cpu={npm_cpu}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    added = {line.split()[1] for line in run.stdout.splitlines() if line.startswith("add node-")}
    expected = toolchain.node_package(*NPM_PLATFORMS[(npm_os, npm_cpu)])
    assert added == ({expected} if expected else set())
    optional = json.loads((ROOT / "package.json").read_text())["optionalDependencies"]
    assert set(optional) == set(toolchain.NODE_PACKAGES.values()) and len(set(optional.values())) == 1


def test_jsii_runs_the_projects_node_22_under_make() -> None:
    """CI once ran every synthesis on the machine's Node 20: the Makefile chose `node` when it was read, before `npm ci`
    had installed Node 22 on the fresh clone. jsii then printed an end-of-life banner into every command's stderr."""
    import shutil
    import subprocess

    if toolchain.node_package() is None:
        pytest.skip("npm has no Node 22 build for this platform; the machine's node is used (README)")
    toolchain.ensure_jsii_node()
    node = os.environ.get("JSII_NODE") or shutil.which("node")
    assert node is not None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert version.startswith("v22."), f"jsii would run {node} ({version}), not the project's Node 22"
    if not os.environ.get("MAKELEVEL"):
        return  # run by hand: PATH is the developer's own; under make (CI) it must lead to the same Node 22
    on_path = shutil.which("node")
    assert on_path is not None and Path(on_path).resolve() == Path(node).resolve(), (
        f"`node` on PATH is {on_path}, not {node}: the cdktn CLI and jsii would disagree"
    )
