"""Real `terraform init` + `terraform validate` on every synthesized stack, with the project's CLI config."""

from __future__ import annotations

import pytest

from eventform.synthesis import toolchain
from tests.conftest import require_terraform


@pytest.mark.terraform
def test_every_stack_is_valid_terraform(synthesized, project_root) -> None:
    require_terraform()
    stacks = sorted(p for p in (synthesized.outdir / "stacks").iterdir() if p.is_dir())
    results = toolchain.validate_stacks(stacks, project_root)
    assert len(results) == 24
    invalid = {r.stack: r.output for r in results if not r.ok}
    assert invalid == {}
    assert all("The configuration is valid" in r.output for r in results)
