"""Provider pinning: environments/<env>.terraform.lock.hcl, written by `eventform providers lock`, copied into each of
the environment's stacks by synthesis, and honoured (read-only) by the deploy path's `terraform init`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.cli.main import app
from eventform.synthesis import provider_locks
from eventform.synthesis.app import SynthResult
from eventform.synthesis.deployment import _init
from tests.conftest import ROOT, require_terraform

runner = CliRunner()
HASH = re.compile(r'"(h1:[^"]+)"')


def test_every_local_stack_carries_the_committed_lock_and_unpinned_environments_none(
    synthesized: SynthResult,
) -> None:
    committed = provider_locks.lock_path(ROOT, "local").read_text()
    for stack in synthesized.stacks:
        copy = synthesized.outdir / "stacks" / stack.name / provider_locks.LOCK_NAME
        if stack.environment.name == "local":
            assert copy.read_text() == committed
            assert _init(copy.parent) == ["init", "-lockfile=readonly"]
        else:  # dev, staging and prod ask ~> 6.0, which this machine cannot lock (see the README)
            assert not provider_locks.lock_path(ROOT, stack.environment.name).exists() and not copy.exists()
            assert _init(copy.parent) == ["init"]


def test_the_lock_records_the_environments_own_constraint() -> None:
    text = provider_locks.lock_path(ROOT, "local").read_text()
    assert 'constraints = ">= 5.100.0, < 7.0.0"' in text  # environments/local.yaml's provider_version
    assert 'version     = "5.100.0"' in text and HASH.search(text)


@pytest.mark.terraform
def test_providers_lock_writes_again_the_committed_file(tmp_path: Path) -> None:
    """Reproducible: from the mirror the same bytes (from the registry, at least the same build's checksum)."""
    require_terraform()
    shutil.copytree(ROOT / "environments", tmp_path / "environments")
    (tmp_path / "environments" / "local.terraform.lock.hcl").unlink()
    result = runner.invoke(app, ["providers", "lock", "--env", "local", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "environments/local.terraform.lock.hcl: hashicorp/aws" in result.output
    written = (tmp_path / "environments" / "local.terraform.lock.hcl").read_text()
    committed = provider_locks.lock_path(ROOT, "local").read_text()
    if "from mirror" in result.output:
        assert written == committed
    else:
        assert set(HASH.findall(committed)) <= set(HASH.findall(written))
    assert not [p for p in (tmp_path / "environments").iterdir() if p.name.endswith(".tmp")]


@pytest.mark.terraform
def test_a_platform_the_mirror_lacks_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    require_terraform()
    from eventform.synthesis.toolchain import find_mirror

    if find_mirror() is None:
        pytest.skip("no provider mirror on this machine: the registry serves every platform")
    shutil.copytree(ROOT / "environments", tmp_path / "environments")
    before = sorted(p.name for p in (tmp_path / "environments").iterdir())
    result = runner.invoke(
        app, ["providers", "lock", "--env", "local", "--platform", "plan9_386", "--root", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "not plan9_386" in result.output and "fix: leave out --platform" in result.output
    assert sorted(p.name for p in (tmp_path / "environments").iterdir()) == before


def test_an_unknown_environment_is_refused(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "environments", tmp_path / "environments")
    result = runner.invoke(app, ["providers", "lock", "--env", "qa", "--root", str(tmp_path)])
    assert result.exit_code == 1 and "unknown environment 'qa'" in result.output
