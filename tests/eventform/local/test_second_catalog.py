"""A second catalog unlike the sample (tests/eventform/local/second_catalog): one bus-only domain, camelCase payload
fields, names at their limits, a queue target with an input transformer and every target kind moto cannot reach.
Lint, synthesis and the routing contract must hold on it as on the sample (the rehearsal itself: README)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eventform.catalog import patterns, routing
from eventform.catalog.loader import load
from eventform.catalog.naming import Names
from eventform.synthesis.app import synthesize

FIXTURE = Path(__file__).parent / "second_catalog"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The second catalog beside the project's own environments (they follow the environment schema)."""
    root = tmp_path_factory.mktemp("second")
    shutil.copytree(FIXTURE / "catalog", root / "catalog")
    shutil.copytree(ROOT / "environments", root / "environments")
    return root


def test_the_second_catalog_lints_and_every_consumer_is_reached_by_an_example(second: Path) -> None:
    catalog, environments = load(second)
    local = next(e for e in environments if e.name == "local")
    (event,) = catalog.events
    assert routing.channels(event) == ("bus",)  # no topic at all
    reached: set[routing.Receiver] = set()
    for index, example in enumerate(event.latest.examples):
        delivered = routing.bus_event(
            catalog.domain(event.domain).source,
            event.name,
            {"data": example, "id": f"e{index}"},
            event_id=f"r{index}",
            time="2026-01-01T00:00:00Z",
            account=local.account_id,
            region=local.region,
        )
        reached |= routing.expected_on_bus(catalog, event.qualified_name, delivered)
    consumers = {c.qualified_name for c in catalog.consumers}
    assert {r.consumer for r in reached} == consumers  # both consumers, by the examples alone
    heavy = next(c for c in catalog.consumers if c.route and c.route.pattern)
    # camelCase fields reach the pattern and the transformer unchanged
    assert patterns.detail_paths(heavy.route.pattern)[0][0] == "data.weightGrams"


def test_the_second_catalog_synthesizes_local_taps_within_the_name_limits(second: Path, tmp_path: Path) -> None:
    result = synthesize(second, tmp_path / "out", environments=["local"])
    names = Names(env="local", region="us-east-1", account_id="123456789012")
    catalog, _ = load(second)
    for consumer in catalog.consumers:
        for target in consumer.route.targets:
            if target.kind != "queue":
                tap = names.target_tap(consumer.domain, consumer.name, target.name)
                assert len(tap) <= 80 and tap.endswith("-tap")  # hashed to fit SQS's limit
    stacks = {s.name for s in result.stacks}
    assert stacks == {"local-platform", "local-warehouse-fulfilment-operation"}
