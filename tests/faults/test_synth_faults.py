"""`eventform synth` raced, stopped, killed mid-move, interrupted, starved of disk and denied writes; each case ends
in a tree the next synth (and scan) accepts, byte-identical to an undisturbed synthesis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eventform.synthesis.app import SynthResult
from tests.conftest import ROOT
from tests.faults.conftest import environment, eventform, hidden_leftovers, one_line_failure, start, stop

STACKS = ["dev-orders", "dev-payments"]


def synth_args(out: Path, stacks: list[str] = STACKS) -> list[str]:
    return ["synth", *(a for s in stacks for a in ("--stack", s)), "--out", str(out)]


def assert_whole_tree(out: Path, synthesized: SynthResult, stacks: list[str] = STACKS) -> None:
    """Every stack present and byte-identical to the session's undisturbed synthesis; nothing hidden left over."""
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == sorted(stacks)
    for name in stacks:
        relative = Path("stacks") / name / "cdk.tf.json"
        assert (out / relative).read_bytes() == (synthesized.outdir / relative).read_bytes(), name
    assert sorted(p.name for p in (out / "stacks").iterdir()) == sorted(stacks)
    assert hidden_leftovers(out, out.parent) == []


def test_a_second_synth_is_refused_while_the_first_holds_the_output(tmp_path: Path, synthesized: SynthResult):
    out = tmp_path / "cdktf.out"
    first = start(*synth_args(out), fault=("synth-install", 1, "SIGSTOP"))  # stops itself, lock held, before moving
    try:
        assert first.stderr is not None
        # the fault's own line, past whatever a tool printed first (a Node warning must not fail this test)
        seen: list[str] = []
        while not seen or ("fault: SIGSTOP" not in seen[-1] and seen[-1]):
            seen.append(first.stderr.readline())
        assert "fault: SIGSTOP" in seen[-1], seen
        second = eventform(*synth_args(out))
        assert second.returncode == 75, second.stderr
        line = one_line_failure(second.stderr, "synth")
        assert f"another eventform synth is running (pid {first.pid})" in line
        os.kill(first.pid, signal.SIGCONT)
        assert first.wait(timeout=300) == 0
    finally:
        stop(first)
    assert_whole_tree(out, synthesized)


def test_two_synths_at_once_end_in_one_good_tree(tmp_path: Path, synthesized: SynthResult):
    out = tmp_path / "cdktf.out"
    both = [start(*synth_args(out)) for _ in range(2)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in both]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 75]), results  # both ran (one after the other) or one was refused, never a crash
    for code, stderr in results:
        if code == 75:
            assert "another eventform synth is running (pid" in one_line_failure(stderr, "synth")
    assert_whole_tree(out, synthesized)


def test_a_synth_killed_between_a_stacks_two_renames_recovers(tmp_path: Path, synthesized: SynthResult):
    out = tmp_path / "cdktf.out"
    assert eventform(*synth_args(out)).returncode == 0
    killed = eventform(*synth_args(out), fault=("synth-place", 2, "SIGKILL"))
    assert killed.returncode == -signal.SIGKILL
    stacks = out / "stacks"
    assert (stacks / ".dev-payments.old").is_dir() and not (stacks / "dev-payments").exists()
    # scan refuses the half-moved tree, and never takes `.dev-payments.old` for a stack of environment `.dev`
    scanned = eventform("scan", "--out", str(out), "--reports", str(tmp_path / "reports"))
    assert scanned.returncode == 2, scanned.stdout + scanned.stderr
    assert "killed while moving stacks into place" in scanned.stdout + scanned.stderr
    again = eventform(*synth_args(out))
    assert again.returncode == 0, again.stderr
    assert_whole_tree(out, synthesized)


def wait_for_node_in_group(process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until jsii's Node runs in the synth's process group (the bindings are loading or building): a terminal's Ctrl-C
    then reaches both. A fixed delay would miss a synthesis that got faster than it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        for entry in os.listdir("/proc"):
            try:
                stat = Path(f"/proc/{entry}/stat").read_text() if entry.isdigit() else ""
            except OSError:
                continue
            if (
                stat
                and stat.split(" (", 1)[1].startswith("node)")
                and int(stat.rsplit(")", 1)[1].split()[2]) == process.pid
            ):
                time.sleep(0.3)  # into the kernel's first requests
                return
        time.sleep(0.05)
    if process.poll() is None:
        pytest.fail(f"jsii's Node did not start in the synth's process group within {timeout:.0f} s")
    # else: the synth ended first; the caller reports how


@pytest.mark.parametrize("how", ["at the install step", "to the process group"])
def test_ctrl_c_during_synth_is_one_line_and_leaves_nothing(tmp_path: Path, synthesized: SynthResult, how: str):
    out = tmp_path / "cdktf.out"
    if how == "at the install step":
        process = start(*synth_args(out), fault=("synth-install", 1, "SIGINT"))
    else:  # a terminal's Ctrl-C reaches jsii's Node process too: the first thing Python sees may be a broken pipe
        process = start(*synth_args(out))
        wait_for_node_in_group(process)
        os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    if process.returncode == 0:
        pytest.fail(f"synth finished before the Ctrl-C reached it\n{stderr}")
    assert process.returncode == 130, stderr
    assert "interrupted (Ctrl-C)" in one_line_failure(stderr, "synth")
    assert "BrokenPipeError" not in stderr
    assert hidden_leftovers(out, tmp_path) == []
    assert eventform(*synth_args(out)).returncode == 0
    assert_whole_tree(out, synthesized)


def in_namespace(script: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (sh) as root of a user + mount namespace of its own: mounts there vanish with it."""
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", sys.executable, *map(str, paths)],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path, require_namespaces: None):
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (
        'mount -t tmpfs -o size=48k tmpfs "$2" || exit 99\n'  # dev-payments is ~80 kB of JSON
        '"$1" -m eventform.cli.main synth --stack dev-payments --out "$2/out"; echo "rc=$?"\n'
        'echo "left: $(ls -A "$2" | tr "\\n" " ")"\n'
        'mount -o remount,size=50m "$2" && "$1" -m eventform.cli.main synth --stack dev-payments --out "$2/out" '
        '>/dev/null; echo "rc2=$?"\n'
        'ls "$2/out/stacks"\n'
    )
    result = in_namespace(script, disk)
    assert "rc=73" in result.stdout, result.stdout + result.stderr
    assert "no space left on the device" in one_line_failure(result.stderr, "synth")
    assert "left: \n" in result.stdout, "a failed synth leaves nothing on the full disk: " + result.stdout
    assert "rc2=0" in result.stdout and "dev-payments" in result.stdout, result.stdout + result.stderr


def test_a_read_only_output_folder_is_one_line_and_unchanged(tmp_path: Path, require_namespaces: None):
    folder = tmp_path / "readonly"
    folder.mkdir()
    (folder / "keep.txt").write_text("untouched")
    script = (
        'mount --bind "$2" "$2" && mount -o remount,bind,ro "$2" || exit 99\n'
        '"$1" -m eventform.cli.main synth --stack dev-orders --out "$2/out"; echo "rc=$?"\n'
    )
    result = in_namespace(script, folder)
    assert "rc=77" in result.stdout, result.stdout + result.stderr
    assert "the file system is read-only" in one_line_failure(result.stderr, "synth")
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    assert eventform("synth", "--stack", "dev-orders", "--out", str(folder / "out")).returncode == 0


def test_a_missing_node_for_jsii_is_one_line(tmp_path: Path):
    env = environment(JSII_NODE=str(tmp_path / "no-such-node"))
    result = eventform("synth", "--stack", "dev-orders", "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 72, result.stderr
    assert "is not an executable file" in one_line_failure(result.stderr, "synth")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert eventform("synth", "--stack", "dev-orders", "--out", str(tmp_path / "out")).returncode == 0
