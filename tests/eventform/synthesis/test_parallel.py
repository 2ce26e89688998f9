"""Parallel synthesis by stack: the same bytes as the in-process path, a deterministic plan, failures raised here."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from eventform.catalog.loader import load
from eventform.synthesis import parallel
from eventform.synthesis.app import SynthResult, estimated_resources, plan_stacks, synthesize


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_workers_write_byte_for_byte_the_sequential_output(
    synthesized: SynthResult, project_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample in two workers (forced: it is below the automatic threshold; started before the catalog is loaded,
    as for a large catalog) against the session's in-process synthesis: same files, same bytes, same stacks in the
    same (dependency) order, no worker folder left over."""
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)  # the sample counts as large: workers are started ahead
    started: list[parallel.Workers] = []
    prestart = parallel.prestart
    monkeypatch.setattr(parallel, "prestart", lambda *args: started.append(prestart(*args)) or started[-1])
    result = synthesize(project_root, tmp_path / "out", workers=2, cache=False)
    assert len(started) == 1 and len(started[0].processes) == 2
    assert all(p.returncode == 0 for p in started[0].processes)  # they built the stacks, then exited
    assert [s.name for s in result.stacks] == [s.name for s in synthesized.stacks]
    sequential, in_workers = _files(synthesized.outdir), _files(result.outdir)
    assert sorted(in_workers) == sorted(sequential)
    assert [name for name in sequential if sequential[name] != in_workers[name]] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # staging (with the workers' folders) is gone


def test_stacks_go_largest_first_to_the_least_loaded_worker() -> None:
    weights = {"a": 10, "b": 50, "c": 30, "d": 30, "e": 5}
    plan = parallel.assign(weights, 2)
    assert plan == [parallel.Assignment(("b", "a", "e"), 65), parallel.Assignment(("c", "d"), 60)]
    assert parallel.assign(weights, 2) == plan  # deterministic
    assert parallel.assign({"a": 1}, 4) == [parallel.Assignment(("a",), 1)]  # no idle worker is started


def test_the_sample_stays_in_process_and_a_large_catalog_uses_every_core(project_root: Path, monkeypatch) -> None:
    monkeypatch.delenv(parallel.WORKERS_VARIABLE, raising=False)
    catalog, environments = load(project_root)
    planned = plan_stacks(catalog, environments)
    sample = sum(estimated_resources(catalog, p) for p in planned)
    assert sample < parallel.PARALLEL_FROM
    assert parallel.worker_count(None, len(planned), sample) == 1
    cores = len(os.sched_getaffinity(0))
    assert parallel.worker_count(None, 21, 12_000) == min(cores, 21) if cores > 1 else 1
    assert parallel.worker_count(None, 1, 12_000) == 1  # one stack: in process
    assert parallel.worker_count(8, 3, 10) == 3  # asked for: capped by the stacks
    monkeypatch.setenv(parallel.WORKERS_VARIABLE, "1")
    assert parallel.worker_count(None, 21, 12_000) == 1


def test_a_failing_worker_is_raised_here_naming_its_stacks(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    plan = [parallel.Assignment(("dev-orders",), 1), parallel.Assignment(("dev-users",), 1)]
    failed = r"synthesizing dev-(orders|users) failed in a worker: AttributeError"
    with pytest.raises(parallel.WorkerError, match=failed):
        parallel.synthesize_in_workers(staging, plan, {"catalog": None, "planned": ["not a stack"], "packages": {}})
    job = pickle.loads((staging / ".worker-0" / parallel.JOB_FILE).read_bytes())
    assert job["stacks"] == ("dev-orders",)


def test_a_prestarted_worker_not_needed_is_stopped_with_its_node(tmp_path: Path) -> None:
    workers = parallel.prestart(tmp_path, 2)
    assert [p.poll() for p in workers.processes] == [None, None]
    workers.stop()
    assert all(p.returncode is not None for p in workers.processes)
    for process in workers.processes:  # the whole process group (jsii's Node included) is gone
        with pytest.raises(ProcessLookupError):
            os.killpg(process.pid, 0)


def test_only_a_large_catalog_starts_workers_before_loading(project_root: Path, tmp_path: Path) -> None:
    from bench.catalog_gen import generate

    assert not parallel.expected_large(project_root, 0)  # the sample, all four environments
    generate(tmp_path / "small", events=100, environments=("prod",))
    generate(tmp_path / "large", events=250, environments=("prod",))
    assert not parallel.expected_large(tmp_path / "small", 1)
    assert parallel.expected_large(tmp_path / "large", 1)


def test_bad_input_is_still_reported_before_a_missing_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers start ahead only when Node is there: a bad catalog is reported first, and nothing was started."""
    from eventform.catalog.errors import CatalogError
    from tests.conftest import copy_project

    project = copy_project(tmp_path / "project")
    (project / "catalog" / "orders.yaml").write_text("domain: [not, a, name]\n")
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)
    monkeypatch.setenv("JSII_NODE", str(tmp_path / "no-node"))
    with pytest.raises(CatalogError, match=r"orders\.yaml"):
        synthesize(project, tmp_path / "out", workers=2, cache=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
