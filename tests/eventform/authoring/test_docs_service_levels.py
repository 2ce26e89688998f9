"""The docs site shows each consumer's service level and the alarms derived from it, per environment: the same plan
the stacks build (modules/observability.py), so page and stack never disagree."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.cli.main import app
from tests.conftest import copy_project


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("docs-slo"))
    result = CliRunner().invoke(app, ["docs", "--out", str(root / "site"), "--root", str(root)])
    assert result.exit_code == 0, result.output
    return root / "site"


def test_a_consumer_page_shows_its_service_level_per_environment(site: Path) -> None:
    page = (site / "consumers/payments/ledger.md").read_text()
    assert "## Service level and alarms" in page
    assert "| prod | 2m | 0.5% | composite alarm `prod-payments-ledger-consumer` → the alarm topic |" in page
    assert "| local | 2m | 0.5% | each alarm notifies the alarm topic itself" in page
    crm = (site / "consumers/users/crm-sync.md").read_text()  # no slo: of its own: each environment's default
    assert "| prod | 10m | 1% |" in crm and "| dev | 30m | 5% |" in crm


def test_each_alarm_is_listed_with_what_it_measures_and_when_it_fires(site: Path, stack) -> None:
    page = (site / "consumers/payments/ledger.md").read_text()
    prod = page.split("### prod", 1)[1].split("###", 1)[0]
    lag = "| `prod-payments-ledger.fifo-oldest-message-age` | lag | AWS/SQS ApproximateAgeOfOldestMessage (Maximum) |"
    assert f"{lag} > 120 s |" in prod
    assert (
        "| `prod-payments-ledger-error-rate` | errors | `IF(invocations > 0, 100 * errors / invocations, 0)` over "
        "AWS/Lambda Errors (Sum), AWS/Lambda Invocations (Sum) | > 0.5 % |"
    ) in prod
    assert "| `prod-payments-ledger-concurrency` | concurrency |" in prod and ">= 1 executions" in prod
    # exactly the members of the stack's composite alarm
    composites = stack("prod-payments")
    composite = composites.only("aws_cloudwatch_composite_alarm", alarm_name="prod-payments-ledger-consumer")
    members = [line.split("`")[1] for line in prod.splitlines() if line.startswith("| `")]
    assert " OR ".join(f'ALARM("{m}")' for m in members) == composite["alarm_rule"]
    local = page.split("### local", 1)[1].split("###", 1)[0]
    assert "error-rate" not in local and "oldest-message-age" in local
