"""`eventform diff --base`: the base commit's synthesis is kept under .cache/synth/base and reused by the next diff
against the same commit (the working tree's stacks come from the stack cache when unchanged)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventform.authoring import diff as diffing
from eventform.synthesis import app as synthesis
from eventform.synthesis import stack_cache
from tests.eventform.authoring.test_diff import git, repository  # noqa: F401  (the fixture)


def _not_again(*args, **kwargs):
    raise AssertionError("synthesized again although cached")


def test_a_second_diff_against_the_same_commit_synthesizes_nothing(repository: Path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv(stack_cache.CACHE_VARIABLE, "1")
    orders = repository / "catalog/orders.yaml"
    orders.write_text(orders.read_text().replace("attributes: [country, channel]", "attributes: [country]"))
    first = diffing.diff(repository, "main", ["dev"])
    commit = git(repository, "rev-parse", "main").strip()
    kept = stack_cache.base_synthesis(repository, commit, ["dev"])
    assert sorted(p.name for p in (kept / "stacks").iterdir()) == [
        f"dev-{d}" for d in ("inventory", "notifications", "orders", "payments", "platform", "users")
    ]
    monkeypatch.setattr(diffing, "_start_base_synthesis", _not_again)
    monkeypatch.setattr(synthesis, "construct", _not_again)
    second = diffing.diff(repository, "main", ["dev"])
    assert second == first
    assert stack_cache.base_synthesis(repository, commit, ["prod"]) != kept  # other environments: another entry
    monkeypatch.setenv(stack_cache.CACHE_VARIABLE, "0")
    with pytest.raises(AssertionError, match="synthesized again"):  # off: the base is synthesized again
        diffing.diff(repository, "main", ["dev"])
