"""Same catalog, same bytes; one stack can be synthesized alone, identical to the full synthesis."""

from __future__ import annotations

from pathlib import Path

from eventform.synthesis.app import synthesize


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_synths_are_byte_identical(synthesized, project_root: Path, tmp_path: Path) -> None:
    again = synthesize(project_root, tmp_path / "again")
    first, second = _files(synthesized.outdir), _files(again.outdir)
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []
    assert not any(b"/tmp/" in content or str(project_root).encode() in content for content in first.values())


def test_one_stack_alone_matches_the_full_synthesis(synthesized, project_root: Path, tmp_path: Path) -> None:
    alone = synthesize(project_root, tmp_path / "alone", stacks=["prod-notifications"])
    assert [s.name for s in alone.stacks] == ["prod-notifications"]
    assert sorted(p.name for p in (alone.outdir / "stacks").iterdir()) == ["prod-notifications"]
    path = Path("stacks/prod-notifications/cdk.tf.json")
    assert (alone.outdir / path).read_bytes() == (synthesized.outdir / path).read_bytes()


def test_resynthesizing_one_environment_keeps_the_others(project_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    synthesize(project_root, out, environments=["dev"])
    synthesize(project_root, out, stacks=["local-orders"])
    stacks = sorted(p.name for p in (out / "stacks").iterdir())
    assert "local-orders" in stacks and "dev-orders" in stacks
    assert not [p for p in (out / "stacks").iterdir() if p.name.startswith(".")]
