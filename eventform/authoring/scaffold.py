"""``eventform add``: scaffold a domain, an event (version) or a consumer the way the catalog expects it.

Each command refuses bad input before writing (with the reason and the fix), stages every file as one
:class:`eventform.authoring.files.Change`, checks every target is writable, moves the change into place (handler
package first, catalog YAML last), then runs the full catalog lint; if lint fails, or any exception or signal arrives,
the change is rolled back, so the catalog is never left half-edited. Commands hold the catalog's lock (one ``add`` at a
time) and first finish what a killed ``add`` left (:func:`eventform.authoring.files.recover`).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventform.authoring import yamledit
from eventform.authoring.files import Change, recover
from eventform.catalog.errors import CatalogError, Problem
from eventform.catalog.events import SCHEMA_DIALECT, past_tense_problem
from eventform.catalog.loader import load
from eventform.catalog.model import Catalog
from eventform.catalog.naming import max_domain_length
from eventform.synthesis.lock import output_lock

DOMAIN_PATTERN = re.compile(rf"^[a-z][a-z0-9-]{{1,{max_domain_length() - 1}}}$")
EVENT_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
OWNER_PATTERN = re.compile(r"^[A-Za-z0-9._@+-]{2,}$")
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
DEFAULT_SCHEMA_BASE = "https://schemas.example.com"
SCHEMA_COMMENT = "# yaml-language-server: $schema=../eventform/catalog/schemas/catalog.schema.json\n"


@dataclass
class Scaffolded:
    """What a command wrote and what the developer should do next."""

    written: list[Path] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    catalog: Catalog | None = None
    recovered: list[str] = field(default_factory=list)  # what a killed earlier `add` left, and what became of it


def exclusive(command: Callable[..., Scaffolded]) -> Callable[..., Scaffolded]:
    """Run an ``add`` command under the catalog's lock, after finishing what a killed one left."""

    @functools.wraps(command)
    def run(root: Path, *args: object, **kwargs: object) -> Scaffolded:
        with output_lock(root / "catalog", "add"):
            recovered = recover(root)
            result = command(root, *args, **kwargs)
        result.recovered = recovered
        return result

    return run


def _refuse(file: Path, location: str, message: str, fix: str) -> CatalogError:
    return CatalogError([Problem(file, location, message, fix)])


def _domain_file(root: Path, domain: str) -> Path:
    path = root / "catalog" / f"{domain}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (root / "catalog").glob("*.yaml"))
        raise _refuse(
            path,
            "",
            f"unknown domain {domain!r}",
            f"use one of: {', '.join(known)}; or create it with `eventform add domain {domain} --owner <team>`",
        )
    return path


class LintFailedError(CatalogError):
    """The change was written, lint rejected it, and it was rolled back."""


def _commit(root: Path, change: Change, check: Callable[[Catalog], None] | None = None) -> Catalog:
    """Move the change into place and lint the catalog (plus ``check``); undo the change and re-raise the problems if
    lint fails, and on any other exception or signal."""
    change.apply()
    try:
        try:
            catalog, _ = load(root)
        except CatalogError as error:
            raise LintFailedError(error.problems) from None
        if check is not None:
            check(catalog)
        change.commit()  # once committed, a late signal no longer rolls back
    except BaseException:
        change.rollback()
        raise
    return catalog


def _relative(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------------------------------------
# add domain
# ------------------------------------------------------------------------------------------------------------
def _source_prefix(root: Path) -> str:
    """Reuse the reverse-DNS prefix of the existing domains (com.example.orders -> com.example)."""
    prefixes = set()
    for path in sorted((root / "catalog").glob("*.yaml")):
        data = yamledit.plain(yamledit.load(path.read_text(encoding="utf-8")) or {})
        source, domain = data.get("source"), data.get("domain")
        if isinstance(source, str) and isinstance(domain, str) and source.endswith("." + domain):
            prefixes.add(source.removesuffix("." + domain))
    return sorted(prefixes)[0] if len(prefixes) == 1 else "com.example"


@exclusive
def add_domain(
    root: Path, name: str, owner: str, description: str | None = None, classification: str = "internal"
) -> Scaffolded:
    path = root / "catalog" / f"{name}.yaml"
    if not DOMAIN_PATTERN.match(name):
        raise _refuse(
            path,
            "domain",
            f"bad domain name {name!r}",
            f"use 2-{max_domain_length()} lower-case letters, digits and '-'",
        )
    if path.exists():
        raise _refuse(path, "domain", f"domain {name!r} already exists", "pick another name or edit the file")
    if not OWNER_PATTERN.match(owner):
        raise _refuse(path, "owner", f"bad owner {owner!r}", "use the team's id, e.g. team-payments")
    if classification not in CLASSIFICATIONS:
        raise _refuse(
            path,
            "data_classification",
            f"bad classification {classification!r}",
            f"use one of: {', '.join(CLASSIFICATIONS)}",
        )
    text = (
        SCHEMA_COMMENT
        + yamledit.render("domain", name)
        + "".join(
            yamledit.render(key, value)
            for key, value in (
                ("owner", owner),
                ("description", description or f"Events and consumers of the {name} domain."),
                ("source", f"{_source_prefix(root)}.{name}"),
                ("data_classification", classification),
            )
        )
    )
    change = Change(root)
    change.write(path, text)
    catalog = _commit(root, change)
    return Scaffolded(
        written=[path],
        catalog=catalog,
        next_steps=[
            f"edit the description in {_relative(root, path)}",
            f"add an event: eventform add event {name} <entity>.<past-tense verb> --topic",
            f"or a consumer: eventform add consumer {name} <name> --events <domain>/<event>",
            "run make test",
        ],
    )


# ------------------------------------------------------------------------------------------------------------
# add event
# ------------------------------------------------------------------------------------------------------------
def _schema_base(root: Path) -> str:
    """The ``$id`` prefix the catalog already uses (``https://schemas.example.com``), so new schemas match."""
    for schema_path in sorted((root / "catalog").glob("*/*/v*.schema.json")):
        try:
            schema_id = json.loads(schema_path.read_text(encoding="utf-8")).get("$id", "")
        except (OSError, json.JSONDecodeError):
            continue
        domain, event = schema_path.parent.parent.name, schema_path.parent.name
        marker = f"/{domain}/{event}/"
        if marker in schema_id:
            return schema_id.split(marker)[0]
    return DEFAULT_SCHEMA_BASE


def skeleton_schema(
    base: str, domain: str, name: str, version: int, description: str, group: str | None
) -> dict[str, Any]:
    """A minimal payload schema: the aggregate's id (and the FIFO message group field), nothing invented."""
    id_field = f"{name.split('.')[0]}_id"
    properties: dict[str, Any] = {id_field: {"type": "string", "description": f"Id of the {name.split('.')[0]}."}}
    required = [id_field]
    if group and group.split(".")[0] not in properties:
        properties[group.split(".")[0]] = {"type": "string", "description": "Message group: the aggregate id."}
        required.append(group.split(".")[0])
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{base}/{domain}/{name}/v{version}.json",
        "title": f"{name} v{version}",
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def example_for(schema: dict[str, Any]) -> dict[str, Any]:
    """One example payload for a skeleton (required string fields)."""
    return {key: f"{key.removesuffix('_id')}-0001" for key in schema.get("required", [])}


def _dump_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


@exclusive
def add_event(
    root: Path,
    domain: str,
    name: str,
    version: int | None = None,
    topic: bool = False,
    description: str | None = None,
    message_group: str | None = None,
    bus: bool = False,
) -> Scaffolded:
    """Add event ``name`` to ``domain`` (or, with ``--version N``, version N of an existing event), published on the
    domain's topic (``topic``) and/or its EventBridge bus (``bus``), each added to the domain when missing."""
    path = _domain_file(root, domain)
    location = f"events.{name}"
    if not EVENT_PATTERN.match(name):
        raise _refuse(
            path,
            location,
            f"bad event name {name!r}",
            "use dotted lower-case words: <entity>.<past-tense verb>, e.g. order.shipped",
        )
    tense = past_tense_problem(name)
    if tense:
        raise _refuse(path, location, f"event name {name!r} is not a past-tense fact", tense)
    if version is not None and version < 1:
        raise _refuse(path, f"{location}.versions", f"bad version {version}", "versions start at 1")
    text = path.read_text(encoding="utf-8")
    data = yamledit.plain(yamledit.load(text))
    events = data.get("events") or {}
    existing = events.get(name)
    folder = root / "catalog" / domain / name
    change = Change(root)
    steps: list[str] = []
    if existing is not None and (topic or bus) and version is not None:
        raise _refuse(
            path,
            f"{location}.via",
            f"--topic/--bus choose where a new event travels; version {version} of {name!r} keeps its channels",
            f"drop --topic/--bus, or change events.{name}.via in {_relative(root, path)} by hand",
        )
    if existing is not None:
        versions = sorted(existing.get("versions", []))
        if version is None or version in versions:
            raise _refuse(
                path,
                location,
                f"event {name!r} already exists with versions {versions}"
                + (f" (version {version} included)" if version else ""),
                f"to publish a new version: eventform add event {domain} {name} --version {max(versions) + 1}",
            )
        if version != max(versions) + 1:
            raise _refuse(
                path,
                f"{location}.versions",
                f"version {version} would leave a gap after {max(versions)}",
                f"use --version {max(versions) + 1}",
            )
        previous = max(versions)
        schema = json.loads((folder / f"v{previous}.schema.json").read_text(encoding="utf-8"))
        if "$id" in schema:
            schema["$id"] = re.sub(r"/v\d+\.json$", f"/v{version}.json", schema["$id"])
        schema["title"] = f"{name} v{version}"
        examples = json.loads((folder / f"v{previous}.examples.json").read_text(encoding="utf-8"))
        new_text = _set_versions(text, name, [*versions, version])
        steps.append(
            f"make the breaking change in {_relative(root, folder / f'v{version}.schema.json')} "
            f"(copied from v{previous}) and its examples"
        )
        steps.append(f"publish both versions until every consumer reads v{version}, then retire v{previous}")
    else:
        version = version or 1
        if version != 1:
            raise _refuse(
                path, f"{location}.versions", f"a new event starts at version 1, not {version}", "drop --version"
            )
        topic_spec = data.get("topic")
        via = _channels(data, topic, bus)
        if not via:
            raise _refuse(
                path,
                "topic",
                f"domain {domain!r} has no SNS topic or EventBridge bus to publish {name!r} on",
                f"pass --topic (the domain's SNS topic) or --bus (its EventBridge bus <env>-{domain}), e.g. "
                f"eventform add event {domain} {name} --bus",
            )
        fifo = bool(topic_spec and topic_spec.get("fifo")) and "topic" in via
        if fifo and not message_group:
            groups = sorted({e.get("message_group") for e in events.values() if e.get("message_group")})
            if len(groups) != 1:
                raise _refuse(
                    path,
                    f"{location}.message_group",
                    f"domain {domain!r} publishes on a FIFO topic: {name!r} needs a message group field",
                    "pass --message-group <field naming the aggregate id>, e.g. order_id",
                )
            message_group = groups[0]
        if message_group and not fifo:
            raise _refuse(
                path, f"{location}.message_group", "message groups exist only on FIFO topics", "drop --message-group"
            )
        new_text = text
        if bus and data.get("bus") is None:
            new_text = yamledit.insert_top_level(
                new_text, "bus", {}, comment=f"an EventBridge bus: <env>-{domain}", before=("events", "consumers")
            )
        if "topic" in via and topic_spec is None:
            new_text = yamledit.insert_top_level(
                new_text,
                "topic",
                {},
                comment=f"a standard SNS topic: <env>-{domain}-events",
                before=("events", "consumers"),
            )
        summary = description or f"TODO describe the fact {name} records, in one sentence."
        entry: dict[str, Any] = {"description": summary, "versions": [1]}
        if via != ["topic"]:
            entry["via"] = via
        if message_group:
            entry["message_group"] = message_group
        new_text = yamledit.insert_entry(new_text, "events", name, entry, before=("consumers",))
        schema = skeleton_schema(_schema_base(root), domain, name, 1, summary, message_group)
        examples = [example_for(schema)]
        steps.append(
            f"describe the payload in {_relative(root, folder / 'v1.schema.json')} "
            "(properties, required, PII marks in the description)"
        )
        steps.append(f"replace the example in {_relative(root, folder / 'v1.examples.json')} with realistic payloads")
        steps.append(
            f"list filterable fields under events.{name}.attributes and personal data under pii in "
            f"{_relative(root, path)}"
        )
    schema_path = folder / f"v{version}.schema.json"
    examples_path = folder / f"v{version}.examples.json"
    for target in (schema_path, examples_path):
        if target.exists():
            raise _refuse(
                target,
                "",
                f"{target.name} already exists but the catalog does not list version {version}",
                f"delete {target} or add {version} to events.{name}.versions by hand",
            )
    change.write(schema_path, _dump_json(schema))
    change.write(examples_path, _dump_json(copy.deepcopy(examples)))
    change.write(path, new_text)
    catalog = _commit(root, change)
    return Scaffolded(
        written=change.paths,
        catalog=catalog,
        next_steps=[*steps, "preview: eventform docs && eventform diff --base main", "run make test"],
    )


def _channels(data: dict[str, Any], topic: bool, bus: bool) -> list[str]:
    """Where a new event travels: what was asked for, else the channel the domain has (its topic first)."""
    if topic or bus:
        return [channel for channel, asked in (("topic", topic), ("bus", bus)) if asked]
    return ["topic"] if data.get("topic") is not None else (["bus"] if data.get("bus") is not None else [])


def _set_versions(text: str, name: str, versions: list[int]) -> str:
    """Rewrite ``events.<name>.versions`` in place (the only line that changes)."""
    document = yamledit.load(text)
    line = document["events"][name].lc.key("versions")[0]
    lines = text.splitlines(keepends=True)
    match = re.match(r"^(\s*versions:\s*)(\[[^\]]*\])(.*)$", lines[line].rstrip("\n"))
    if not match:
        raise _refuse(
            Path("catalog"),
            f"events.{name}.versions",
            "versions is not a one-line list",
            "write versions as [1, 2] and retry",
        )
    lines[line] = f"{match.group(1)}[{', '.join(map(str, versions))}]{match.group(3)}\n"
    return "".join(lines)


__all__ = ["LintFailedError", "Scaffolded", "add_domain", "add_event", "skeleton_schema"]
