"""Generate a synthetic, valid eventform catalog of any size, for benchmarks (scan, synth) and scale tests.

``generate(root, events=1000)`` writes ``root/catalog`` (domain files, schemas, examples) and ``root/environments``
so that ``eventform lint|synth|scan --root root`` work on it. Output is deterministic for the same arguments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
VERBS = ("created", "updated", "shipped", "cancelled", "confirmed", "archived", "renewed", "expired")
ENVIRONMENT_TEMPLATE = """\
# yaml-language-server: $schema=../eventform/catalog/schemas/environment.schema.json
name: {name}
account_id: "{account}"
region: eu-west-1
provider_version: "~> 6.0"
backend: {{type: local}}
encryption: {encryption}
retention: {{queue: 4d, dlq: 14d, logs_days: 30}}
alarms: {{dlq_messages: 0, oldest_message_age: 15m, period: 1m, evaluation_periods: 1}}
waivers:
  - check: CKV2_AWS_34
    resource: "aws_ssm_parameter.*"
    owner: platform
    reason: SSM locators hold queue URLs and ARNs, not secrets; readers need no kms:Decrypt.
    expires: "2099-12-31"
"""


@dataclass(frozen=True)
class Generated:
    """What was written: counts that benchmarks print next to their timings."""

    root: Path
    domains: int
    events: int
    consumers: int
    environments: tuple[str, ...]


def _schema(domain: str, event: str) -> dict[str, object]:
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"https://schemas.example.com/{domain}/{event}/v1.json",
        "title": f"{event} v1",
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "country"],
        "properties": {
            "id": {"type": "string"},
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "amount": {"type": "number", "minimum": 0},
        },
    }


def generate(
    root: Path,
    events: int,
    consumers_per_event: int = 1,
    events_per_domain: int = 50,
    environments: tuple[str, ...] = ("prod",),
) -> Generated:
    """Write a catalog of ``events`` events in domains of ``events_per_domain``; each event gets
    ``consumers_per_event`` consumers, owned by the next domain (cross-domain fan-out, as in real catalogs)."""
    catalog = root / "catalog"
    catalog.mkdir(parents=True, exist_ok=True)
    domain_count = max(1, -(-events // events_per_domain))
    domains = [f"domain{d:03d}" for d in range(domain_count)]
    published: dict[str, list[str]] = {d: [] for d in domains}
    for index in range(events):
        domain = domains[index // events_per_domain]
        published[domain].append(f"entity{index:04d}.{VERBS[index % len(VERBS)]}")
    consumers = 0
    for position, domain in enumerate(domains):
        lines = [
            "# yaml-language-server: $schema=../eventform/catalog/schemas/catalog.schema.json",
            f"domain: {domain}",
            f"owner: team-{domain}",
            f"description: Generated domain {domain}.",
            f"source: com.example.{domain}",
            "data_classification: internal",
            "topic: {}",
            "events:",
        ]
        for event in published[domain]:
            folder = catalog / domain / event
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "v1.schema.json").write_text(json.dumps(_schema(domain, event), indent=2) + "\n")
            (folder / "v1.examples.json").write_text(json.dumps([{"id": "x-1", "country": "DE"}], indent=2) + "\n")
            lines += [f"  {event}:", f"    description: Generated event {event}.", "    versions: [1]"]
            lines.append("    attributes: [country]")
            number = int(event.split(".", 1)[0].removeprefix("entity"))
            lines.append(f"    volume: {{per_day: {1000 * (1 + number % 10)}, peak_per_second: 5, size: 1KB}}")
        upstream = domains[(position - 1) % len(domains)]
        consumer_lines = []
        for event in published[upstream]:
            for copy in range(consumers_per_event):
                name = f"on-{event.replace('.', '-').replace('_', '-')}-{copy}"
                consumer_lines += [
                    f"  {name}:",
                    f"    description: Generated consumer of {upstream}/{event}.",
                    f"    events: [{upstream}/{event}]",
                    "    queue: {max_receive_count: 5, visibility_timeout: 1m}",
                ]
                consumers += 1
        if consumer_lines:
            lines += ["consumers:", *consumer_lines]
        (catalog / f"{domain}.yaml").write_text("\n".join(lines) + "\n")
    folder = root / "environments"
    folder.mkdir(parents=True, exist_ok=True)
    for number, name in enumerate(environments, start=1):
        encryption = "customer-managed" if name in ("staging", "prod") else "service-managed"
        account = str(number) * 12
        text = ENVIRONMENT_TEMPLATE.format(name=name, account=account, encryption=encryption)
        (folder / f"{name}.yaml").write_text(text)
    return Generated(root, len(domains), events, consumers, tuple(environments))


__all__ = ["Generated", "generate"]
