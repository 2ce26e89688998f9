"""Which stacks `eventform scan` reads: never hidden folders, never a tree a killed synth left half-moved."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from eventform.compliance.scan import ScanConfig, ScanError, select_stacks
from eventform.synthesis.lock import INSTALLING


def config(tmp_path: Path) -> ScanConfig:
    return ScanConfig(root=tmp_path, stacks_dir=tmp_path / "cdktf.out/stacks", reports_dir=tmp_path, today=date.today())


def put(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "cdktf.out/stacks" / name
    folder.mkdir(parents=True)
    (folder / "cdk.tf.json").write_text("{}")


def test_hidden_folders_are_not_stacks(tmp_path: Path) -> None:
    for name in ("dev-orders", ".dev-notifications.old", ".staging"):
        put(tmp_path, name)
    assert [f.parent.name for f in select_stacks(config(tmp_path))] == ["dev-orders"]
    # `--env .dev` cannot select the retired folder as an environment either.
    with pytest.raises(ScanError, match="no synthesized stack matches"):
        select_stacks(ScanConfig(**{**config(tmp_path).__dict__, "environments": (".dev",)}))


def test_a_half_moved_tree_is_refused_with_the_fix(tmp_path: Path) -> None:
    put(tmp_path, "dev-orders")
    (tmp_path / "cdktf.out" / INSTALLING).write_text(json.dumps({"pid": 7, "stacks": ["dev-orders"]}))
    with pytest.raises(ScanError, match=r"killed while moving stacks into place .*run `eventform synth` again"):
        select_stacks(config(tmp_path))
