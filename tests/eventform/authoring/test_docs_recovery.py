"""`eventform docs` under its lock: a second build is refused, and what a killed build left is repaired first."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from eventform.cli.main import app
from eventform.synthesis.lock import output_lock

runner = CliRunner()


def docs(project: Path, out: Path):
    return runner.invoke(app, ["docs", "--out", str(out), "--root", str(project)])


def test_a_second_build_is_refused_while_one_holds_the_site(project_copy: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with output_lock(site, "docs"):
        result = docs(project_copy, site)
    assert result.exit_code == 75, result.output
    assert f"another eventform docs is running (pid {os.getpid()})" in result.output
    assert not site.exists()


def test_a_killed_build_is_repaired_by_the_next(project_copy: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert docs(project_copy, site).exit_code == 0
    # killed between its two renames: the previous site retired, the new one still in staging
    site.rename(tmp_path / ".site.old")
    (tmp_path / ".site.docs-1234abcd").mkdir()
    (tmp_path / ".site.docs-1234abcd" / "index.md").write_text("half a site")
    assert docs(project_copy, site).exit_code == 0
    assert (site / "index.html").is_file() and (site / ".eventform-site").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "site"], "no staging, retired or lock file"


def test_scan_is_refused_while_a_synth_holds_the_output(project_copy: Path) -> None:
    out = project_copy / "cdktf.out"
    (out / "stacks").mkdir(parents=True)
    with output_lock(out, "synth"):
        result = runner.invoke(app, ["scan", "--out", str(out), "--root", str(project_copy)])
    assert result.exit_code == 75, result.output
    assert f"another eventform synth is running (pid {os.getpid()})" in result.output
