"""The output lock and the recovery of what a killed synth left behind (no jsii: the install is driven directly)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventform.synthesis.app import _install, recover
from eventform.synthesis.lock import (
    INSTALLING,
    OutputBusyError,
    interrupted_install,
    lock_path,
    output_lock,
)

HOLD = (
    "import sys, time\nfrom pathlib import Path\nfrom eventform.synthesis.lock import output_lock\n"
    "with output_lock(Path(sys.argv[1]), 'synth'):\n    print('held', flush=True)\n    time.sleep(60)\n"
)


def holder(target: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(target)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_second_holder_is_refused_with_the_pid_and_the_command(tmp_path: Path) -> None:
    target = tmp_path / "cdktf.out"
    process = holder(target)
    try:
        with pytest.raises(OutputBusyError) as raised, output_lock(target, "scan"):
            pass
        assert raised.value.pid == process.pid
        assert f"another eventform synth is running (pid {process.pid})" in str(raised.value)
        assert "fix: wait for it to finish" in str(raised.value)
    finally:
        process.kill()
        process.wait()
    # The kernel released the dead holder's lock: the next command takes it and reports the stale pid.
    with output_lock(target, "synth") as held:
        assert held.stale_pid == process.pid
        assert json.loads(lock_path(target).read_text())["pid"] == os.getpid()
    assert not lock_path(target).exists(), "a released lock leaves no file"


def test_a_lock_file_removed_by_its_releaser_is_not_shared(tmp_path: Path) -> None:
    target = tmp_path / "site"
    busy = pytest.raises(OutputBusyError, match="another eventform docs is running")
    with output_lock(target, "docs"), busy, output_lock(target, "docs"):
        pass
    with output_lock(target, "docs") as again:
        assert again.stale_pid is None


def stack(outdir: Path, name: str, marker: str) -> Path:
    folder = outdir / "stacks" / name
    folder.mkdir(parents=True)
    (folder / "cdk.tf.json").write_text(json.dumps({"marker": marker}))
    return folder


def test_recover_puts_back_a_retired_stack_and_removes_leftovers(tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    stack(out, "dev-kept", "old")
    retired = stack(out, ".dev-orders.old", "old")  # killed between the two renames: dev-orders is missing
    stack(out, ".dev-kept.old", "older")  # killed after the second rename: the retired copy is garbage
    (tmp_path / ".cdktf.out.synth-123-abc").mkdir()
    (tmp_path / ".synth-legacy").mkdir()
    (out / ".manifest.json.x.tmp").write_text("{")
    recover(out)
    assert json.loads((out / "stacks/dev-orders/cdk.tf.json").read_text()) == {"marker": "old"}
    assert not retired.exists() and not (out / "stacks/.dev-kept.old").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]
    assert not list(out.glob(".*.tmp"))


def staged(tmp_path: Path, names: list[str], marker: str) -> Path:
    staging = tmp_path / f"staging-{marker}"
    for name in names:
        stack(staging, name, marker)
    (staging / "manifest.json").write_text(json.dumps({"stacks": {n: {"name": n} for n in names}}))
    return staging


def test_an_install_killed_midway_is_journaled_until_a_synth_rebuilds_its_stacks(tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    _install(staged(tmp_path, ["dev-a", "dev-b"], "v1"), out, ["dev-a", "dev-b"])
    assert interrupted_install(out) == [] and not (out / INSTALLING).exists()
    # A killed install leaves its journal; recover keeps it (the stacks may be of two catalog versions).
    (out / INSTALLING).write_text(json.dumps({"pid": 1, "stacks": ["dev-a", "dev-b"]}))
    recover(out)
    assert interrupted_install(out) == ["dev-a", "dev-b"]
    _install(staged(tmp_path, ["dev-a"], "v2"), out, ["dev-a"])
    assert interrupted_install(out) == ["dev-b"], "dev-b was not rebuilt"
    _install(staged(tmp_path, ["dev-b"], "v3"), out, ["dev-b"])
    assert interrupted_install(out) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == ["dev-a", "dev-b"]
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]
