"""What changed between two catalogs, entry by entry: every kind the catalog holds.

Domains (with their topic and bus policy), events (``via``, attributes...), versions (schema compatibility through
:mod:`eventform.catalog.compat`), consumers (events, filter, pattern, ``via``, objects, handler, function, queue...),
each rule target of a consumer (type, ARN, input path, transformer, retry...), buckets, schedules, pipes and API-call
rules. Entries are compared as the frozen model holds them (``dataclasses.asdict``), so a field the model gains is
compared without a change here. A consumer, event or pipe that disappears while one with the same content (but
another name) appears is reported as a rename, because Terraform will destroy and recreate what carries the name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from eventform.catalog import compat
from eventform.catalog.model import Catalog, Consumer, Domain, Event

DETAIL_WIDTH = 60  # characters of an old or new value shown in a detail


@dataclass(frozen=True)
class Line:
    action: str  # added | removed | changed | renamed
    kind: str  # domain | bus | event | version | consumer | target | bucket | schedule | pipe | api-call rule
    name: str
    detail: str = ""


@dataclass(frozen=True)
class SchemaChange:
    event: str
    version: int
    change: compat.Change
    latest: int

    @property
    def fix(self) -> str:
        domain, name = self.event.split("/", 1)
        return f"publish version {self.latest + 1}: `eventform add event {domain} {name} --version {self.latest + 1}`"


def _plain(value: Any) -> Any:
    """A model entry as JSON-comparable data (dataclasses and tuples become dicts and lists; paths are dropped)."""
    data = asdict(value) if hasattr(value, "__dataclass_fields__") else value
    return json.loads(json.dumps(data, default=lambda _: None, sort_keys=True))


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= DETAIL_WIDTH else text[: DETAIL_WIDTH - 1] + "…"


def changed_fields(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``field: old -> new`` for each field that differs (nested dicts by dotted path), sorted."""
    found = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict) and before and after:
            found += changed_fields(before, after, f"{prefix}{key}.")
        else:
            found.append(f"{prefix}{key}: {_short(before)} -> {_short(after)}")
    return found


def _compare(
    lines: list[Line],
    kind: str,
    old: dict[str, Any],
    new: dict[str, Any],
    fields: Callable[[Any], dict[str, Any]],
    added: Callable[[Any], str] = lambda _: "",
    removed: str = "",
) -> None:
    """Added, removed and changed entries of one kind (``old``/``new``: name -> model entry)."""
    for name in sorted(set(new) - set(old)):
        lines.append(Line("added", kind, name, added(new[name])))
    for name in sorted(set(old) - set(new)):
        lines.append(Line("removed", kind, name, removed))
    for name in sorted(set(old) & set(new)):
        details = changed_fields(fields(old[name]), fields(new[name]))
        if details:
            lines.append(Line("changed", kind, name, "; ".join(details)))


# --------------------------------------------------------------------------------------------------------------
# What is compared of each kind
# --------------------------------------------------------------------------------------------------------------
def _domain_fields(domain: Domain) -> dict[str, Any]:
    return {k: _plain(getattr(domain, k)) for k in ("owner", "description", "source", "data_classification", "topic")}


def _event_fields(event: Event) -> dict[str, Any]:
    return {k: _plain(getattr(event, k)) for k in ("description", "via", "attributes", "pii", "message_group")}


def _consumer_fields(consumer: Consumer) -> dict[str, Any]:
    """Everything but the name and the targets (compared one by one); ``via`` is bus when the consumer has a route."""
    data = _plain(consumer)
    for key in ("domain", "name", "renamed_from"):
        data.pop(key)
    route = data.pop("route")
    data["via"] = "bus" if route is not None else ("objects" if consumer.objects else "topic")
    data["pattern"] = route["pattern"] if route else None
    data["rare"] = route["rare"] if route else None
    data["events"] = sorted(data["events"])
    return data


def _named(items: Iterable[Any], key: Callable[[Any], str]) -> dict[str, Any]:
    return {key(item): item for item in items}


def _targets(catalog: Catalog, moves: dict[str, str] | None = None) -> dict[str, Any]:
    """Targets by ``consumer -> target``; ``moves`` renames consumers (old qualified name -> new)."""
    moves = moves or {}
    return {
        f"{moves.get(c.qualified_name, c.qualified_name)} -> {t.name}": t
        for c in catalog.consumers
        if c.route is not None
        for t in c.route.targets
    }


def kept_renames(base: Catalog, head: Catalog) -> dict[str, str]:
    """Consumers renamed with ``renamed_from`` since ``base``: old qualified name -> new."""
    before = {c.qualified_name for c in base.consumers}
    after = {c.qualified_name for c in head.consumers}
    return {
        f"{c.domain}/{c.renamed_from}": c.qualified_name
        for c in head.consumers
        if c.renamed_from and f"{c.domain}/{c.renamed_from}" in before - after
    }


def _per_domain(catalog: Catalog, attribute: str) -> dict[str, Any]:
    return {f"{d.name}/{item.name}": item for d in catalog.domains for item in getattr(d, attribute)}


def _without_name(entry: Any) -> dict[str, Any]:
    data = _plain(entry)
    for key in ("name", "domain", "description"):
        data.pop(key, None)
    return data


def renames(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """(old name, new name) for entries removed and added in the same domain with the same content."""
    gone = {n: _without_name(old[n]) for n in sorted(set(old) - set(new))}
    came = {n: _without_name(new[n]) for n in sorted(set(new) - set(old))}
    found = []
    for before, content in gone.items():
        match = next(
            (a for a, c in came.items() if c == content and a.split("/", 1)[0] == before.split("/", 1)[0]), None
        )
        if match is not None:
            found.append((before, match))
            came.pop(match)
    return found


KEPT_NOTE = "renamed_from keeps its AWS names and Terraform addresses: nothing is destroyed, queued messages stay"
RENAME_NOTE = {
    "consumer": "its queue, DLQ, function and alarms are destroyed and created anew: messages still queued are lost; "
    "add `renamed_from: <old name>` to the consumer to keep them (README: Renaming a consumer)",
    "event": "consumers and producers follow the new name; the old one disappears from every topic and bus filter",
    "pipe": "the pipe and its role are destroyed and created anew",
}
RENAME_NOTE["event"] += (
    "; queued messages of the old type fail in handlers that know only the new one, and the schema registry's "
    "schemas are replaced. No rename keeps an event: publish the new event beside the old one, move the consumers, "
    "then retire the old one (README: Renaming a consumer)"
)
DOMAIN_RENAME_NOTE = (
    "every AWS name of the domain carries it: its topic, bus and archive, key alias, and each consumer's queue, DLQ, "
    "function, role and tables are destroyed and created anew (queued and archived events are lost). No rename keeps "
    "a domain or its bus: add the new domain beside the old one, move producers and consumers, then remove the old one"
)


def _domain_signature(domain: Domain) -> tuple[tuple[str, ...], ...]:
    """What a domain holds by name, not by the domain's own name: equal for a domain renamed and nothing else."""
    kinds = ("events", "consumers", "schedules", "pipes", "buckets", "api_calls")
    return tuple(tuple(sorted(item.name for item in getattr(domain, kind))) for kind in kinds)


def domain_renames(base: Catalog, head: Catalog) -> list[tuple[str, str]]:
    """(old, new) for a domain gone while one holding the same events, consumers, schedules... by name appeared."""
    old = {d.name: d for d in base.domains}
    new = {d.name: d for d in head.domains}
    came = {n: _domain_signature(new[n]) for n in sorted(set(new) - set(old))}
    found = []
    for name in sorted(set(old) - set(new)):
        signature = _domain_signature(old[name])
        match = next((n for n, s in came.items() if s == signature and any(signature)), None)
        if match is not None:
            found.append((name, match))
            came.pop(match)
    return found


def _replace_renames(lines: list[Line], kind: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Turn a removed + added pair that is a rename into one line that says what the rename costs."""
    for before, after in renames(old, new):
        lines[:] = [
            x
            for x in lines
            if x.action == "changed"
            or not (
                (x.kind == kind and x.name in (before, after))
                or (kind == "consumer" and x.kind == "target" and x.name.split(" -> ")[0] in (before, after))
            )
        ]
        lines.append(Line("renamed", kind, f"{before} -> {after}", RENAME_NOTE[kind]))


def catalog_changes(base: Catalog, head: Catalog) -> tuple[list[Line], list[SchemaChange], list[SchemaChange]]:
    """(catalog lines, breaking schema changes, additive schema changes), all sorted by kind then name."""
    lines: list[Line] = []
    old_domains, new_domains = _named(base.domains, lambda d: d.name), _named(head.domains, lambda d: d.name)
    _compare(lines, "domain", old_domains, new_domains, _domain_fields, lambda d: f"owner {d.owner}")
    old_buses = {n: d.bus for n, d in old_domains.items() if d.bus is not None}
    new_buses = {n: d.bus for n, d in new_domains.items() if d.bus is not None}
    _compare(lines, "bus", old_buses, new_buses, _plain, _summary)

    old_events, new_events = (
        _named(base.events, lambda e: e.qualified_name),
        _named(head.events, lambda e: e.qualified_name),
    )
    _compare(
        lines,
        "event",
        old_events,
        new_events,
        _event_fields,
        lambda e: ", ".join(f"v{v.number}" for v in e.versions) + " on " + ", ".join(e.via),
        "consumers and producers must stop first",
    )
    breaking, additive = _versions(lines, old_events, new_events)

    moves = kept_renames(base, head)
    old_consumers = {moves.get(c.qualified_name, c.qualified_name): c for c in base.consumers}
    new_consumers = _named(head.consumers, lambda c: c.qualified_name)
    lines += [Line("renamed", "consumer", f"{old} -> {new}", KEPT_NOTE) for old, new in sorted(moves.items())]
    _compare(
        lines,
        "consumer",
        old_consumers,
        new_consumers,
        _consumer_fields,
        _reads,
        "its queue and DLQ are destroyed with their messages",
    )
    _compare(lines, "target", _targets(base, moves), _targets(head), _plain, lambda t: f"{t.kind} {_where(t)}".strip())
    for kind, attribute in (
        ("bucket", "buckets"),
        ("schedule", "schedules"),
        ("pipe", "pipes"),
        ("api-call rule", "api_calls"),
    ):
        _compare(lines, kind, _per_domain(base, attribute), _per_domain(head, attribute), _plain, _summary)
    _replace_renames(lines, "consumer", old_consumers, new_consumers)
    _replace_renames(lines, "event", old_events, new_events)
    _replace_renames(lines, "pipe", _per_domain(base, "pipes"), _per_domain(head, "pipes"))
    lines += [
        Line("renamed", "domain", f"{old} -> {new}", DOMAIN_RENAME_NOTE) for old, new in domain_renames(base, head)
    ]
    order = ["domain", "bus", "event", "version", "consumer", "target", "bucket", "schedule", "pipe", "api-call rule"]
    lines.sort(key=lambda x: (order.index(x.kind), x.name, x.action))
    return lines, breaking, additive


def _where(target: Any) -> str:
    """A target's ARN, or its name (resolved per environment) with the partner whose account holds it."""
    reference = target.reference
    if getattr(target, "stream", None):  # a rule target naming a catalog stream or delivery stream
        return f"catalog {target.stream}"
    if target.arn or reference is None:
        return target.arn or ""
    if reference.per_environment:
        return "ARN per environment"
    return f"{reference.name}" + (f" (partner {reference.partner})" if reference.partner else "")


def _reads(consumer: Consumer) -> str:
    if consumer.objects is not None:
        return f"{', '.join(consumer.objects.events)} of bucket {consumer.objects.qualified_bucket}"
    through = " through its rule" if consumer.route is not None else ""
    return "reads " + ", ".join(sorted(consumer.events)) + through


def _summary(entry: Any) -> str:
    """One phrase for an added schedule, pipe, bucket or API-call rule."""
    if hasattr(entry, "expression"):
        return f"{entry.expression} -> " + (f"event {entry.event}" if entry.event else f"queue of {entry.consumer}")
    if hasattr(entry, "source") and hasattr(entry, "target"):
        enrichment = f" -> enrichment {entry.enrichment.handler}" if entry.enrichment else ""
        return f"{entry.source.kind} {entry.source.reference}{enrichment} -> {entry.target.kind} {_where(entry.target)}"
    if hasattr(entry, "organization"):  # a bus: who else may put events, what its archive keeps
        writers = [*entry.accounts, *([f"organization {entry.organization}"] if entry.organization else [])]
        archive = "matching " + _short(entry.archive_pattern) if entry.archive_pattern else "everything"
        return f"PutEvents also from {', '.join(writers) or 'nobody'}; archive keeps {archive}"
    if hasattr(entry, "actions"):
        return f"{entry.service}: {', '.join(entry.actions)}"
    return entry.description


def _versions(
    lines: list[Line], old_events: dict[str, Event], new_events: dict[str, Event]
) -> tuple[list[SchemaChange], list[SchemaChange]]:
    breaking: list[SchemaChange] = []
    additive: list[SchemaChange] = []
    for name in sorted(set(old_events) & set(new_events)):
        old, new = old_events[name], new_events[name]
        old_versions = {v.number: v for v in old.versions}
        new_versions = {v.number: v for v in new.versions}
        for number in sorted(set(new_versions) - set(old_versions)):
            lines.append(Line("added", "version", f"{name} v{number}"))
        for number in sorted(set(old_versions) - set(new_versions)):
            lines.append(Line("removed", "version", f"{name} v{number}", "consumers of it lose their events"))
        for number in sorted(set(old_versions) & set(new_versions)):
            changes = compat.compare(old_versions[number].schema, new_versions[number].schema)
            for change in changes:
                entry = SchemaChange(name, number, change, new.latest.number)
                (breaking if change.breaking else additive).append(entry)
            if changes:
                lines.append(Line("changed", "version", f"{name} v{number}", "schema"))
            elif old_versions[number].examples != new_versions[number].examples:
                lines.append(Line("changed", "version", f"{name} v{number}", "examples"))
    return breaking, additive


__all__ = ["Line", "SchemaChange", "catalog_changes", "changed_fields", "domain_renames", "renames"]
