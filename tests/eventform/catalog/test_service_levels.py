"""Service levels in the catalog: volumes and SLOs load and resolve per environment, and every mistake in them is a
case of the bad-input corpus (same shape as tests/eventform/catalog/test_bad_input.py: file, line, message, fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.catalog.slo_model import ServiceLevel
from tests.eventform.catalog.test_bad_input import Case, edit, line_containing

ORDERS, PAYMENTS, USERS = "catalog/orders.yaml", "catalog/payments.yaml", "catalog/users.yaml"
NOTIFICATIONS, DEV = "catalog/notifications.yaml", "environments/dev.yaml"
CREATED_VOLUME = "volume: {per_day: 40000, peak_per_second: 25, size: 2KB}"
LEDGER_SLO = "slo: {max_lag: 2m, max_error_rate: 0.5%}"

MUTATIONS = {
    "volume-size-over-256-kb": lambda p: edit(p, ORDERS, CREATED_VOLUME, CREATED_VOLUME.replace("2KB", "300KB")),
    "volume-size-unit": lambda p: edit(p, ORDERS, CREATED_VOLUME, CREATED_VOLUME.replace("2KB", "2MB")),
    "volume-peak-below-average": lambda p: edit(p, ORDERS, CREATED_VOLUME, CREATED_VOLUME.replace("25", "0.1")),
    "volume-missing-size": lambda p: edit(p, ORDERS, CREATED_VOLUME, CREATED_VOLUME.replace(", size: 2KB", "")),
    "slo-rate-not-a-percentage": lambda p: edit(p, PAYMENTS, LEDGER_SLO, LEDGER_SLO.replace("0.5%", "0.005")),
    "slo-rate-100-percent": lambda p: edit(p, PAYMENTS, LEDGER_SLO, LEDGER_SLO.replace("0.5%", "100%")),
    "slo-lag-under-a-minute": lambda p: edit(p, PAYMENTS, LEDGER_SLO, LEDGER_SLO.replace("2m", "30s")),
    "slo-lag-beyond-queue-retention": lambda p: edit(p, PAYMENTS, LEDGER_SLO, LEDGER_SLO.replace("2m", "8d")),
    "slo-unknown-key": lambda p: edit(p, PAYMENTS, LEDGER_SLO, LEDGER_SLO.replace("max_lag", "max_lagg")),
    "slo-push-lag-beyond-event-age": lambda p: edit(
        p, USERS, "    push: {retries: 2, max_event_age: 1h}\n", "    push: {retries: 2, max_event_age: 1h}\n"
        "    slo: {max_lag: 2h}\n"
    ),
    "slo-environment-override-out-of-bounds": lambda p: edit(
        p, NOTIFICATIONS, "        queue: {max_receive_count: 8}\n",
        "        queue: {max_receive_count: 8}\n        slo: {max_lag: 20s}\n",
    ),
    "environment-lag-twice": lambda p: edit(p, DEV, "period: 5m,", "oldest_message_age: 30m, period: 5m,"),
    "environment-rate-not-a-percentage": lambda p: edit(p, DEV, "max_error_rate: 5%", "max_error_rate: five"),
}

CASES = [
    Case(
        "volume-size-over-256-kb",
        "orders.yaml",
        "a typical size of 307200 bytes is over the 262,144 bytes (256 KB)",
        "at most 256KB",
        at="size: 300KB",
    ),
    Case("volume-size-unit", "orders.yaml", "'2MB' is not a size: whole bytes", "800B or 2KB", at="size: 2MB"),
    Case(
        "volume-peak-below-average",
        "orders.yaml",
        "a peak of 0.1/s is below the day's average (0.46/s from per_day: 40000)",
        "raise peak_per_second to at least 0.46",
        at="peak_per_second: 0.1",
    ),
    Case(
        "volume-missing-size", "orders.yaml", "the required key 'size' is missing", "add `size:`", at="volume: {per_day"
    ),
    Case(
        "slo-rate-not-a-percentage",
        "payments.yaml",
        "is not a percentage: a number followed by %",
        "max_error_rate: 1%",
        at="max_error_rate: 0.005",
    ),
    Case(
        "slo-rate-100-percent",
        "payments.yaml",
        "a maximum error rate of 100% is not below 100%",
        "a percentage below 100%",
        at="max_error_rate: 100%",
    ),
    Case(
        "slo-lag-under-a-minute",
        "payments.yaml",
        "a maximum lag of 30s is outside 1m..14d",
        "max_lag: 5m",
        at="slo: {max_lag: 30s",
    ),
    Case(
        "slo-lag-beyond-queue-retention",
        "payments.yaml",
        "is not below the queue's retention",
        "raise queue.retention above it",
        at="slo: {max_lag: 8d",
    ),
    Case("slo-unknown-key", "payments.yaml", "unknown key 'max_lagg'", "did you mean 'max_lag'?", at="max_lagg"),
    Case(
        "slo-push-lag-beyond-event-age",
        "users.yaml",
        "is above push.max_event_age (3600s)",
        "lower max_lag below push.max_event_age",
        at="slo: {max_lag: 2h}",
    ),
    Case(
        "slo-environment-override-out-of-bounds",
        "notifications.yaml",
        "a maximum lag of 20s is outside 1m..14d",
        "max_lag: 5m",
        at=("prod:", "slo: {max_lag: 20s}"),
    ),
    Case(
        "environment-lag-twice",
        "dev.yaml",
        "the consumers' lag threshold is set twice",
        "remove alarms.oldest_message_age",
        at="oldest_message_age: 30m",
    ),
    Case(
        "environment-rate-not-a-percentage",
        "dev.yaml",
        "'five' is not a percentage",
        "max_error_rate: 1%",
        at="max_error_rate: five",
    ),
]


@pytest.fixture
def project(project_root: Path, tmp_path: Path) -> Path:
    from tests.conftest import copy_project

    return copy_project(tmp_path)


def test_each_case_is_distinct() -> None:
    assert len({c.id for c in CASES}) == len(CASES) == len(MUTATIONS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_service_levels_are_reported_with_file_place_and_fix(case: Case, project: Path) -> None:
    MUTATIONS[case.id](project)
    with pytest.raises(CatalogError) as raised:
        load(project)
    matching = [p for p in raised.value.problems if case.message in p.message]
    assert matching, f"no problem mentions {case.message!r}:\n{raised.value}"
    problem = matching[0]
    assert problem.file.name == case.file
    assert case.fix in problem.fix
    assert case.at is not None
    expected = line_containing(problem.file.read_text(), case.at)
    assert problem.line == expected, f"the problem points at line {problem.line}, {case.at!r} is at {expected}"


def test_volumes_and_service_levels_resolve_per_environment(project_root: Path) -> None:
    catalog, environments = load(project_root)
    by_name = {e.name: e for e in environments}
    created = catalog.event("orders/order.created").volume
    assert created is not None
    assert (created.per_day, created.peak_per_second, created.size) == (40000, 25.0, 2048)
    ledger = next(c for c in catalog.consumers if c.qualified_name == "payments/ledger")
    assert ledger.slo_for(by_name["prod"]) == ServiceLevel(max_lag=120, max_error_rate=0.005)
    # the environment's default fills in what a consumer leaves out, and stands for consumers without slo:
    send_email = next(c for c in catalog.consumers if c.qualified_name == "notifications/send-email")
    assert send_email.slo_for(by_name["prod"]) == ServiceLevel(max_lag=300, max_error_rate=0.02)
    crm = next(c for c in catalog.consumers if c.qualified_name == "users/crm-sync")
    assert crm.slo_for(by_name["prod"]) == ServiceLevel(max_lag=600, max_error_rate=0.01)
    assert crm.slo_for(by_name["dev"]) == ServiceLevel(max_lag=1800, max_error_rate=0.05)


def test_an_older_environment_file_keeps_its_lag_threshold(project: Path) -> None:
    """``alarms.oldest_message_age`` (before ``slo:``) still sets the default lag when slo.max_lag is absent."""
    edit(project, DEV, "slo: {max_lag: 30m, max_error_rate: 5%}", "slo: {max_error_rate: 5%}")
    edit(project, DEV, "period: 5m,", "oldest_message_age: 20m, period: 5m,")
    _, environments = load(project, ["dev"])
    assert environments[0].slo == ServiceLevel(max_lag=1200, max_error_rate=0.05)
