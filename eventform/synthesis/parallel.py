"""Parallel synthesis by stack: stacks never reference each other, so large syntheses run in worker processes.

Each worker is a fresh interpreter (``python -m eventform.synthesis.stack_worker``) that imports the AWS bindings
once and synthesizes its share of the stacks into its own folder inside the caller's staging folder; the caller then
moves every stack into the staging folder and merges the manifests, sorted by stack name, so the result is byte for
byte the sequential one. Stacks are assigned largest first to the least loaded worker (a deterministic plan). A
worker costs a Node start and a bindings import (~0.6 s) and a Node heap of its own: the in-process path stays the
default below :data:`PARALLEL_FROM` estimated resources, for a single stack, on one core, and with
``EVENTFORM_SYNTH_WORKERS=1``.

Workers run in sessions of their own and die with their parent (``PR_SET_PDEATHSIG`` on Linux): Ctrl-C reaches the
caller only, which stops every worker before the error travels on, and their output (captured in files) never
reaches the terminal except as the one-line reason of a failed worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

WORKERS_VARIABLE = "EVENTFORM_SYNTH_WORKERS"  # 1: always in-process; N: up to N workers; unset: automatic
PARALLEL_FROM = 1500  # estimated resources from which two workers beat one process (each pays the bindings import)
WORKER_MODULE = "eventform.synthesis.stack_worker"
JOB_FILE = "job.pickle"  # in a worker's folder: what to build (catalog, stacks, packages)
RESULT_FILE = "result.json"  # in a worker's folder: {"ok": true} or the failure, for the caller to raise
PR_SET_PDEATHSIG = 1


class WorkerError(RuntimeError):
    """A synthesis worker failed for a reason that is not an OS error (those are raised as such)."""


class Stack(Protocol):
    name: str


@dataclass(frozen=True)
class Assignment:
    """The stacks one worker builds, and their estimated resources."""

    stacks: tuple[str, ...]
    weight: int


def worker_count(requested: int | None, stacks: int, estimated_resources: int) -> int:
    """How many workers to use: ``requested`` (or ``EVENTFORM_SYNTH_WORKERS``) capped by the stacks; else one per
    core when the synthesis is large enough to repay each worker's bindings import."""
    if requested is None:
        text = os.environ.get(WORKERS_VARIABLE, "").strip()
        requested = int(text) if text.isdigit() and int(text) > 0 else None
    if requested is not None:
        return max(1, min(requested, stacks))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if stacks < 2 or cores < 2 or estimated_resources < PARALLEL_FROM:
        return 1
    return min(cores, stacks)


def assign(weights: dict[str, int], workers: int) -> list[Assignment]:
    """Largest stack first, each to the least loaded worker (ties: the lower worker); a deterministic plan."""
    bins: list[list[str]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for name in sorted(weights, key=lambda n: (-weights[n], n)):
        target = min(range(workers), key=lambda i: (loads[i], i))
        bins[target].append(name)
        loads[target] += weights[name]
    return [Assignment(tuple(b), load) for b, load in zip(bins, loads, strict=True) if b]


def _die_with_parent() -> None:
    """Runs in the child before exec: a SIGKILL of the caller must not leave workers synthesizing for nobody."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _start(folder: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, *(["-O"] if sys.flags.optimize else []), "-m", WORKER_MODULE, str(folder)]
    with open(folder / "output.log", "wb") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C goes to the caller, which stops the workers itself
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )


def _stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """Stop every worker that still runs, with its jsii Node process (the worker's whole process group)."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
    for process in processes:
        process.wait()


@dataclass
class Workers:
    """Worker processes that import the AWS bindings ahead of their job: started by :func:`prestart` while the
    caller still loads the catalog, given their stacks by :func:`synthesize_in_workers`, or stopped (:meth:`stop`)
    when the synthesis needs fewer of them (e.g. every stack came from the cache)."""

    folders: list[Path]
    processes: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        _stop(self.processes)


def _folder(staging: Path, number: int) -> Path:
    folder = staging / f".worker-{number}"
    folder.mkdir()
    return folder


def prestart(staging: Path, count: int) -> Workers:
    """Start ``count`` workers in ``staging`` now; each imports the bindings, then waits for its job file."""
    workers = Workers([], [])
    try:
        for number in range(count):
            workers.folders.append(_folder(staging, number))
            workers.processes.append(_start(workers.folders[-1]))
    except BaseException:
        workers.stop()
        raise
    return workers


def expected_large(root: Path, environments: int) -> bool:
    """Whether a synthesis will be large enough for workers, judged before loading anything: from the number of event
    schema files (a generated catalog has ~14 resources per event and environment; half of that is counted, so a
    catalog at the edge starts no worker for nothing) and the environments asked for (0: all of them)."""
    if environments == 0:
        environments = max(1, len(list((root / "environments").glob("*.yaml"))))
    schemas = sum(1 for _ in (root / "catalog").glob("*/*/v*.schema.json"))
    return schemas * environments * 7 >= PARALLEL_FROM


def _write_job(folder: Path, job: dict[str, Any]) -> None:
    """Written then renamed: a waiting worker never reads half a job."""
    temporary = folder / f".{JOB_FILE}.tmp"
    temporary.write_bytes(pickle.dumps(job))
    temporary.rename(folder / JOB_FILE)


def _raise_failure(folder: Path, process: subprocess.Popen[bytes], stacks: Sequence[str]) -> None:
    try:
        result: dict[str, Any] = json.loads((folder / RESULT_FILE).read_text())
    except (OSError, ValueError):
        log = (folder / "output.log").read_text(errors="replace") if (folder / "output.log").exists() else ""
        last = next((line for line in reversed(log.splitlines()) if line.strip()), "no output")
        raise WorkerError(
            f"the synthesis worker for {', '.join(stacks)} exited with code {process.returncode} ({last.strip()})"
        ) from None
    if result.get("ok"):
        return
    if result.get("errno") is not None:
        raise OSError(result["errno"], result.get("strerror") or "", result.get("filename"))
    raise WorkerError(
        f"synthesizing {', '.join(stacks)} failed in a worker: {result.get('type')}: {result.get('message')}"
    )


def synthesize_in_workers(
    staging: Path, assignments: list[Assignment], job: dict[str, Any], ready: Workers | None = None
) -> list[Path]:
    """Synthesize each assignment in its own worker into ``staging/.worker-<n>/out`` and return those folders (for
    :func:`merge`). ``job``: what every worker needs besides its stacks (catalog, planned stacks, packages), pickled
    once per worker. ``ready``: workers :func:`prestart` started (the surplus is stopped; missing ones are started
    here). Every worker is stopped on the way out, whatever happens."""
    workers = ready or Workers([], [])
    try:
        for surplus in workers.processes[len(assignments) :]:
            _stop([surplus])
        folders, processes = workers.folders[: len(assignments)], workers.processes[: len(assignments)]
        workers = Workers(folders, processes)
        while len(folders) < len(assignments):
            folders.append(_folder(staging, len(folders)))
            processes.append(_start(folders[-1]))
        for folder, assignment in zip(folders, assignments, strict=True):
            _write_job(folder, {**job, "stacks": assignment.stacks})
        pending = set(range(len(processes)))
        while pending:  # the first failure stops the others at once
            for index in sorted(pending):
                if processes[index].poll() is not None:
                    pending.discard(index)
                    _raise_failure(folders[index], processes[index], assignments[index].stacks)
            time.sleep(0.05)
    finally:
        workers.stop()
    return [folder / "out" for folder in folders]


def merge(staging: Path, outputs: list[Path], manifests: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Move the stacks synthesized into ``outputs`` into ``staging/stacks`` and write ``staging/manifest.json``: the
    union of their manifests and of ``manifests`` (stacks already in ``staging/stacks``, from the cache), stacks
    sorted by name."""
    (staging / "stacks").mkdir(exist_ok=True)
    manifest: dict[str, Any] = {}
    stacks: dict[str, Any] = {}
    parts = [dict(m) for m in manifests or []]
    for out in outputs:
        parts.append(json.loads((out / "manifest.json").read_text()))
        for stack in sorted((out / "stacks").iterdir()):
            stack.rename(staging / "stacks" / stack.name)
    for part in parts:
        stacks.update(part.pop("stacks", {}))
        manifest.update(part)
    manifest["stacks"] = dict(sorted(stacks.items()))
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


__all__ = [
    "PARALLEL_FROM",
    "WORKERS_VARIABLE",
    "Assignment",
    "WorkerError",
    "Workers",
    "assign",
    "expected_large",
    "merge",
    "prestart",
    "synthesize_in_workers",
]
