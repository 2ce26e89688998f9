"""The README's table of stack outputs and SSM locators is the truth: read it, fill its templates in for the sample
catalog, and compare with what every synthesized stack of every environment holds, both ways (nothing promised is
missing, nothing generated is undocumented), JSON keys of the consumers' locators included."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from eventform.catalog.loader import load
from eventform.catalog.model import Catalog, Consumer, Domain, Environment
from eventform.synthesis.app import SynthResult

ROOT = Path(__file__).resolve().parent.parent
HEADING = "### Stack outputs and SSM locators"
TOKEN = re.compile(r"`([^`]+)`")
LOCATOR_KEY = re.compile(r'"([a-z_]+)" = ')


@dataclass(frozen=True)
class Row:
    outputs: tuple[str, ...]  # templates such as <consumer>_queue_url
    parameters: tuple[str, ...]  # templates such as /eventform/<env>/<domain>/consumers/<consumer>
    keys: tuple[str, ...]  # JSON keys of the parameter's value
    local_keys: tuple[str, ...]  # keys only the local environment adds


def readme_rows() -> dict[str, Row]:
    """The table under HEADING: first cell -> the templates of the other two."""
    text = (ROOT / "README.md").read_text()
    assert HEADING in text, f"README.md lost its section {HEADING!r}"
    rows = {}
    for line in text.split(HEADING, 1)[1].split("\n\n", 2)[2].splitlines():
        if not line.startswith("| ") or line.startswith("| ---") or line.startswith("| what "):
            if rows:
                break
            continue
        what, outputs, parameters = (cell.strip() for cell in line.strip("|").split(" | "))
        everywhere, _, locally = parameters.partition("locally also")
        names = [t for t in TOKEN.findall(outputs) if re.fullmatch(r"[a-z_<>]+", t) and "_" in t]
        rows[what] = Row(
            outputs=tuple(names),
            parameters=tuple(t for t in TOKEN.findall(parameters) if t.startswith("/eventform/")),
            keys=tuple(t for t in TOKEN.findall(everywhere) if re.fullmatch(r"[a-z_]+", t)),
            local_keys=tuple(t for t in TOKEN.findall(locally) if re.fullmatch(r"[a-z_]+", t)),
        )
    return rows


def row(rows: dict[str, Row], start: str) -> Row:
    (found,) = [r for what, r in rows.items() if what.startswith(start)]
    return found


def fill(template: str, **values: str) -> str:
    for name, value in values.items():
        template = template.replace(f"<{name}>", value)
    assert "<" not in template, template
    return template


def output(template: str, **values: str) -> str:
    return fill(template, **values).replace("-", "_").replace(".", "_")


class Expected:
    """Per stack: outputs and SSM parameters (name -> JSON keys, or None for a plain value)."""

    def __init__(self) -> None:
        self.outputs: dict[str, set[str]] = {}
        self.parameters: dict[str, dict[str, frozenset[str] | None]] = {}

    def add(self, stack: str, outputs: list[str], parameters: dict[str, frozenset[str] | None]) -> None:
        self.outputs.setdefault(stack, set()).update(outputs)
        self.parameters.setdefault(stack, {}).update(parameters)


def _consumer(rows: dict[str, Row], consumer: Consumer, env: Environment, expected: Expected) -> None:
    stack, values = f"{env.name}-{consumer.domain}", {"consumer": consumer.name, "domain": consumer.domain}
    queue, push, bus = row(rows, "a consumer with a queue"), row(rows, "a push consumer"), row(rows, "a consumer `via")
    chosen: list[Row] = []
    if consumer.stream is not None:
        chosen.append(row(rows, "a stream consumer"))
    elif consumer.route is not None:
        chosen.append(bus)
        if consumer.route.has_queue:
            chosen.append(queue)
    elif consumer.delivery == "push":
        chosen.append(push)
    else:
        chosen.append(queue)
    for kind in chosen:
        keys = frozenset(kind.keys + (kind.local_keys if env.is_local else ()))
        parameters = {fill(p, env=env.name, **values): keys for p in kind.parameters}
        expected.add(stack, [output(o, **values) for o in kind.outputs], parameters)


def _domain(rows: dict[str, Row], catalog: Catalog, domain: Domain, env: Environment, expected: Expected) -> None:
    stack, values = f"{env.name}-{domain.name}", {"env": env.name, "domain": domain.name}
    for present, start in (
        (domain.topic is not None, "a domain's SNS topic"),
        (domain.bus is not None, "a domain's bus"),
    ):
        if present:
            found = row(rows, start)
            expected.add(stack, list(found.outputs), {fill(p, **values): None for p in found.parameters})
    for bucket in domain.buckets:
        found = row(rows, "a bucket")
        parameters = {fill(p, bucket=bucket.name, **values): None for p in found.parameters}
        expected.add(stack, [output(o, bucket=bucket.name) for o in found.outputs], parameters)
    for stream in domain.streams:
        found = rows["a stream"]
        parameters = {fill(p, stream=stream.name, **values): None for p in found.parameters}
        expected.add(stack, [output(o, stream=stream.name) for o in found.outputs], parameters)
    for delivery in domain.delivery_streams:
        found = row(rows, "a delivery stream")
        parameters = {fill(p, stream=delivery.name, **values): None for p in found.parameters}
        expected.add(stack, [output(o, stream=delivery.name) for o in found.outputs], parameters)
    for workflow in domain.workflows:
        found = row(rows, "a workflow")
        parameters = {fill(p, workflow=workflow.name, **values): None for p in found.parameters}
        expected.add(stack, [output(o, workflow=workflow.name) for o in found.outputs], parameters)
    for endpoint in domain.ingestion:
        found = row(rows, "an ingestion endpoint")
        parameters = {fill(p, endpoint=endpoint.name, **values): frozenset(found.keys) for p in found.parameters}
        expected.add(stack, [output(o, endpoint=endpoint.name) for o in found.outputs], parameters)
    for pipe in domain.pipes:
        wanted = [
            o
            for o in row(rows, "a pipe").outputs
            if not (o.endswith("_pipe_dlq_arn") and not pipe.source.is_stream)
            and not (o.endswith("_enrichment_function_arn") and pipe.enrichment is None)
        ]
        expected.add(stack, [output(o, pipe=pipe.name) for o in wanted], {})
    for consumer in domain.consumers:
        _consumer(rows, consumer, env, expected)
    expected.add(stack, [], {})


def _platform(rows: dict[str, Row], catalog: Catalog, env: Environment, expected: Expected) -> None:
    found = row(rows, "the platform stack")
    outputs = [o for o in found.outputs if "<domain>" not in o]
    for domain in catalog.domains:
        fanned = any(
            c.objects and c.objects.domain == domain.name and c.objects.path == "topic" for c in catalog.consumers
        )
        if env.customer_managed_keys or fanned:
            outputs += [output(o, domain=domain.name) for o in found.outputs if "<domain>" in o]
    expected.add(f"{env.name}-platform", outputs, {fill(p, env=env.name): None for p in found.parameters})


def test_the_readme_table_names_every_kind():
    rows = readme_rows()
    assert len(rows) == 13
    assert row(rows, "a consumer with a queue").keys == ("queue_url", "queue_arn", "dlq_url", "dlq_arn")
    assert row(rows, "a push consumer").local_keys == ("queue_url", "queue_arn")


@pytest.mark.parametrize("environment", ["dev", "local", "prod", "staging"])
def test_outputs_and_locators_are_exactly_what_the_readme_says(synthesized: SynthResult, environment: str):
    catalog, environments = load(ROOT)
    env = next(e for e in environments if e.name == environment)
    rows = readme_rows()
    expected = Expected()
    for domain in catalog.domains:
        _domain(rows, catalog, domain, env, expected)
    _platform(rows, catalog, env, expected)
    stacks = sorted(p.parent.name for p in (synthesized.outdir / "stacks").glob(f"{environment}-*/cdk.tf.json"))
    assert stacks == sorted(expected.outputs)
    for stack in stacks:
        config = json.loads((synthesized.outdir / "stacks" / stack / "cdk.tf.json").read_text())
        assert set(config.get("output", {})) == expected.outputs[stack], stack
        actual = {p["name"]: p["value"] for p in config.get("resource", {}).get("aws_ssm_parameter", {}).values()}
        assert set(actual) == set(expected.parameters[stack]), stack
        for name, keys in expected.parameters[stack].items():
            found = set(LOCATOR_KEY.findall(actual[name]))
            assert found == (keys or set()), (
                f"{stack} {name}: JSON keys {sorted(found)}, README says {sorted(keys or ())}"
            )
