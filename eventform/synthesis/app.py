"""Build the CDK Terrain app from the catalog and environments, and synthesize it safely.

``synthesize`` validates everything first, synthesizes into a temporary directory next to the output, and only then
moves each stack into place: invalid input or a crash never leaves a half-written ``cdktf.out``. It holds the
output's lock (:mod:`eventform.synthesis.lock`) and first repairs what a killed run left (:func:`recover`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eventform.catalog.errors import CatalogError, Problem
from eventform.catalog.loader import load
from eventform.catalog.model import Catalog, Environment
from eventform.catalog.naming import Names
from eventform.synthesis import packaging, parallel, provider_locks, stack_cache
from eventform.synthesis.atomic import write_atomic
from eventform.synthesis.lock import INSTALLING, interrupted_install, output_lock
from eventform.synthesis.packaging import Package
from eventform.synthesis.packaging import build as build_package
from eventform.synthesis.toolchain import ToolMissingError, ensure_jsii_node

DEFAULT_OUTDIR = "cdktf.out"
ENV_VARIABLE = "EVENTFORM_ENV"  # comma-separated environments to build (default: all)
STACK_VARIABLE = "EVENTFORM_STACK"  # comma-separated stack names to build (default: all of those environments)
# S3-native state locking needs Terraform >= 1.10; cdktn validates features against this declared target.
TARGET_VERSIONS = {"terraform": ">=1.10.0"}


@dataclass(frozen=True)
class PlannedStack:
    name: str
    environment: Environment
    domain: str | None  # None: the platform stack
    depends_on: tuple[str, ...] = ()  # stacks whose resources must exist first (topics, keys)


def plan_stacks(
    catalog: Catalog, environments: Iterable[Environment], only: Iterable[str] | None = None
) -> list[PlannedStack]:
    """The stacks to build, in dependency order per environment (platform first, then publishers, then consumers)."""
    planned: list[PlannedStack] = []
    for environment in environments:
        names = Names(env=environment.name, region=environment.region, account_id=environment.account_id)
        planned.append(PlannedStack(names.platform_stack, environment, None))
        publishers = [d for d in catalog.domains if d.topic is not None or d.bus is not None]
        others = [d for d in catalog.domains if d.topic is None and d.bus is None]
        for domain in publishers + others:
            sources = {s for c in domain.consumers for s in c.source_domains()} - {domain.name}
            depends = sorted(names.stack(s) for s in sources)
            if environment.customer_managed_keys:  # keys live in the platform stack
                depends.insert(0, names.platform_stack)
            planned.append(PlannedStack(names.stack(domain.name), environment, domain.name, tuple(depends)))
    if only:
        wanted = set(only)
        known = {p.name for p in planned}
        unknown = sorted(wanted - known)
        if unknown:
            raise CatalogError(
                Problem(Path("--stack"), name, f"unknown stack {name!r}", f"use one of: {', '.join(sorted(known))}")
                for name in unknown
            )
        planned = [p for p in planned if p.name in wanted]
    return planned


def _split(value: str | None) -> list[str] | None:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items or None


def selection_from_environment() -> tuple[list[str] | None, list[str] | None]:
    return _split(os.environ.get(ENV_VARIABLE)), _split(os.environ.get(STACK_VARIABLE))


def environments_of(stacks: Iterable[str]) -> list[str]:
    return sorted({s.split("-", 1)[0] for s in stacks})


def load_and_plan(
    root: Path,
    environments: list[str] | None = None,
    stacks: list[str] | None = None,
    local_endpoint: str | None = None,
) -> tuple[Catalog, list[PlannedStack]]:
    """Load + validate the catalog and environments and plan the stacks: everything before the AWS bindings.

    ``local_endpoint`` replaces the local environment's endpoint (``eventform local up`` picks a free port).
    """
    if stacks and not environments:
        environments = environments_of(stacks)
    catalog, loaded = load(root, environments)
    if local_endpoint:
        loaded = tuple(replace(e, endpoint=local_endpoint) if e.is_local else e for e in loaded)
    return catalog, plan_stacks(catalog, loaded, stacks)


def build_packages(root: Path, catalog: Catalog) -> dict[str, Package]:
    """Every handler's and enrichment's deterministic zip (under ``.cache/packages``), by consumer or pipe key."""
    packages = {
        c.qualified_name: build_package(root, c, catalog, root / ".cache" / "packages")
        for c in catalog.consumers
        if c.handler
    }
    packages.update(packaging.enrichment_packages(root, catalog, root / ".cache" / "packages"))
    return packages


def construct(outdir: Path | None, catalog: Catalog, planned: list[PlannedStack], packages: dict[str, Package]):
    """The CDK Terrain app of the planned stacks (imports the AWS bindings: seconds, the first time)."""
    ensure_jsii_node()
    from cdktn import App

    from modules.stacks.domain import DomainStack
    from modules.stacks.platform import PlatformStack

    context = {"targetVersions": TARGET_VERSIONS}
    app = App(outdir=str(outdir), context=context) if outdir else App(context=context)  # else the CLI's outdir
    for stack in planned:
        if stack.domain is None:
            PlatformStack(app, stack.name, environment=stack.environment, catalog=catalog)
        else:
            DomainStack(
                app,
                stack.name,
                environment=stack.environment,
                catalog=catalog,
                domain=catalog.domain(stack.domain),
                packages=packages,
            )
    return app


def build_app(
    root: Path,
    outdir: Path | None,
    environments: list[str] | None = None,
    stacks: list[str] | None = None,
    local_endpoint: str | None = None,
):
    """Load + validate, then construct the app. Only imports the AWS bindings once input is known good."""
    catalog, planned = load_and_plan(root, environments, stacks, local_endpoint)
    return construct(outdir, catalog, planned, build_packages(root, catalog)), planned


@dataclass(frozen=True)
class SynthResult:
    stacks: list[PlannedStack]
    outdir: Path
    seconds: float
    catalog: Catalog | None = None  # the validated catalog it was built from (callers need not load it again)

    def every_stack(self) -> list[PlannedStack]:
        """Every stack of the synthesized stacks' environments (for deploy waves), without loading the catalog."""
        if self.catalog is None:
            raise ValueError("this synthesis result carries no catalog")
        environments = {p.environment.name: p.environment for p in self.stacks}
        return plan_stacks(self.catalog, environments.values())


def estimated_resources(catalog: Catalog, stack: PlannedStack) -> int:
    """A rough count of a stack's resources (a queue, DLQ, subscription, role... per consumer), to balance workers."""
    if stack.domain is None:
        return 10 + 3 * len(catalog.domains)
    domain = catalog.domain(stack.domain)
    parts = len(domain.pipes) + len(domain.buckets) + len(domain.schedules) + len(domain.api_calls)
    return 10 + 2 * len(domain.events) + 5 * len(domain.consumers) + 4 * parts


def synthesize(
    root: Path,
    outdir: Path | None = None,
    environments: list[str] | None = None,
    stacks: list[str] | None = None,
    local_endpoint: str | None = None,
    workers: int | None = None,
    cache: bool | None = None,
) -> SynthResult:
    """Synthesize into a private staging folder beside ``outdir``, then move each stack into place, holding the
    output's lock throughout (a second synth of the same output fails with who holds it).

    ``workers``: worker processes for a large synthesis (:mod:`eventform.synthesis.parallel`; default: one per core
    when it pays, else in this process). ``cache``: reuse and fill ``.cache/synth`` (:mod:`.stack_cache`; default:
    on unless ``EVENTFORM_SYNTH_CACHE=0``). The output is the same bytes either way."""
    outdir = (outdir or root / DEFAULT_OUTDIR).resolve()
    started = time.perf_counter()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(outdir, "synth"):
        recover(outdir)
        staging = Path(tempfile.mkdtemp(prefix=f"{staging_prefix(outdir)}{os.getpid()}-", dir=outdir.parent))
        use_cache = stack_cache.enabled(cache)
        inputs = stack_cache.inputs_version(root) if use_cache else ""
        selected = stack_cache.selection_key(inputs, environments, stacks, local_endpoint) if use_cache else ""
        ready = None
        try:
            if not (use_cache and stack_cache.seen(root, selected)):
                ready = _prestart(root, staging, environments, stacks, workers)
            catalog, planned = load_and_plan(root, environments, stacks, local_endpoint)
            packages = build_packages(root, catalog)
            known = inputs if use_cache else None
            _build(root, staging, catalog, planned, packages, local_endpoint, workers, known, ready)
            provider_locks.place(root, staging / "stacks", {p.name: p.environment.name for p in planned})
            _install(staging, outdir, [p.name for p in planned])
            if use_cache:
                stack_cache.remember(root, selected)
        finally:
            if ready is not None:
                ready.stop()
            shutil.rmtree(staging, ignore_errors=True)
    return SynthResult(stacks=planned, outdir=outdir, seconds=time.perf_counter() - started, catalog=catalog)


PRESTART_STACKS = 2**16  # stand-in for the stack count when prestarting: the cores and the request decide


def _prestart(
    root: Path, staging: Path, environments: list[str] | None, stacks: list[str] | None, workers: int | None
) -> parallel.Workers | None:
    """Workers started before the catalog is loaded, so that their bindings import overlaps the load: only for a
    whole-environment synthesis that the schema files say is large (:func:`parallel.expected_large`) and that may
    use workers (``workers``/``EVENTFORM_SYNTH_WORKERS``); :func:`_build` gives them their stacks or stops them."""
    if stacks or not parallel.expected_large(root, len(environments or [])):
        return None
    count = parallel.worker_count(workers, PRESTART_STACKS, parallel.PARALLEL_FROM)
    if count < 2:
        return None
    try:
        ensure_jsii_node()
    except ToolMissingError:
        return None  # reported by _build, after the catalog: bad input is still reported first
    return parallel.prestart(staging, count)


def _build(
    root: Path,
    staging: Path,
    catalog: Catalog,
    planned: list[PlannedStack],
    packages: dict[str, Package],
    local_endpoint: str | None,
    workers: int | None,
    inputs: str | None,
    ready: parallel.Workers | None = None,
) -> None:
    """Fill ``staging`` (``stacks/`` + ``manifest.json``): cached stacks are copied, the others built in this
    process or in workers (``ready``: workers started ahead, stopped if not needed), then every built stack is added
    to the cache. ``inputs``: :func:`stack_cache.inputs_version` of ``root``; None: the cache is off."""
    (staging / "stacks").mkdir()
    keys: dict[str, str] = {}
    cached: dict[str, dict[str, Any]] = {}
    use_cache = inputs is not None
    if inputs is not None:
        hashes = [p.sha256_base64 for p in packages.values()]
        keys = {p.name: stack_cache.stack_key(inputs, p.name, hashes, local_endpoint) for p in planned}
        for stack in planned:
            entry = stack_cache.restore(root, keys[stack.name], staging, stack.name)
            if entry is not None:
                cached[stack.name] = entry
    missing = [p for p in planned if p.name not in cached]
    outputs: list[Path] = []
    if missing:
        weights = {p.name: estimated_resources(catalog, p) for p in missing}
        count = parallel.worker_count(workers, len(missing), sum(weights.values()))
        if count > 1:
            ensure_jsii_node()  # a missing Node fails here, once, with its fix
            job = {"catalog": catalog, "planned": missing, "packages": packages}
            outputs = parallel.synthesize_in_workers(staging, parallel.assign(weights, count), job, ready)
        else:
            if ready is not None:
                ready.stop()
            outputs = [staging / ".build"]
            construct(outputs[0], catalog, missing, packages).synth()
    elif ready is not None:
        ready.stop()  # every stack came from the cache
    manifest = parallel.merge(staging, outputs, list(cached.values()))
    for stack in missing if use_cache else []:
        alone = {**manifest, "stacks": {stack.name: manifest["stacks"][stack.name]}}
        stack_cache.store(root, keys[stack.name], staging / "stacks" / stack.name, alone)


LEGACY_STAGING = ".synth-"  # staging prefix of earlier versions, directly in the output's parent


def staging_prefix(outdir: Path) -> str:
    return f".{outdir.name}.synth-"


def recover(outdir: Path) -> None:
    """Called under the output's lock, so whatever is found belongs to a run that died: remove its staging
    folders, put back a stack it had retired but not replaced (``.<stack>.old``) and delete the other retired ones.
    A stack is then always whole; the journal of an interrupted install stays until a synth rebuilds its stacks."""
    parent = outdir.parent
    for leftover in [*parent.glob(f"{staging_prefix(outdir)}*"), *parent.glob(f"{LEGACY_STAGING}*")]:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
    stacks_dir = outdir / "stacks"
    if not stacks_dir.is_dir():
        return
    for retired in stacks_dir.glob(".*.old"):
        target = stacks_dir / retired.name[1:].removesuffix(".old")
        if retired.is_dir() and not target.exists():
            retired.rename(target)
        else:
            shutil.rmtree(retired, ignore_errors=True)
    for temporary in outdir.glob(".*.tmp"):  # write_atomic's temporaries (manifest, journal)
        temporary.unlink(missing_ok=True)


def _move_stack(staged: Path, target: Path) -> None:
    """Replace ``target`` by ``staged``: the old one is renamed aside first, so a kill between the two renames leaves
    ``.<stack>.old``, which :func:`recover` puts back."""
    retired = target.with_name(f".{target.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        target.rename(retired)
    _place(staged, target)
    shutil.rmtree(retired, ignore_errors=True)


def _place(staged: Path, target: Path) -> None:
    """The second rename of a stack's move (its own function so fault tests can kill the process right here)."""
    staged.rename(target)


def _install(staging: Path, outdir: Path, stack_names: list[str]) -> None:
    """Move freshly synthesized stacks into ``outdir``, keeping other stacks, and merge the manifest."""
    (outdir / "stacks").mkdir(parents=True, exist_ok=True)
    pending = sorted({*interrupted_install(outdir), *stack_names} - set(stack_names))
    journal = outdir / INSTALLING
    write_atomic(journal, json.dumps({"pid": os.getpid(), "stacks": sorted({*pending, *stack_names})}) + "\n")
    for name in stack_names:
        _move_stack(staging / "stacks" / name, outdir / "stacks" / name)
    manifest_path = outdir / "manifest.json"
    fresh = json.loads((staging / "manifest.json").read_text())
    if manifest_path.exists():
        merged = json.loads(manifest_path.read_text())
        merged_stacks = {k: v for k, v in merged.get("stacks", {}).items() if (outdir / "stacks" / k).is_dir()}
        merged_stacks.update(fresh["stacks"])
        fresh["stacks"] = dict(sorted(merged_stacks.items()))
    write_atomic(manifest_path, json.dumps(fresh, indent=2, sort_keys=True) + "\n")
    if pending:  # stacks an earlier, killed install left half-done and this run did not rebuild
        write_atomic(journal, json.dumps({"pid": os.getpid(), "stacks": pending}) + "\n")
    else:
        journal.unlink()
