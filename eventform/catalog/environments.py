"""Environment files (``environments/<name>.yaml``): account, region, backend, alarms, waivers."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eventform.catalog import buses as eventbridge
from eventform.catalog.model import (
    Alarms,
    Backend,
    Environment,
    Waiver,
)
from eventform.catalog.parsing import Collector, line_of, parse_duration, read_yaml, schema_problems, to_plain
from eventform.catalog.regions import region_problem
from eventform.catalog.service_levels import environment_slo


# --------------------------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------------------------
def load_environments(directory: Path, only: Iterable[str] | None = None) -> tuple[Environment, ...]:
    out = Collector()
    wanted = set(only) if only else None
    files = sorted(directory.glob("*.yaml"))
    if not files:
        out.add(directory, "", "no environment files found", "add environments/<name>.yaml (see environments/dev.yaml)")
    known = {f.stem for f in files}
    if wanted and wanted - known:
        for name in sorted(wanted - known):
            out.add(
                directory / f"{name}.yaml",
                "",
                f"unknown environment {name!r}",
                f"use one of: {', '.join(sorted(known))}",
            )
    environments = []
    for path in files:
        if wanted is not None and path.stem not in wanted:
            continue
        environment = _load_environment(path, out)
        if environment:
            environments.append(environment)
    out.check()
    return tuple(environments)


def _load_environment(path: Path, out: Collector) -> Environment | None:
    document = read_yaml(path, out)
    if document is None or not schema_problems(document, "environment.schema.json", path, out):
        return None
    data = to_plain(document)
    if data["name"] != path.stem:
        out.add(
            path,
            "name",
            f"name {data['name']!r} does not match the file name {path.stem!r}",
            f"set name: {path.stem} or rename the file",
            line_of(document, ["name"]),
        )
        return None
    ok = True
    for where in (["region"], ["backend", "region"]):
        region = data.get(where[0]) if len(where) == 1 else data[where[0]].get(where[1])
        problem = region_problem(region) if isinstance(region, str) else None
        if problem:
            out.add(path, ".".join(where), problem[0], problem[1], line_of(document, where))
            ok = False
    retention = data.get("retention", {})
    queue_retention = parse_duration(retention.get("queue", 4 * 86400))
    dlq_retention = parse_duration(retention.get("dlq", 14 * 86400))
    for key, seconds in (("queue", queue_retention), ("dlq", dlq_retention)):
        if not 60 <= seconds <= 1_209_600:
            out.add(
                path,
                f"retention.{key}",
                f"retention of {seconds}s is outside SQS's 60s..14d",
                "use a value between 1m and 14d",
                line_of(document, ["retention", key]),
            )
            ok = False
    if ok and dlq_retention < queue_retention:
        out.add(
            path,
            "retention.dlq",
            "a DLQ must keep messages at least as long as its source queue",
            "raise retention.dlq to at least retention.queue (14d is the maximum and the usual choice)",
            line_of(document, ["retention", "dlq"]),
        )
        ok = False
    period = parse_duration(data.get("alarms", {}).get("period", 60))
    if period not in (10, 30) and (period < 60 or period % 60):
        out.add(
            path,
            "alarms.period",
            f"CloudWatch alarm periods are 10s, 30s or a multiple of 60s, not {period}s",
            "use 10s, 30s, 1m, 5m, ...",
            line_of(document, ["alarms", "period"]),
        )
        ok = False
    if data["name"] == "local" and "endpoint" not in data:
        out.add(
            path,
            "endpoint",
            "the local environment needs the embedded AWS endpoint",
            "add endpoint: http://127.0.0.1:4566",
            line_of(document, []),
        )
        ok = False
    if data["name"] != "local" and "endpoint" in data:
        out.add(
            path,
            "endpoint",
            "only the local environment talks to an embedded AWS endpoint",
            "remove endpoint from this environment",
            line_of(document, ["endpoint"]),
        )
        ok = False
    partners = {name: entry["account"] for name, entry in sorted(data.get("partners", {}).items())}
    if data["account_id"] in partners.values():
        out.add(
            path,
            "partners",
            f"the environment's own account {data['account_id']} is listed as a partner",
            "remove it from partners: (an environment always trusts its own account)",
            line_of(document, ["partners"]),
        )
        ok = False
    ok = _state_key_fits(path, document, data, out) and ok
    admin_role = data.get("key_admin_role")
    if admin_role is not None and not admin_role.startswith(f"arn:aws:iam::{data['account_id']}:role/"):
        out.add(
            path,
            "key_admin_role",
            f"{admin_role!r} is not a role of this environment's account {data['account_id']}",
            f"write arn:aws:iam::{data['account_id']}:role/<the role that deploys and administers the keys>",
            line_of(document, ["key_admin_role"]),
        )
        ok = False
    waivers = _waivers(path, document, data.get("waivers", []), out)
    eventbridge_settings = eventbridge.environment_settings(path, document, data, out)
    slo = environment_slo(path, document, data, out)
    if not ok or waivers is None or eventbridge_settings is None or slo is None:
        return None
    alarms = data.get("alarms", {})
    backend = data["backend"]
    return Environment(
        name=data["name"],
        account_id=data["account_id"],
        region=data["region"],
        provider_version=data["provider_version"],
        backend=Backend(
            type=backend["type"],
            bucket=backend.get("bucket"),
            region=backend.get("region"),
            key_prefix=backend.get("key_prefix", "eventform"),
            kms_key=backend.get("kms_key"),
        ),
        encryption=data["encryption"],
        path=path,
        queue_retention=queue_retention,
        dlq_retention=dlq_retention,
        log_retention_days=retention.get("logs_days", 30),
        alarms=Alarms(
            dlq_messages=alarms.get("dlq_messages", 0),
            oldest_message_age=slo.max_lag,  # the default lag (slo.max_lag; older files: oldest_message_age)
            period=parse_duration(alarms.get("period", 60)),
            evaluation_periods=alarms.get("evaluation_periods", 1),
        ),
        tags=dict(sorted(data.get("tags", {}).items())),
        endpoint=data.get("endpoint"),
        waivers=waivers,
        eventbridge=eventbridge_settings,
        partners=partners,
        key_admin_role=data.get("key_admin_role"),
        slo=slo,
    )


STATE_KEY = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):([0-9]{12}):(key/[0-9a-f-]{36}|alias/[A-Za-z0-9/_-]+)$")


def _state_key_fits(path: Path, document: Any, data: dict[str, Any], out: Collector) -> bool:
    """An S3 backend's state key is a KMS key (or alias) ARN of the environment's account in the bucket's region."""
    backend = data["backend"]
    key = backend.get("kms_key")
    if backend["type"] != "s3" or key is None:
        return True
    match = STATE_KEY.match(key)
    if match and (match.group(1), match.group(2)) == (backend["region"], data["account_id"]):
        return True
    out.add(
        path,
        "backend.kms_key",
        f"{key!r} is not a KMS key of account {data['account_id']} in the backend's region {backend['region']}",
        f"write arn:aws:kms:{backend['region']}:{data['account_id']}:alias/<name> (or :key/<id>)",
        line_of(document, ["backend"]),
    )
    return False


def _waivers(path: Path, document: Any, entries: list[dict[str, Any]], out: Collector) -> tuple[Waiver, ...] | None:
    """Waivers with real dates and a reason that says something; expiry itself is judged by the scan, not here."""
    waivers, ok = [], True
    for index, entry in enumerate(entries):
        line = line_of(document, ["waivers", index])
        try:
            expires = datetime.date.fromisoformat(entry["expires"])
        except ValueError:
            out.add(
                path,
                f"waivers[{index}].expires",
                f"{entry['expires']!r} is not a calendar date",
                "use YYYY-MM-DD, e.g. 2027-03-31",
                line,
            )
            ok = False
            continue
        if not entry["reason"].strip() or len(set(entry["reason"].split())) < 3:
            out.add(
                path,
                f"waivers[{index}].reason",
                "a waiver needs a reason that explains why the finding is accepted",
                "write a sentence: what is accepted, and why it is safe",
                line,
            )
            ok = False
            continue
        waivers.append(Waiver(entry["check"], entry["resource"], entry["owner"], entry["reason"].strip(), expires))
    return tuple(waivers) if ok else None
