"""`eventform local up` against the floor the AWS provider imposes, and events per second through the local path.

    .venv/bin/python bench/local.py                 # sample catalog + a generated 50-consumer catalog
    .venv/bin/python bench/local.py --only sample --events 200

For each catalog: the time of `local up` (moto start, synthesis, terraform init, dependency-ordered parallel apply),
the floor = the longest chain of SQS propagation waits (a queue waits for its DLQ; a consumer stack for the stacks
whose topics it subscribes to) times the median SQS creation time measured in the same run's apply logs, their
ratio (target <= 1.5; `local up` creates the topics and buses other stacks need first, then applies every whole
stack at once, so the SQS chain it really waits is the longest inside one stack: "stack floor s"; S3 lifecycle rules
(~55 s) and Kinesis activation (~30 s) wait inside their stacks too), the time of `local rehearse` (every
channel, every handler) and its verdict, then events per second published -> SNS -> SQS -> local runner ->
handler, and `local down`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_gen import generate  # noqa: E402
from eventform.local import embedded as local  # noqa: E402
from eventform.local import rehearsal, report, runner  # noqa: E402
from eventform.local.sending import Channels  # noqa: E402
from eventform.synthesis import deployment  # noqa: E402

SQS_CREATED = re.compile(r"^aws_sqs_queue\.\S+: Creation complete after (?:(\d+)m)?(\d+)s", re.MULTILINE)
QUEUE_REFERENCE = re.compile(r"aws_sqs_queue\.([A-Za-z0-9_-]+)")  # ${aws_sqs_queue.X.arn} or depends_on


def sample_project(target: Path) -> Path:
    for folder in ("catalog", "environments", "handlers"):
        shutil.copytree(ROOT / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def generated_project(target: Path, consumers: int) -> Path:
    """``consumers`` queue consumers in 5 domains that each consume the previous one's events (a ring: a cycle)."""
    per_domain = max(1, consumers // 5)
    generate(target, events=per_domain * 5, events_per_domain=per_domain, environments=())
    shutil.copy(ROOT / "environments" / "local.yaml", target / "environments" / "local.yaml")
    return target


def sqs_chain(stack_json: dict) -> int:
    """The longest chain of SQS queues in one stack where each waits for the one it references (its DLQ)."""
    queues = stack_json.get("resource", {}).get("aws_sqs_queue", {})
    depth: dict[str, int] = {}

    def chain(name: str) -> int:
        if name not in depth:
            referenced = set(QUEUE_REFERENCE.findall(json.dumps(queues[name]))) & queues.keys()
            depth[name] = 1 + max((chain(r) for r in referenced if r != name), default=0)
        return depth[name]

    return max((chain(name) for name in queues), default=0)


def floor_waits(paths: local.LocalPaths, stacks: list[str]) -> int:
    """Longest chain of SQS waits across stacks, following the apply order's dependencies (cycles broken first)."""
    dependencies = local._read_dependencies(paths)
    cyclic = deployment.on_a_cycle(dependencies)
    own = {s: sqs_chain(json.loads((paths.stack_dir(s) / "cdk.tf.json").read_text())) for s in stacks}
    memo: dict[str, int] = {}

    def total(stack: str) -> int:
        if stack not in memo:
            needs = dependencies.get(stack, set()) - (cyclic if stack in cyclic else set())
            memo[stack] = own[stack] + max((total(d) for d in needs), default=0)
        return memo[stack]

    return max((total(s) for s in stacks), default=0)


def measured_sqs_wait(paths: local.LocalPaths, stacks: list[str]) -> float:
    seconds = []
    for stack in stacks:
        for log in (paths.command_log(stack, "apply-first"), paths.command_log(stack, "apply")):
            if log.exists():
                seconds += [int(m or 0) * 60 + int(s) for m, s in SQS_CREATED.findall(log.read_text())]
    return statistics.median(seconds) if seconds else 0.0


def throughput(root: Path, events: int) -> tuple[int, int, float]:
    """Publish ``events`` catalog examples (round robin) and drain every queue; (published, deliveries, seconds)."""
    catalog, connection = rehearsal.connect(root)
    deployed = rehearsal.deployed_consumers(root, catalog, connection)
    # queue consumers: stream and table readers have no queue (and topics publish nothing on their streams)
    bindings = [rehearsal.binding(d, connection) for d in deployed.values() if d.consumer.stream is None]
    channels = Channels(catalog, connection.client, connection.account, connection.region)
    published = [(e, v.number, p) for e in catalog.events if "topic" in e.via for v in e.versions for p in v.examples]
    per_example = max(1, events // len(published))
    started = time.perf_counter()
    sent = [channels.on_topic(e, v, p, "bench") for e, v, p in published for _ in range(per_example)]
    tallies = runner.drain(connection.client("sqs"), bindings, timeout=600)
    elapsed = time.perf_counter() - started
    return len(sent), sum(t.succeeded for t in tallies.values()), elapsed


def static_checks() -> float:
    """What `make demo` runs before the rehearsal: lint, synth (every environment) and scan, as CLI commands in the
    project itself (scan reads the project's policies/ and writes reports/). Without checkov (found as `eventform
    scan` finds it: $EVENTFORM_SCAN_PYTHON or .cache/scan-venv) the scan is left out, and said so."""
    import subprocess

    from eventform.compliance.scan import ScanError, checkov_python

    commands = [["lint"], ["synth"]]
    try:
        checkov_python(ROOT)
        commands.append(["scan"])
    except ScanError as missing:
        print(f"note: demo s leaves the scan out: {missing}")
    started = time.perf_counter()
    for command in commands:
        subprocess.run(
            [sys.executable, "-m", "eventform.cli.main", *command], check=True, capture_output=True, cwd=ROOT
        )
    return time.perf_counter() - started


def measure(label: str, root: Path, events: int, demo: bool = False) -> dict[str, float | str | int]:
    paths = local.LocalPaths(root)
    checks = static_checks() if demo else 0.0
    try:
        result = local.up(root)
        stacks = result.order
        waits = floor_waits(paths, stacks)
        wait = measured_sqs_wait(paths, stacks)
        stack_waits = max(
            (sqs_chain(json.loads((paths.stack_dir(s) / "cdk.tf.json").read_text())) for s in stacks), default=0
        )
        rehearse_started = time.perf_counter()
        _, verdict = report.rehearse(root)
        rehearse_seconds = time.perf_counter() - rehearse_started
        published, deliveries, seconds = (0, 0, 1.0) if demo else throughput(root, events)
    finally:
        down_started = time.perf_counter()
        local.down(root)
        down_seconds = time.perf_counter() - down_started
    floor = waits * wait
    return {
        "catalog": label,
        "stacks": len(stacks),
        "up s": result.total_seconds,
        "SQS waits": waits,
        "wait s": wait,
        "floor s": floor,
        "up/floor": result.total_seconds / floor if floor else float("nan"),
        "stack floor s": stack_waits * wait,
        "rehearse s": rehearse_seconds,
        "rehearsal": "held" if verdict.held else f"{len(verdict.failures)} failed",
        "events": published,
        "deliveries": deliveries,
        "deliveries/s": deliveries / seconds,
        "down s": down_seconds,
        **({"demo s": checks + result.total_seconds + rehearse_seconds + down_seconds} if demo else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("sample", "generated"), help="measure one catalog only")
    parser.add_argument("--consumers", type=int, default=50, help="consumers in the generated catalog")
    parser.add_argument("--events", type=int, default=100, help="events published for the throughput figure")
    parser.add_argument(
        "--demo", action="store_true", help="also time lint + synth + scan (what `make demo` adds), no throughput"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="eventform-bench-local-") as scratch:
        if args.only in (None, "sample"):
            rows.append(measure("sample", sample_project(Path(scratch) / "sample"), args.events, args.demo))
        if args.only in (None, "generated"):
            root = generated_project(Path(scratch) / "generated", args.consumers)
            rows.append(measure(f"{args.consumers} consumers", root, args.events))
    columns = list(rows[0])
    print("  ".join(f"{c:>12}" for c in columns))
    for row in rows:
        print("  ".join(f"{v:>12.1f}" if isinstance(v, float) else f"{v!s:>12}" for v in row.values()))
    print("target: up/floor <= 1.5")


if __name__ == "__main__":
    main()
