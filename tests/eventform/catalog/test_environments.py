"""Waivers in environments/<env>.yaml: validated like every other input (file, place, fix), judged by the scan."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from eventform.catalog.environments import load_environments
from eventform.catalog.errors import CatalogError
from eventform.catalog.model import Waiver

GOOD = """waivers:
  - check: CKV2_AWS_34
    resource: "aws_ssm_parameter.*"
    owner: platform
    reason: SSM locators hold queue URLs and topic ARNs, not secrets.
    expires: 2027-06-30
"""


@pytest.fixture
def environments(project_root: Path, tmp_path: Path) -> Path:
    shutil.copytree(project_root / "environments", tmp_path / "environments")
    path = tmp_path / "environments" / "dev.yaml"
    path.write_text(path.read_text().split("waivers:")[0] + GOOD)
    return tmp_path / "environments"


def problems(directory: Path) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        load_environments(directory)
    return [str(p) for p in caught.value.problems]


def test_waivers_load_with_real_dates(environments: Path) -> None:
    dev = next(e for e in load_environments(environments) if e.name == "dev")
    assert dev.waivers == (
        Waiver(
            "CKV2_AWS_34",
            "aws_ssm_parameter.*",
            "platform",
            "SSM locators hold queue URLs and topic ARNs, not secrets.",
            date(2027, 6, 30),
        ),
    )


@pytest.mark.parametrize(
    ("old", "new", "message", "fix"),
    [
        (
            "    reason: SSM locators hold queue URLs and topic ARNs, not secrets.\n",
            "",
            "the required key 'reason' is missing",
            "add `reason:`",
        ),
        ("expires: 2027-06-30", "expires: '2027-02-30'", "'2027-02-30' is not a calendar date", "YYYY-MM-DD"),
        ("expires: 2027-06-30", "expires: next year", "'next year' is not a date YYYY-MM-DD", "expires: 2027-06-30"),
        (
            "reason: SSM locators hold queue URLs and topic ARNs, not secrets.",
            "reason: accepted risk",
            "needs a reason",
            "write a sentence",
        ),
        (
            "reason: SSM locators hold queue URLs and topic ARNs, not secrets.",
            "reason: ok ok ok ok ok ok",
            "needs a reason",
            "write a sentence",
        ),
        ("check: CKV2_AWS_34", "check: ssm-encryption", "is not a checkov or eventform check id", "copy the id"),
        ("owner: platform", "owner: ''", "too short", "see the field"),
        (
            "    owner: platform\n",
            "    owner: platform\n    approved: yes\n",
            "unknown key 'approved'",
            "use one of: check, expires, owner, reason, resource",
        ),
    ],
    ids=[
        "missing-reason",
        "bad-date",
        "not-a-date",
        "short-reason",
        "empty-reason",
        "bad-check-id",
        "no-owner",
        "unknown-key",
    ],
)
def test_bad_waivers_name_file_place_and_fix(environments: Path, old: str, new: str, message: str, fix: str) -> None:
    path = environments / "dev.yaml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    found = problems(environments)
    assert all("dev.yaml" in p and "waivers" in p for p in found), found
    assert any(message in p and fix in p for p in found), found


def test_an_impossible_unquoted_date_is_reported_not_a_crash(environments: Path) -> None:
    path = environments / "dev.yaml"
    path.write_text(path.read_text().replace("expires: 2027-06-30", "expires: 2027-02-30"))
    found = problems(environments)
    assert len(found) == 1 and "dev.yaml" in found[0] and "quote dates" in found[0]


def test_waiver_matching_and_expiry() -> None:
    waiver = Waiver("CKV_EVF_1", "prod-orders/consumer-*/queue", "team", "a reason for this", date(2027, 1, 1))
    assert waiver.matches("CKV_EVF_1", "aws_sqs_queue.x", "prod-orders/consumer-ship/queue")
    assert not waiver.matches("CKV_EVF_2", "aws_sqs_queue.x", "prod-orders/consumer-ship/queue")
    assert not waiver.matches("CKV_EVF_1", "aws_sqs_queue.x", "prod-orders/consumer-ship/dlq")
    assert not waiver.expired(date(2027, 1, 1)) and waiver.expired(date(2027, 1, 2))


def test_the_region_table_is_the_mirrored_providers() -> None:
    """Every region of the table, with its description, is compiled into the mirrored hashicorp/aws 5.100.0; the
    regions added after it (Asia Pacific (New Zealand), the European Sovereign Cloud) are not."""
    import mmap
    import os

    from eventform.catalog.regions import REGIONS
    from eventform.synthesis.toolchain import find_mirror

    mirror = find_mirror()
    binaries = (
        sorted(mirror.glob("registry.terraform.io/hashicorp/aws/5.100.0/*/terraform-provider-aws_*")) if mirror else []
    )
    if not binaries:
        if os.environ.get("CI"):
            pytest.fail("CI=1 but no mirrored hashicorp/aws 5.100.0 provider to compare the region table with")
        pytest.skip("no mirrored hashicorp/aws 5.100.0 provider on this machine")
    wanted = {*REGIONS, *REGIONS.values(), "Asia Pacific (New Zealand)", "AWS European Sovereign Cloud (Germany)"}
    with binaries[0].open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        found = {text for text in wanted if data.find(text.encode()) >= 0}
    assert set(REGIONS) <= found and set(REGIONS.values()) <= found, sorted(wanted - found)
    assert "Asia Pacific (New Zealand)" not in found and "AWS European Sovereign Cloud (Germany)" not in found


def test_an_unknown_region_names_the_neighbours() -> None:
    from eventform.catalog.regions import region_problem

    assert region_problem("eu-west-1") is None
    message, fix = region_problem("eu-middle-9")
    assert "hashicorp/aws 5.100.0" in message and "eu-central-1" in fix and "us-east-1" not in fix
