"""Docs build time for the sample catalog and generated catalogs: pages, site size and median seconds.

    .venv/bin/python bench/docs.py                  # sample catalog + 250/1000-event catalogs, 3 runs each
    .venv/bin/python bench/docs.py --sizes 1000 --repeat 1

Target: the site builds in time linear in pages; the 1,000-event catalog (one environment) in <= 30 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_gen import generate  # noqa: E402
from eventform.authoring.docs import build  # noqa: E402
from eventform.catalog.loader import load  # noqa: E402


def measure(catalog_root: Path, out: Path, repeat: int) -> tuple[int, int, list[float]]:
    """(pages, site bytes, seconds per build) for ``repeat`` builds of one catalog, loading included."""
    timings = []
    pages = 0
    for _ in range(repeat):
        started = time.perf_counter()
        catalog, environments = load(catalog_root)
        pages = build(catalog, environments, out, ROOT).pages
        timings.append(time.perf_counter() - started)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and p.name != "mermaid.min.js")
    return pages, size, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="250,1000", help="events per generated catalog, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="eventform-bench-docs-") as scratch:
        base = Path(scratch)
        rows.append(("sample (4 envs)", *measure(ROOT, base / "sample-site", args.repeat)))
        for size in (int(s) for s in args.sizes.split(",") if s):
            generated = generate(base / f"gen{size}", events=size, environments=("prod",))
            rows.append((f"{size} events (prod)", *measure(generated.root, base / f"gen{size}-site", args.repeat)))
    print(f"{'catalog':<18} {'pages':>6} {'site MB':>8} {'median s':>9} {'min s':>7} {'ms/page':>8}")
    for label, pages, size, timings in rows:
        median = statistics.median(timings)
        print(
            f"{label:<18} {pages:>6} {size / 1e6:>8.1f} {median:>9.2f} {min(timings):>7.2f} "
            f"{1000 * median / pages:>8.1f}"
        )
    print(f"(median of {args.repeat} runs; load + render + swap; site size without the vendored mermaid.min.js)")


if __name__ == "__main__":
    main()
