"""`cdktn synth` (the CDK Terrain CLI, run on Node 22) produces exactly what `eventform synth` does."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from eventform.synthesis import toolchain


def test_cdktn_synth_of_one_stack_matches_eventform(synthesized, project_root: Path, tmp_path: Path) -> None:
    cli = project_root / "node_modules" / ".bin" / "cdktn"
    node = toolchain.node22(project_root)
    if not cli.exists() or node is None:
        if os.environ.get("CI"):
            pytest.fail("the cdktn CLI or Node 22 is missing under CI: `make setup` installs them")
        pytest.skip("the cdktn CLI is not installed on this laptop: run `make setup`")
    env = {
        **os.environ,
        "PATH": f"{node.parent}{os.pathsep}{cli.parent}{os.pathsep}{os.environ['PATH']}",
        "JSII_NODE": str(node),
        "CHECKPOINT_DISABLE": "1",
        "EVENTFORM_STACK": "staging-payments",
    }
    result = subprocess.run(
        [str(cli), "synth", "--output", str(tmp_path / "out")],
        cwd=project_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "stacks").iterdir()) == ["staging-payments"]
    ours = synthesized.outdir / "stacks" / "staging-payments" / "cdk.tf.json"
    assert (tmp_path / "out" / "stacks" / "staging-payments" / "cdk.tf.json").read_text() == ours.read_text()
