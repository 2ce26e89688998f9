"""The benchmark catalog generator writes a catalog the loader accepts, deterministically."""

from __future__ import annotations

from pathlib import Path

from bench.catalog_gen import generate
from eventform.catalog.loader import load


def test_generated_catalog_loads(tmp_path: Path) -> None:
    generated = generate(tmp_path / "a", events=30, consumers_per_event=2, events_per_domain=10)
    catalog, environments = load(generated.root)
    assert (generated.domains, generated.events, generated.consumers) == (3, 30, 60)
    assert len(catalog.events) == 30 and len(catalog.consumers) == 60
    assert [e.name for e in environments] == ["prod"] and environments[0].waivers
    consumer = catalog.domain("domain001").consumers[0]
    assert consumer.events[0].startswith("domain000/")  # consumers live downstream of the events they read


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    generate(first, events=12, events_per_domain=5)
    generate(second, events=12, events_per_domain=5)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
