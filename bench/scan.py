"""Scan time for the sample catalog and generated catalogs: resources, results, checks and median seconds.

    .venv/bin/python bench/scan.py                  # sample catalog + 250/500/1000-event catalogs, 3 runs each
    .venv/bin/python bench/scan.py --sizes 1000 --repeat 1

Target: scan time grows no faster than linearly in resources; the 1,000-event catalog (one environment) <= 60 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_gen import generate  # noqa: E402
from eventform.catalog.loader import load  # noqa: E402
from eventform.compliance.scan import ScanConfig, ScanReport, scan  # noqa: E402
from eventform.synthesis.app import synthesize  # noqa: E402


def measure(label: str, catalog_root: Path, work: Path, repeat: int, jobs: int) -> tuple[str, ScanReport, list[float]]:
    synthesized = synthesize(catalog_root, work / "cdktf.out")
    catalog, environments = load(catalog_root)
    config = ScanConfig(ROOT, synthesized.outdir / "stacks", work / "reports", date.today(), jobs=jobs)
    timings, report = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        report = scan(config, catalog, environments)
        timings.append(time.perf_counter() - started)
    assert report is not None
    return label, report, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="250,500,1000", help="events per generated catalog, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="checkov worker processes")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="eventform-bench-") as scratch:
        base = Path(scratch)
        rows.append(measure("sample (4 envs)", ROOT, base / "sample", args.repeat, args.jobs))
        for size in (int(s) for s in args.sizes.split(",") if s):
            generated = generate(base / f"gen{size}", events=size, environments=("prod",))
            label = f"{size} events (prod)"
            rows.append(measure(label, generated.root, base / f"gen{size}" / "work", args.repeat, args.jobs))
    header = f"{'catalog':<18} {'stacks':>6} {'resources':>9} {'results':>8} {'checks':>6} {'median s':>9} "
    header += f"{'min s':>7} {'ms/resource':>11} {'ok':>4}"
    print(header)
    for label, report, timings in rows:
        resources = sum(report.resources.values())
        median = statistics.median(timings)
        print(
            f"{label:<18} {len(report.resources):>6} {resources:>9} {len(report.findings):>8} "
            f"{len(report.check_ids):>6} {median:>9.1f} {min(timings):>7.1f} {1000 * median / resources:>11.2f} "
            f"{'yes' if report.ok else 'NO':>4}"
        )
    print(f"(median of {args.repeat} runs, {args.jobs} checkov workers; checkov start-up is a fixed cost per worker)")


if __name__ == "__main__":
    main()
