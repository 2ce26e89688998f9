"""Personal data (``pii:`` marks) stays minimal: checked once every domain and environment is loaded.

- A ``pii`` field is never an SNS message attribute: attributes are metadata that SNS keeps outside the message
  body's encryption and shows in filter-policy logs.
- An event that carries ``pii`` fields reaches a target in another account, a stream (Kinesis, Firehose) or an
  HTTP endpoint outside AWS only through an ``input_path`` or ``input_transformer`` that leaves every ``pii`` field
  out, or with an explicit ``pii_exception: {owner, reason}`` on the target. Pipes have no transformer: a pipe whose
  source carries such events needs the exception for those targets.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventform.catalog import patterns, references
from eventform.catalog.model import Catalog, Consumer, Environment, Event, Target
from eventform.catalog.parsing import Collector, line_of
from eventform.catalog.pipe_checks import carried_events

# Predefined transformer placeholders that insert the whole event.
WHOLE_EVENT = frozenset({"aws.events.event", "aws.events.event.json"})
STREAMS = frozenset({"kinesis", "firehose"})


def _overlaps(selected: list[str | int], personal: list[str | int]) -> bool:
    """A selected path carries a personal field when one is a prefix of the other (its parent object, the field
    itself, or a part of it)."""
    shortest = min(len(selected), len(personal))
    return selected[:shortest] == personal[:shortest]


def leaked_fields(target: Target, event: Event) -> list[str]:
    """The ``pii`` fields of ``event`` that ``target`` would receive (the whole event unless it is reshaped)."""
    personal: dict[str, list[str | int]] = {field: ["detail", "data", *field.split(".")] for field in event.pii}
    if target.input_transformer is not None:
        transformer = target.input_transformer
        if patterns.placeholders(transformer.template) & WHOLE_EVENT:
            return list(event.pii)
        selected = [patterns.parse_json_path(p) or [] for p in transformer.paths.values()]
    elif target.input_path is not None:
        selected = [patterns.parse_json_path(target.input_path) or []]
    else:
        selected = [[]]  # "$": the whole event
    return [field for field, path in personal.items() if any(_overlaps(s, path) for s in selected)]


def _exposure(target: Target, environments: tuple[Environment, ...]) -> str | None:
    """Why this target is outside the boundary personal data may cross unminimised, or None."""
    if target.kind in STREAMS and target.stream is None:  # a catalog stream stays in the domain, under its key
        return "a stream"
    if target.kind == "api":
        return "an HTTP endpoint outside AWS"
    return _other_account(target.arn_in, environments)


def _other_account(arn_in: Callable[[Environment], str | None], environments: tuple[Environment, ...]) -> str | None:
    """"account <id> (in <env>)" for the first environment (outside local) whose ARN is in another account."""
    for environment in environments:
        parts = references.arn_parts(arn_in(environment) or "")
        if not environment.is_local and parts and parts[2] and parts[2] != environment.account_id:
            return f"account {parts[2]} (in {environment.name})"
    return None


def _attribute_problems(catalog: Catalog, documents: dict[Path, Any], out: Collector) -> None:
    for domain in catalog.domains:
        for event in domain.events:
            for attribute in event.attributes:
                personal = [f for f in event.pii if f == attribute or f.startswith(f"{attribute}.")]
                if personal:
                    out.add(
                        domain.path,
                        f"events.{event.name}.attributes",
                        f"attribute {attribute!r} carries personal data ({', '.join(personal)} under pii:); SNS "
                        "message attributes are metadata, outside the body's encryption",
                        f"remove {attribute} from attributes, and filter on it with filter_scope: body",
                        line_of(documents[domain.path], ["events", event.name, "attributes"]),
                    )


def _route_problems(
    catalog: Catalog, consumer: Consumer, environments: tuple[Environment, ...], document: Any, out: Collector
) -> None:
    assert consumer.route is not None
    events = [catalog.event(q) for q in consumer.events if q in {e.qualified_name for e in catalog.events}]
    for target in consumer.route.targets:
        exposure = _exposure(target, environments)
        if exposure is None or target.pii_exception is not None:
            continue
        for event in events:
            leaked = leaked_fields(target, event)
            if not leaked:
                continue
            out.add(
                catalog.domain(consumer.domain).path,
                f"consumers.{consumer.name}.targets.{target.name}",
                f"personal data of {event.qualified_name} ({', '.join(leaked)}) would reach {exposure} unminimised",
                "select only what the target needs with input_path or input_transformer (leaving out the pii: "
                "fields), or add pii_exception: {owner: <team>, reason: <why this target needs them>}",
                line_of(document, ["consumers", consumer.name, "targets", target.name]),
            )


def _pipe_problems(
    catalog: Catalog, environments: tuple[Environment, ...], documents: dict[Path, Any], out: Collector
) -> None:
    for domain in catalog.domains:
        for pipe in domain.pipes:
            target = pipe.target
            if target.pii_exception is not None:
                continue
            exposure = "a stream" if target.kind in STREAMS else _other_account(target.arn_in, environments)
            personal = [catalog.event(q) for q in carried_events(catalog, pipe) if catalog.event(q).pii]
            if exposure and personal:
                out.add(
                    domain.path,
                    f"pipes.{pipe.name}.target",
                    f"the pipe would carry personal data of {', '.join(e.qualified_name for e in personal)} to "
                    f"{exposure}, and a pipe cannot leave fields out",
                    "target something inside the account, or add pii_exception: {owner: <team>, reason: <why>}",
                    line_of(documents[domain.path], ["pipes", pipe.name, "target"]),
                )


def check_catalog(
    catalog: Catalog, documents: dict[Path, Any], environments: tuple[Environment, ...], out: Collector
) -> None:
    _attribute_problems(catalog, documents, out)
    for domain in catalog.domains:
        for consumer in domain.consumers:
            if consumer.route is not None:
                _route_problems(catalog, consumer, environments, documents[domain.path], out)
    _pipe_problems(catalog, environments, documents, out)
