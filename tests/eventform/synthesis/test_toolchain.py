from __future__ import annotations

from pathlib import Path

import pytest

from eventform.synthesis import toolchain


@pytest.mark.parametrize(
    ("constraint", "version", "accepted"),
    [
        ("~> 6.0", "5.100.0", False),
        ("~> 6.0", "6.12.1", True),
        ("~> 6.0", "7.0.0", False),
        (">= 5.100.0, < 7.0.0", "5.100.0", True),
        (">= 5.100.0, < 7.0.0", "7.1.0", False),
        ("= 5.100.0", "5.100.0", True),
    ],
)
def test_provider_constraints(constraint: str, version: str, accepted: bool) -> None:
    assert toolchain._constraint_accepts(constraint, version) is accepted


def test_cli_config_points_at_the_mirror_named_by_the_variable(tmp_path: Path, monkeypatch) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64").mkdir(parents=True)
    monkeypatch.setenv(toolchain.MIRROR_VARIABLE, str(mirror))
    text = toolchain.write_cli_config(tmp_path).read_text()
    assert f'path    = "{mirror}"' in text and "direct" in text
    assert toolchain.mirrored_aws_versions(toolchain.find_mirror()) == ["5.100.0"]


def test_cli_config_falls_back_to_the_registry(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(toolchain.MIRROR_VARIABLE, str(tmp_path / "nowhere"))
    text = toolchain.write_cli_config(tmp_path).read_text()
    assert "filesystem_mirror" not in text and "direct {}" in text
