"""Synthesis benchmark: bindings import, construct and synth time, resources and peak memory by catalog size.

    .venv/bin/python -m bench.synth [--sizes 10 100 1000] [--repeat 3]

Every measurement runs in a fresh interpreter (as `eventform synth` and `cdktn synth` do), so the AWS bindings'
import cost is paid each time and reported on its own. Peak memory is the sum of the Python process's and the
jsii Node process's high-water marks. From ``--end-to-end-from`` events on, ``synthesize`` itself is also timed end
to end, in process and with one worker per core (:mod:`eventform.synthesis.parallel`). Target (2-core machine):
one environment of the 1,000-event catalog in <= 15 s and <= 1.5 GiB (issue 21). One stack of it is timed too, with
the bindings' import as its share (a former target, <= 1.5x the import, lost its sense when the jsii preload made the
import 6 times shorter: it is the construction that counts now). Figures are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.catalog_gen import generate

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT = "prod"
OPTIMIZE: list[str] = []

# Both child scripts: the pids of a process and of all its descendants (formatted with the scripts, hence {{}}).
PROCESS_TREE = r"""
def tree(root):
    parents = {{}}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(open(f"/proc/{{entry}}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [root], [root]
    while todo:
        pid = todo.pop()
        kids = [c for c, p in parents.items() if p == pid]
        found += kids
        todo += kids
    return found

"""

# Runs in the child interpreter: prints one JSON line of figures.
CHILD = PROCESS_TREE + r"""
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})

def vm_hwm_kib(pid):
    try:
        for line in open(f"/proc/{{pid}}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0

mode, project, out, selector = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
from eventform.synthesis.toolchain import ensure_jsii_node
ensure_jsii_node()
started = time.perf_counter()
import cdktn  # noqa: F401
import modules.stacks.domain  # noqa: F401  (imports every AWS binding eventform uses)
imported = time.perf_counter()
if mode == "import":
    print(json.dumps({{"import": imported - started}}))
    sys.exit(0)
from eventform.synthesis.app import build_app
kwargs = {{"environments": [selector]}} if mode == "env" else {{"stacks": [selector]}}
app, planned = build_app(project, out, **kwargs)
constructed = time.perf_counter()
app.synth()
synthesized = time.perf_counter()
resources = 0
for stack in planned:
    config = json.loads((out / "stacks" / stack.name / "cdk.tf.json").read_text())
    resources += sum(len(v) for v in config.get("resource", {{}}).values())
# jsii runs the bindings in Node, which spawns its own Node worker: count the whole process tree.
memory = sum(vm_hwm_kib(pid) for pid in tree(os.getpid()))
print(json.dumps({{
    "import": imported - started, "construct": constructed - imported, "synth": synthesized - constructed,
    "total": synthesized - started, "stacks": len(planned), "resources": resources, "peak_mib": memory / 1024,
}}))
"""


# Runs in the child interpreter: `synthesize` end to end (what `eventform synth` does) with a given number of
# workers (1: in process), the peak being the sum of the proportional set sizes (PSS) of the whole process tree,
# sampled: resident sizes would count the pages the workers share once per worker.
END_TO_END = PROCESS_TREE + r"""
import json, os, sys, threading, time
from pathlib import Path
sys.path.insert(0, {root!r})
project, out, selector, workers = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
cached = sys.argv[5] == "cached"

def pss_kib(pid):
    # proportional set size: pages shared between the workers (the Node binary, Python's libraries) count once
    try:
        for line in open(f"/proc/{{pid}}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0

peak = [0]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], sum(pss_kib(pid) for pid in tree(os.getpid())))
        done.wait(0.2)
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
from eventform.synthesis.app import synthesize
started = time.perf_counter()
result = synthesize(project, out, environments=[selector], workers=workers, cache=cached)
total = time.perf_counter() - started
done.set()
sampler.join()
print(json.dumps({{"total": total, "stacks": len(result.stacks), "peak_mib": peak[0] / 1024}}))
"""


def run_end_to_end(project: Path, selector: str, workers: int, cached: bool = False) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-out-") as out:
        result = subprocess.run(
            [
                sys.executable,
                "-O",
                "-c",
                END_TO_END.format(root=str(ROOT)),
                str(project),
                f"{out}/cdktf.out",
                selector,
                str(workers),
                "cached" if cached else "fresh",
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
    if result.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_child(mode: str, project: Path, selector: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-out-") as out:
        result = subprocess.run(
            [sys.executable, *OPTIMIZE, "-c", CHILD.format(root=str(ROOT)), mode, str(project), out, selector],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
    if result.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def end_to_end(project: Path, repeat: int) -> None:
    """``synthesize`` as `eventform synth` runs it: in process, in one worker per core, and with every stack cached."""
    cores = len(os.sched_getaffinity(0))
    for workers, cached in ((1, False), (cores, False), (cores, True)):
        if cached:
            run_end_to_end(project, ENVIRONMENT, workers, cached=True)  # fills .cache/synth
        end = median_of([run_end_to_end(project, ENVIRONMENT, workers, cached) for _ in range(repeat)])
        how = "every stack cached" if cached else "in process" if workers == 1 else f"{workers} workers"
        print(
            f"{'':>6} end to end, {how:<18} (python -O, as `eventform synth`): {end['total']:.2f}s, "
            f"peak {end['peak_mib']:.0f} MiB (process tree PSS, sampled every 0.2 s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--end-to-end-from", type=int, default=1000, help="also time `synthesize` in process and in workers from here"
    )
    parser.add_argument("--end-to-end-only", action="store_true", help="only the end-to-end figures, per size")
    args = parser.parse_args()
    if args.end_to_end_only:
        with tempfile.TemporaryDirectory(prefix="bench-catalogs-") as workspace:
            for size in args.sizes:
                project = Path(workspace) / f"catalog-{size}"
                generate(project, events=size, consumers_per_event=2, environments=(ENVIRONMENT,))
                print(f"{size} events, one environment ({ENVIRONMENT}), medians of {args.repeat} runs")
                end_to_end(project, args.repeat)
        return

    imports = median_of([run_child("import", ROOT, "") for _ in range(args.repeat)])["import"]
    print(f"bindings import (median of {args.repeat}): {imports:.2f}s")
    header = (
        f"{'events':>6} {'consumers':>9} {'stacks':>6} {'resources':>9} {'import':>7} {'construct':>9} "
        f"{'synth':>6} {'total':>6} {'peak MiB':>8}"
    )
    print(f"\none environment ({ENVIRONMENT}), medians of {args.repeat} runs")
    print(header)
    largest: tuple[Path, int] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-catalogs-") as workspace:
        for size in args.sizes:
            project = Path(workspace) / f"catalog-{size}"
            generated = generate(project, events=size, consumers_per_event=2, environments=(ENVIRONMENT,))
            figures = median_of([run_child("env", project, ENVIRONMENT) for _ in range(args.repeat)])
            print(
                f"{size:>6} {generated.consumers:>9} {int(figures['stacks']):>6} {int(figures['resources']):>9} "
                f"{figures['import']:>6.2f}s {figures['construct']:>8.2f}s {figures['synth']:>5.2f}s "
                f"{figures['total']:>5.2f}s {figures['peak_mib']:>8.0f}"
            )
            largest = (project, size)
            if size >= args.end_to_end_from:
                end_to_end(project, args.repeat)
        if largest:
            project, size = largest
            # the generated catalog's second domain, or its only one when the catalog is tiny
            domain = "domain001" if (project / "catalog" / "domain001.yaml").is_file() else "domain000"
            stack = f"{ENVIRONMENT}-{domain}"
            single = median_of([run_child("stack", project, stack) for _ in range(args.repeat)])
            ratio = single["total"] / imports
            print(
                f"\none stack ({stack}) of the {size}-event catalog: {single['total']:.2f}s total "
                f"({single['import']:.2f}s import, {single['construct']:.2f}s load+construct, "
                f"{single['synth']:.2f}s synth), {int(single['resources'])} resources, "
                f"{single['peak_mib']:.0f} MiB; {ratio:.2f}x the bindings' import time"
            )


if __name__ == "__main__":
    main()
