"""The stack cache: a stack whose inputs and code did not change comes from .cache/synth, byte for byte; any change
to the inputs or the code is a miss; a damaged entry is rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventform.synthesis import app as synthesis
from eventform.synthesis import stack_cache
from eventform.synthesis.app import SynthResult, synthesize

STACKS = ["dev-orders", "dev-payments"]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _stack(out: Path, name: str) -> bytes:
    return (out / "stacks" / name / "cdk.tf.json").read_bytes()


def _no_construction(*args, **kwargs):
    raise AssertionError("constructed although every stack is cached")


@pytest.fixture
def built(project_copy: Path, tmp_path: Path) -> Path:
    """Two stacks synthesized once with the cache on (which fills it)."""
    synthesize(project_copy, tmp_path / "first", stacks=STACKS, cache=True)
    return tmp_path / "first"


def test_unchanged_stacks_come_from_the_cache_byte_for_byte(
    built: Path, project_copy: Path, tmp_path: Path, synthesized: SynthResult, monkeypatch
) -> None:
    assert all(_stack(built, name) == _stack(synthesized.outdir, name) for name in STACKS)
    monkeypatch.setattr(synthesis, "construct", _no_construction)
    again = synthesize(project_copy, tmp_path / "again", stacks=STACKS, cache=True)
    assert _files(again.outdir) == _files(built)
    one = synthesize(project_copy, tmp_path / "one", stacks=["dev-payments"], cache=True)  # a subset: also cached
    assert _stack(one.outdir, "dev-payments") == _stack(built, "dev-payments")
    with pytest.raises(AssertionError, match="constructed"):  # off: built again (here: refused by the patch)
        synthesize(project_copy, tmp_path / "off", stacks=STACKS, cache=False)


def test_a_changed_input_is_a_miss_and_the_change_reaches_the_output(
    built: Path, project_copy: Path, tmp_path: Path
) -> None:
    environment = project_copy / "environments" / "dev.yaml"
    environment.write_text(environment.read_text().replace("cost-center: platform-dev", "cost-center: changed-dev"))
    changed = synthesize(project_copy, tmp_path / "changed", stacks=STACKS, cache=True)
    assert b"changed-dev" in _stack(changed.outdir, "dev-orders")
    assert b"changed-dev" not in _stack(built, "dev-orders")


def test_the_key_covers_inputs_code_stack_packages_and_endpoint(project_copy: Path, monkeypatch) -> None:
    inputs = stack_cache.inputs_version(project_copy)
    key = stack_cache.stack_key(inputs, "dev-orders", ["abc"], None)
    assert key == stack_cache.stack_key(inputs, "dev-orders", ["abc"], None)
    assert key != stack_cache.stack_key(inputs, "dev-users", ["abc"], None)
    assert key != stack_cache.stack_key(inputs, "dev-orders", ["abd"], None)
    assert key != stack_cache.stack_key(inputs, "dev-orders", ["abc"], "http://127.0.0.1:5000")
    (project_copy / "handlers" / "notes.txt").write_text("a handler file changed")
    assert stack_cache.inputs_version(project_copy) != inputs
    monkeypatch.setattr(stack_cache, "code_version", lambda: "other code")
    assert stack_cache.stack_key(inputs, "dev-orders", ["abc"], None) != key


def test_the_code_version_covers_modules_and_eventform(monkeypatch, tmp_path: Path) -> None:
    version = stack_cache.code_version()
    assert len(version) == 64 and version == stack_cache.code_version()
    stack_cache.code_version.cache_clear()
    monkeypatch.setattr(stack_cache, "CODE_PACKAGES", ("eventform",))  # modules/ left out: another version
    try:
        assert stack_cache.code_version() != version
    finally:
        stack_cache.code_version.cache_clear()


def test_a_damaged_entry_is_rebuilt(built: Path, project_copy: Path, tmp_path: Path) -> None:
    for entry in (project_copy / stack_cache.FOLDER).glob("*/*/manifest-entry.json"):
        entry.write_text("{not json")
    again = synthesize(project_copy, tmp_path / "again", stacks=STACKS, cache=True)
    assert _files(again.outdir) == _files(built)
    entries = list((project_copy / stack_cache.FOLDER).glob("*/*/manifest-entry.json"))
    assert len(entries) == len(STACKS) and all(e.read_text().startswith("{\"") for e in entries)  # replaced


def test_the_test_suite_runs_with_the_cache_off() -> None:
    assert not stack_cache.enabled()
    assert stack_cache.enabled(True)


def test_a_completed_selection_is_remembered_so_no_worker_starts_ahead_for_it(tmp_path: Path) -> None:
    key = stack_cache.selection_key("inputs", ["prod"], None, None)
    assert key != stack_cache.selection_key("inputs", ["dev"], None, None)
    assert key != stack_cache.selection_key("other inputs", ["prod"], None, None)
    assert not stack_cache.seen(tmp_path, key)
    stack_cache.remember(tmp_path, key)
    assert stack_cache.seen(tmp_path, key)
