"""Load and validate the catalog and the environments into the frozen model.

Every problem is collected (not just the first) and reported with file, line, location and fix. Nothing downstream
runs unless this returns: constructs can trust the model completely.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from eventform.catalog import buckets, filters, pipes
from eventform.catalog import buses as eventbridge
from eventform.catalog.errors import CatalogError, Problem
from eventform.catalog.model import (
    ENVELOPE_ATTRIBUTES,
    Alarms,
    Backend,
    Catalog,
    Consumer,
    Domain,
    Environment,
    Event,
    EventVersion,
    FunctionSettings,
    PushSettings,
    Topic,
    Waiver,
)
from eventform.catalog.naming import Names

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Top-level fields of the CloudEvents envelope a body-scope filter may test.
ENVELOPE_FIELDS = frozenset(
    {
        "id",
        "source",
        "type",
        "specversion",
        "time",
        "dataschema",
        "datacontenttype",
        "subject",
        "data",
        "correlationid",
        "traceparent",
        "dataversion",
    }
)
NOT_PAST_TENSE = frozenset({"feed", "need", "seed", "speed", "breed", "proceed", "succeed", "exceed", "embed", "bed"})
IRREGULAR_PAST = frozenset(
    {
        "sent",
        "paid",
        "built",
        "made",
        "held",
        "lost",
        "won",
        "sold",
        "begun",
        "done",
        "drawn",
        "given",
        "known",
        "shown",
        "taken",
        "written",
        "spent",
        "bought",
        "brought",
        "caught",
        "left",
        "kept",
        "met",
        "read",
        "run",
        "set",
        "put",
        "cut",
        "shut",
        "split",
        "reset",
        "withdrawn",
        "undone",
        "frozen",
        "chosen",
        "found",
        "hidden",
        "bound",
        "rebuilt",
        "resent",
        "overdrawn",
        "forgotten",
        "broken",
        "driven",
        "risen",
        "seen",
        "sung",
        "hung",
    }
)


# --------------------------------------------------------------------------------------------------------------
# YAML with positions
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class YamlDocument:
    """Plain data plus the 1-based line of every key and item: errors point at lines, models get plain dicts.

    Parsed with PyYAML's C loader (the catalog of a large organisation has thousands of entries; a round-trip
    parser is several times slower), duplicate keys are refused rather than silently overwritten.
    """

    data: Any
    lines: dict[tuple[Any, ...], int]


class DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line = key, line


def _parse_yaml(text: str) -> YamlDocument:
    loader = yaml.CSafeLoader(text)
    try:
        root = loader.get_single_node()
        lines: dict[tuple[Any, ...], int] = {}

        def build(node: yaml.Node, path: tuple[Any, ...]) -> Any:
            if isinstance(node, yaml.MappingNode):
                result: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    key = loader.construct_object(key_node, deep=True)
                    if key in result:
                        raise DuplicateKey(key, key_node.start_mark.line + 1)
                    lines[(*path, key)] = key_node.start_mark.line + 1
                    result[key] = build(value_node, (*path, key))
                return result
            if isinstance(node, yaml.SequenceNode):
                items = []
                for index, item in enumerate(node.value):
                    lines[(*path, index)] = item.start_mark.line + 1
                    items.append(build(item, (*path, index)))
                return items
            value = loader.construct_object(node, deep=True)
            if isinstance(value, datetime.date):  # an unquoted 2027-01-31: JSON Schema validates text, not dates
                return value.isoformat()[:10]
            return value

        if root is None:
            return YamlDocument(None, {})
        lines[()] = root.start_mark.line + 1
        return YamlDocument(build(root, ()), lines)
    finally:
        loader.dispose()


def _line_of(document: YamlDocument, path: Iterable[Any]) -> int | None:
    """1-based line of the node at ``path`` (keys and indexes), or of its nearest existing parent."""
    steps = tuple(path)
    for length in range(len(steps), -1, -1):
        line = document.lines.get(steps[:length])
        if line is not None:
            return line
    return None


def _to_plain(document: YamlDocument) -> Any:
    return document.data


class _Collector:
    """Gathers problems for one run; ``check()`` raises them all at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: Path, location: str, message: str, fix: str, line: int | None = None) -> None:
        self.problems.append(Problem(file=file, location=location, message=message, fix=fix, line=line))

    def check(self) -> None:
        if self.problems:
            raise CatalogError(self.problems)


def refuse_keys(
    out: _Collector,
    path: Path,
    document: Any,
    where: list[str],
    spec: dict[str, Any],
    keys: tuple[str, ...],
    message: str,
    fix: str,
) -> bool:
    """Report each of ``keys`` present in ``spec`` (``message`` names it as ``{key}``); True when none was."""
    present = [key for key in keys if key in spec]
    for key in present:
        out.add(path, ".".join([*where, key]), message.format(key=key), fix, _line_of(document, [*where, key]))
    return not present


def _read_yaml(path: Path, out: _Collector) -> YamlDocument | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        out.add(path, "", f"cannot read the file: {error.strerror}", "check the path and permissions")
        return None
    try:
        document = _parse_yaml(text)
    except DuplicateKey as error:
        out.add(path, "", str(error), "each name may appear once; merge or rename the entries", error.line)
        return None
    except ValueError as error:  # a scalar YAML resolves but cannot build, e.g. the date 2027-02-30
        out.add(
            path,
            "",
            f"a value cannot be read: {error}",
            "quote dates ('2027-06-30') and check that the day exists",
        )
        return None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        out.add(
            path,
            "",
            f"not valid YAML: {error.problem or error.context}",
            "fix the YAML syntax (indentation, quotes, colons)",
            mark.line + 1 if mark else None,
        )
        return None
    if not isinstance(document.data, dict):
        out.add(path, "", "the file must be a YAML mapping", "start from an existing file in the same folder")
        return None
    return document


# --------------------------------------------------------------------------------------------------------------
# JSON Schema validation of our own files
# --------------------------------------------------------------------------------------------------------------
@cache
def _schema_text(name: str) -> str:
    return resources.files("eventform.catalog.schemas").joinpath(name).read_text(encoding="utf-8")


@cache
def _validator(name: str) -> Draft202012Validator:
    registry: Registry = Registry()
    for other in ("catalog.schema.json", "environment.schema.json"):
        contents = json.loads(_schema_text(other))
        registry = registry.with_resource(contents["$id"], Resource.from_contents(contents))
        registry = registry.with_resource(other, Resource.from_contents(contents))
    return Draft202012Validator(json.loads(_schema_text(name)), registry=registry)


def _fix_for(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"remove the unknown key or use one of: {', '.join(allowed)}" if allowed else "remove the key"
    if error.validator == "required":
        return "add the missing key"
    if error.validator in ("enum", "const"):
        choices = error.validator_value if error.validator == "enum" else [error.validator_value]
        return f"use one of: {', '.join(map(str, choices))}"
    if error.validator == "pattern" and "propertyNames" in error.schema_path:
        return (
            "event names are dotted lower-case words (order.created); domain and consumer names use "
            "lower-case letters, digits and '-'"
        )
    if error.validator == "pattern":
        return f"the value must match {error.validator_value}"
    if error.validator == "propertyNames":
        return "names use lower-case letters, digits and '-' (domains, consumers) or dotted words (events)"
    if error.validator in ("minimum", "maximum"):
        return f"use a value within the allowed range ({error.validator}: {error.validator_value})"
    if error.validator == "type":
        return f"use a value of type {error.validator_value}"
    if error.validator in ("anyOf", "oneOf"):
        return "see the schema's description of this field (your editor shows it through the $schema comment)"
    return "see the field's description in the schema"


def _schema_problems(document: Any, schema_name: str, path: Path, out: _Collector) -> bool:
    plain = _to_plain(document)
    errors = sorted(_validator(schema_name).iter_errors(plain), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        location = ".".join(map(str, error.absolute_path))
        out.add(path, location, error.message, _fix_for(error), _line_of(document, error.absolute_path))
    return not errors


def parse_duration(value: int | str) -> int:
    if isinstance(value, int):
        return value
    return int(value[:-1]) * DURATION_UNITS[value[-1]]


# --------------------------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------------------------
def load_environments(directory: Path, only: Iterable[str] | None = None) -> tuple[Environment, ...]:
    out = _Collector()
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


def _load_environment(path: Path, out: _Collector) -> Environment | None:
    document = _read_yaml(path, out)
    if document is None or not _schema_problems(document, "environment.schema.json", path, out):
        return None
    data = _to_plain(document)
    if data["name"] != path.stem:
        out.add(
            path,
            "name",
            f"name {data['name']!r} does not match the file name {path.stem!r}",
            f"set name: {path.stem} or rename the file",
            _line_of(document, ["name"]),
        )
        return None
    retention = data.get("retention", {})
    queue_retention = parse_duration(retention.get("queue", 4 * 86400))
    dlq_retention = parse_duration(retention.get("dlq", 14 * 86400))
    ok = True
    for key, seconds in (("queue", queue_retention), ("dlq", dlq_retention)):
        if not 60 <= seconds <= 1_209_600:
            out.add(
                path,
                f"retention.{key}",
                f"retention of {seconds}s is outside SQS's 60s..14d",
                "use a value between 1m and 14d",
                _line_of(document, ["retention", key]),
            )
            ok = False
    if ok and dlq_retention < queue_retention:
        out.add(
            path,
            "retention.dlq",
            "a DLQ must keep messages at least as long as its source queue",
            "raise retention.dlq to at least retention.queue (14d is the maximum and the usual choice)",
            _line_of(document, ["retention", "dlq"]),
        )
        ok = False
    period = parse_duration(data.get("alarms", {}).get("period", 60))
    if period not in (10, 30) and (period < 60 or period % 60):
        out.add(
            path,
            "alarms.period",
            f"CloudWatch alarm periods are 10s, 30s or a multiple of 60s, not {period}s",
            "use 10s, 30s, 1m, 5m, ...",
            _line_of(document, ["alarms", "period"]),
        )
        ok = False
    if data["name"] == "local" and "endpoint" not in data:
        out.add(
            path,
            "endpoint",
            "the local environment needs the embedded AWS endpoint",
            "add endpoint: http://127.0.0.1:4566",
            _line_of(document, []),
        )
        ok = False
    if data["name"] != "local" and "endpoint" in data:
        out.add(
            path,
            "endpoint",
            "only the local environment talks to an embedded AWS endpoint",
            "remove endpoint from this environment",
            _line_of(document, ["endpoint"]),
        )
        ok = False
    waivers = _waivers(path, document, data.get("waivers", []), out)
    eventbridge_settings = eventbridge.environment_settings(path, document, data, out)
    if not ok or waivers is None or eventbridge_settings is None:
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
        ),
        encryption=data["encryption"],
        path=path,
        queue_retention=queue_retention,
        dlq_retention=dlq_retention,
        log_retention_days=retention.get("logs_days", 30),
        alarms=Alarms(
            dlq_messages=alarms.get("dlq_messages", 0),
            oldest_message_age=parse_duration(alarms.get("oldest_message_age", 900)),
            period=parse_duration(alarms.get("period", 60)),
            evaluation_periods=alarms.get("evaluation_periods", 1),
        ),
        tags=dict(sorted(data.get("tags", {}).items())),
        endpoint=data.get("endpoint"),
        waivers=waivers,
        eventbridge=eventbridge_settings,
    )


def _waivers(path: Path, document: Any, entries: list[dict[str, Any]], out: _Collector) -> tuple[Waiver, ...] | None:
    """Waivers with real dates and a reason that says something; expiry itself is judged by the scan, not here."""
    waivers, ok = [], True
    for index, entry in enumerate(entries):
        line = _line_of(document, ["waivers", index])
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


# --------------------------------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------------------------------
def past_tense_problem(name: str) -> str | None:
    """None if the event name states a past fact, else a suggestion."""
    segments = name.split(".")
    last_word = segments[-1].split("_")[-1]
    if (last_word.endswith("ed") and last_word not in NOT_PAST_TENSE) or last_word in IRREGULAR_PAST:
        return None
    verb = segments[0]
    past = verb + ("d" if verb.endswith("e") else "ed")
    suggestion = ".".join([*segments[1:], past]) if len(segments) > 1 else f"{name}.happened"
    return f"name the fact in the past tense, e.g. {suggestion!r} (<entity>.<past-tense verb>)"


def load_catalog(directory: Path, environments: Iterable[Environment] = ()) -> Catalog:
    """Load every ``catalog/*.yaml``; ``environments`` lets per-environment checks run (overrides, retention)."""
    out = _Collector()
    environments = tuple(environments)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        out.add(directory, "", "the catalog is empty", "add catalog/<domain>.yaml (see the README's catalog format)")
    documents: dict[Path, Any] = {}
    for path in files:
        document = _read_yaml(path, out)
        if document is not None and _schema_problems(document, "catalog.schema.json", path, out):
            documents[path] = document
    out.check()

    domains = [_build_domain(path, document, out) for path, document in documents.items()]
    out.check()
    catalog = Catalog(root=directory, domains=tuple(d for d in domains if d is not None))
    _check_consumers(catalog, documents, environments, out)
    out.check()
    catalog = _with_fifo_consumers(catalog)
    _check_handlers(catalog, documents, out)
    _check_names(catalog, environments, documents, out)
    eventbridge.check_catalog(catalog, documents, environments, out)
    buckets.check_catalog(catalog, documents, out)
    pipes.check_catalog(catalog, documents, environments, out)
    out.check()
    return catalog


def _build_domain(path: Path, document: Any, out: _Collector) -> Domain | None:
    data = _to_plain(document)
    if data["domain"] != path.stem:
        out.add(
            path,
            "domain",
            f"domain {data['domain']!r} does not match the file name {path.stem!r}",
            f"set domain: {path.stem} or rename the file",
            _line_of(document, ["domain"]),
        )
        return None
    topic = Topic(**data["topic"]) if "topic" in data else None
    if topic and topic.content_based_deduplication and not topic.fifo:
        out.add(
            path,
            "topic.content_based_deduplication",
            "content-based deduplication exists only on FIFO topics",
            "set topic.fifo: true or remove content_based_deduplication",
            _line_of(document, ["topic"]),
        )
    bus = eventbridge.build_bus(path, document, data, out)
    events = []
    for name, spec in data.get("events", {}).items():
        event = _build_event(path, document, data["domain"], name, spec, topic, out)
        if event:
            events.append(event)
    consumers = [
        Consumer(
            domain=data["domain"],
            name=name,
            description=spec["description"],
            events=tuple(spec.get("events", ())),
            objects=buckets.build_objects(path, document, data["domain"], name, spec, out),
            delivery=spec.get("delivery", "queue"),
            push=PushSettings(**{k: parse_duration(v) for k, v in spec.get("push", {}).items()}),
            handler=spec.get("handler"),
            emits=tuple(spec.get("emits", [])),
            function=_function_settings(spec.get("function", {})),
            filter=spec.get("filter"),
            filter_scope=spec.get("filter_scope", "attributes"),
            queue={k: parse_duration(v) for k, v in spec.get("queue", {}).items()},
            overrides={
                env: {k: parse_duration(v) for k, v in override.get("queue", {}).items()}
                for env, override in sorted(spec.get("environments", {}).items())
            },
            route=eventbridge.build_route(path, document, name, spec, out),
        )
        for name, spec in sorted(data.get("consumers", {}).items())
    ]
    return Domain(
        name=data["domain"],
        owner=data["owner"],
        description=data["description"],
        source=data["source"],
        data_classification=data.get("data_classification", "internal"),
        path=path,
        topic=topic,
        events=tuple(sorted(events, key=lambda e: e.name)),
        consumers=tuple(consumers),
        bus=bus,
        schedules=eventbridge.build_schedules(path, document, data, out),
        api_calls=eventbridge.build_api_calls(data),
        buckets=buckets.build_buckets(path, document, data, out),
        pipes=pipes.build_pipes(path, document, data, out),
    )


def _function_settings(spec: dict[str, Any]) -> FunctionSettings:
    durations = {k: parse_duration(spec[k]) for k in ("timeout", "batching_window") if k in spec}
    return FunctionSettings(
        **{k: spec[k] for k in ("memory", "reserved_concurrency", "batch_size", "max_concurrency") if k in spec},
        **durations,
        tables=tuple(spec.get("tables", [])),
        parameters=tuple(spec.get("parameters", [])),
        secrets=tuple(spec.get("secrets", [])),
        email_senders=tuple(spec.get("email_senders", [])),
        environment=tuple(sorted(spec.get("environment", {}).items())),
    )


SECRET_LIKE = ("SECRET", "PASSWORD", "TOKEN", "PRIVATE_KEY", "API_KEY", "CREDENTIAL")


def _check_function(
    domain: Domain,
    consumer: Consumer,
    document: Any,
    environments: tuple[Environment, ...],
    known_events: set[str],
    out: _Collector,
) -> None:
    """Lambda settings: limits, no secrets in environment variables, visibility >= 6x timeout, declared emits."""
    where = ["consumers", consumer.name]
    settings = consumer.function
    if "function" in _to_plain(document)["consumers"][consumer.name] and consumer.handler is None:
        out.add(
            domain.path,
            f"consumers.{consumer.name}.function",
            "function settings without a handler",
            "add `handler: <name>` or remove `function:`",
            _line_of(document, [*where, "function"]),
        )
    if not 1 <= settings.timeout <= 900:
        out.add(
            domain.path,
            f"consumers.{consumer.name}.function.timeout",
            f"a Lambda timeout of {settings.timeout}s is outside 1s..15m",
            "use a value between 1s and 15m",
            _line_of(document, [*where, "function", "timeout"]),
        )
    for name, _ in settings.environment:
        if any(marker in name for marker in SECRET_LIKE):
            out.add(
                domain.path,
                f"consumers.{consumer.name}.function.environment.{name}",
                f"environment variable {name} looks like a secret; values in the catalog end up in plain text",
                "store it in Secrets Manager and list its name under `secrets:`",
                _line_of(document, [*where, "function", "environment", name]),
            )
    for index, qualified in enumerate(consumer.emits):
        if qualified not in known_events:
            out.add(
                domain.path,
                f"consumers.{consumer.name}.emits[{index}]",
                f"unknown event {qualified!r}",
                "emit events that exist in the catalog (<domain>/<event>)",
                _line_of(document, [*where, "emits", index]),
            )
    if consumer.handler and consumer.delivery == "queue":
        for environment in environments:
            visibility = consumer.queue_for(environment).visibility_timeout
            if visibility < settings.minimum_visibility:
                out.add(
                    domain.path,
                    f"consumers.{consumer.name}.queue.visibility_timeout",
                    f"visibility timeout {visibility}s is below 6x the function timeout "
                    f"({settings.minimum_visibility}s) in {environment.name}: a slow invocation's messages "
                    "would be delivered twice",
                    f"raise it to at least {settings.minimum_visibility}s or omit it (eventform then sets 6x)",
                    _line_of(document, [*where, "queue", "visibility_timeout"]),
                )


def _check_delivery(domain: Domain, consumer: Consumer, document: Any, fifo: bool, out: _Collector) -> None:
    """Push consumers: a function to invoke, a standard topic, no queue settings, a sane maximum event age."""
    where, location = ["consumers", consumer.name], f"consumers.{consumer.name}"
    plain = _to_plain(document)["consumers"][consumer.name]
    if consumer.delivery != "push":
        if "push" in plain:
            out.add(
                domain.path,
                f"{location}.push",
                "push settings on a queue consumer",
                "set `delivery: push` or remove `push:`",
                _line_of(document, [*where, "push"]),
            )
        return
    line = _line_of(document, [*where, "delivery"])
    if consumer.route is not None:
        out.add(
            domain.path,
            f"{location}.delivery",
            "delivery: push is SNS pushing to a function; a bus consumer pushes through its targets",
            "remove `delivery:` and `push:` and add a target `{type: lambda}` (EventBridge invokes the handler)",
            line,
        )
        return
    if consumer.handler is None:
        out.add(domain.path, f"{location}.delivery", "push delivery invokes a function", "add `handler: <name>`", line)
    if fifo:
        out.add(
            domain.path,
            f"{location}.delivery",
            "SNS FIFO topics deliver only to SQS FIFO queues, not to functions",
            "use `delivery: queue` (the default) for events of a FIFO topic",
            line,
        )
    if "queue" in plain or any("queue" in o for o in plain.get("environments", {}).values()):
        out.add(
            domain.path,
            f"{location}.queue",
            "queue settings on a push consumer (it has no queue, only an on-failure DLQ)",
            "remove `queue:` or use `delivery: queue`",
            _line_of(document, [*where, "queue"]),
        )
    if not 60 <= consumer.push.max_event_age <= 6 * 3600:
        out.add(
            domain.path,
            f"{location}.push.max_event_age",
            f"a maximum event age of {consumer.push.max_event_age}s is outside Lambda's 1m..6h",
            "use a value between 1m and 6h",
            _line_of(document, [*where, "push", "max_event_age"]),
        )


def _build_event(
    path: Path, document: Any, domain: str, name: str, spec: dict[str, Any], topic: Topic | None, out: _Collector
) -> Event | None:
    where = ["events", name]
    line = _line_of(document, where)
    location = f"events.{name}"
    ok = True
    tense = past_tense_problem(name)
    if tense:
        out.add(path, location, f"event name {name!r} is not a past-tense fact", tense, line)
        ok = False
    if topic is None and "topic" in spec.get("via", ["topic"]):
        out.add(
            path,
            location,
            f"event {name!r} travels on the domain's topic, but the domain declares none",
            "add `topic: {}` to the domain",
            line,
        )
        ok = False
    fifo = bool(topic and topic.fifo)
    if fifo and "message_group" not in spec:
        out.add(
            path,
            location,
            f"event {name!r} is published on a FIFO topic without a message group field",
            "add message_group: <field> naming the aggregate id (e.g. order_id); never one global group",
            line,
        )
        ok = False
    if not fifo and "message_group" in spec:
        out.add(
            path,
            f"{location}.message_group",
            "message_group only applies to FIFO topics",
            "remove message_group or set topic.fifo: true",
            _line_of(document, [*where, "message_group"]),
        )
        ok = False
    versions = []
    for number in sorted(spec["versions"]):
        version = _load_version(path, document, domain, name, number, spec, out)
        if version:
            versions.append(version)
        else:
            ok = False
    if not ok:
        return None
    return Event(
        domain=domain,
        name=name,
        description=spec["description"],
        versions=tuple(versions),
        via=tuple(spec.get("via", ["topic"])),
        attributes=tuple(spec.get("attributes", [])),
        pii=tuple(spec.get("pii", [])),
        message_group=spec.get("message_group"),
    )


def _schema_has_path(schema: dict[str, Any], dotted: str) -> bool:
    node: Any = schema
    for part in dotted.split("."):
        properties = node.get("properties", {}) if isinstance(node, dict) else {}
        if part not in properties:
            return False
        node = properties[part]
    return True


def _load_version(
    path: Path, document: Any, domain: str, name: str, number: int, spec: dict[str, Any], out: _Collector
) -> EventVersion | None:
    folder = path.parent / domain / name
    schema_path = folder / f"v{number}.schema.json"
    examples_path = folder / f"v{number}.examples.json"
    line = _line_of(document, ["events", name, "versions"])
    location = f"events.{name}.versions"
    relative_schema = (
        schema_path.relative_to(path.parent.parent) if path.parent.parent in schema_path.parents else schema_path
    )
    if not schema_path.is_file():
        out.add(
            path,
            location,
            f"version {number} of {name!r} has no schema file {relative_schema}",
            f"create it (`eventform add event {domain} {name} --version {number}` scaffolds one)",
            line,
        )
        return None
    schema = _read_json(schema_path, out)
    if schema is None:
        return None
    if not isinstance(schema, dict) or schema.get("$schema") != SCHEMA_DIALECT:
        out.add(
            schema_path,
            "$schema",
            "event schemas must declare JSON Schema 2020-12",
            f'set "$schema": "{SCHEMA_DIALECT}"',
        )
        return None
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        out.add(
            schema_path,
            "/".join(map(str, error.absolute_path)) or "(root)",
            f"not a valid JSON Schema: {error.message}",
            "fix the schema keyword named here",
        )
        return None
    if schema.get("type") != "object":
        out.add(schema_path, "type", "an event payload schema must describe an object", 'set "type": "object"')
        return None
    ok = True
    for field_list in ("attributes", "pii"):
        for dotted in spec.get(field_list, []):
            if not _schema_has_path(schema, dotted):
                out.add(
                    path,
                    f"events.{name}.{field_list}",
                    f"{dotted!r} is not a property of {schema_path.name}",
                    f"add {dotted!r} to the schema's properties or remove it from {field_list}",
                    _line_of(document, ["events", name, field_list]),
                )
                ok = False
    group = spec.get("message_group")
    if group and (not _schema_has_path(schema, group) or group.split(".")[0] not in schema.get("required", [])):
        out.add(
            path,
            f"events.{name}.message_group",
            f"message group field {group!r} must be a required property of {schema_path.name}",
            f"add {group!r} to the schema's properties and required list",
            _line_of(document, ["events", name, "message_group"]),
        )
        ok = False
    if not examples_path.is_file():
        out.add(
            path,
            location,
            f"version {number} of {name!r} has no examples file {examples_path.name}",
            f"create {examples_path} holding a JSON array with at least one example payload",
            line,
        )
        return None
    examples = _read_json(examples_path, out)
    if examples is None:
        return None
    if not isinstance(examples, list) or not examples:
        out.add(
            examples_path,
            "(root)",
            "examples must be a non-empty JSON array of payloads",
            "wrap the example in [ ... ]",
        )
        return None
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for index, example in enumerate(examples):
        for error in validator.iter_errors(example):
            field_path = "/".join(map(str, error.absolute_path)) or "(root)"
            out.add(
                examples_path,
                f"[{index}].{field_path}",
                f"example {index} does not match {schema_path.name}: {error.message}",
                "fix the example or the schema so that they agree",
            )
            ok = False
    if not ok:
        return None
    return EventVersion(
        number=number, schema_path=schema_path, schema=schema, examples_path=examples_path, examples=tuple(examples)
    )


def _read_json(path: Path, out: _Collector) -> Any | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        out.add(
            path,
            f"line {error.lineno} column {error.colno}",
            f"not valid JSON: {error.msg}",
            "fix the JSON syntax (trailing commas and single quotes are not JSON)",
            error.lineno,
        )
    except OSError as error:
        out.add(path, "", f"cannot read the file: {error.strerror}", "check the path and permissions")
    return None


def _check_consumers(
    catalog: Catalog, documents: dict[Path, Any], environments: tuple[Environment, ...], out: _Collector
) -> None:
    known_events = {event.qualified_name: event for event in catalog.events}
    environment_names = {environment.name for environment in environments}
    for domain in catalog.domains:
        document = documents[domain.path]
        for consumer in domain.consumers:
            where = ["consumers", consumer.name]
            location = f"consumers.{consumer.name}"
            consumed: list[Event] = []
            for index, qualified in enumerate(consumer.events):
                event = known_events.get(qualified)
                if event is None:
                    target_domain = qualified.split("/", 1)[0]
                    hint = (
                        f"events of {target_domain}: {', '.join(e.name for e in catalog.domain(target_domain).events)}"
                        if target_domain in {d.name for d in catalog.domains}
                        else f"known domains: {', '.join(d.name for d in catalog.domains)}"
                    )
                    out.add(
                        domain.path,
                        f"{location}.events[{index}]",
                        f"unknown event {qualified!r}",
                        f"use <domain>/<event> of an existing event ({hint})",
                        _line_of(document, [*where, "events", index]),
                    )
                else:
                    consumed.append(event)
            if len(consumed) != len(consumer.events):
                continue
            fifo_kinds = {
                bool(catalog.domain(e.domain).topic and catalog.domain(e.domain).topic.fifo) for e in consumed
            }
            if len(fifo_kinds) > 1 and consumer.route is None:
                out.add(
                    domain.path,
                    f"{location}.events",
                    "mixes events from FIFO and standard topics: a FIFO topic delivers only to FIFO queues and "
                    "a standard topic only to standard queues",
                    "split the consumer in two, one per kind of topic",
                    _line_of(document, [*where, "events"]),
                )
            _check_filter(domain, consumer, consumed, document, out)
            _check_function(domain, consumer, document, environments, set(known_events), out)
            _check_delivery(domain, consumer, document, True in fifo_kinds, out)
            for env_name in consumer.overrides:
                if environments and env_name not in environment_names:
                    out.add(
                        domain.path,
                        f"{location}.environments.{env_name}",
                        f"unknown environment {env_name!r}",
                        f"use one of: {', '.join(sorted(environment_names))}",
                        _line_of(document, [*where, "environments", env_name]),
                    )
            for environment in environments:
                _check_queue(domain, consumer, environment, document, out)


def _check_filter(domain: Domain, consumer: Consumer, consumed: list[Event], document: Any, out: _Collector) -> None:
    if consumer.filter is None:
        return
    line = _line_of(document, ["consumers", consumer.name, "filter"])

    def line_of(key: str) -> int | None:
        return _line_of(document, ["consumers", consumer.name, "filter", key])

    location = f"consumers.{consumer.name}.filter"
    syntax = filters.syntax_problems(consumer.filter, location)
    for where, message, fix in syntax:
        out.add(domain.path, where, message, fix, line)
    if syntax:
        return
    keys = filters.attribute_keys(consumer.filter)
    if "type" in keys:
        out.add(
            domain.path,
            f"{location}.type",
            "eventform already filters on the consumed event types",
            "remove `type` from the filter; list the events under `events:` instead",
            line_of("type"),
        )
    if consumer.filter_scope == "attributes":
        if len(keys) + 1 > filters.MAX_ATTRIBUTE_KEYS:
            out.add(
                domain.path,
                location,
                f"SNS allows {filters.MAX_ATTRIBUTE_KEYS} attribute names per filter "
                f"policy; this one uses {len(keys) + 1} (with the generated `type`)",
                "drop conditions or use filter_scope: body",
                line,
            )
        for event in consumed:
            available = set(ENVELOPE_ATTRIBUTES) | set(event.attributes)
            for key in sorted(keys - available - {"type"}):
                out.add(
                    domain.path,
                    f"{location}.{key}",
                    f"{event.qualified_name} does not publish the message attribute {key!r}, so the "
                    "subscription would drop it",
                    f"add {key!r} to `attributes:` of {event.qualified_name} or use filter_scope: body",
                    line_of(key),
                )
    else:
        for key in sorted(keys - ENVELOPE_FIELDS):
            out.add(
                domain.path,
                f"{location}.{key}",
                f"{key!r} is not a field of the event envelope",
                f"body filters start at the CloudEvents envelope: use one of {', '.join(sorted(ENVELOPE_FIELDS))}",
                line_of(key),
            )
        data_filter = consumer.filter.get("data")
        if isinstance(data_filter, dict):
            for event in consumed:
                for dotted in _leaf_paths(data_filter):
                    if not _schema_has_path(event.latest.schema, dotted):
                        out.add(
                            domain.path,
                            f"{location}.data.{dotted}",
                            f"{dotted!r} is not a field of {event.qualified_name} v{event.latest.number}",
                            "filter on a field the event's schema declares",
                            line,
                        )


def _leaf_paths(policy: dict[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in policy.items():
        if key == "$or":
            for alternative in value:
                paths.extend(_leaf_paths(alternative, prefix))
        elif isinstance(value, dict):
            paths.extend(_leaf_paths(value, f"{prefix}{key}."))
        else:
            paths.append(f"{prefix}{key}")
    return paths


def _check_queue(domain: Domain, consumer: Consumer, environment: Environment, document: Any, out: _Collector) -> None:
    settings = consumer.queue_for(environment)
    where = ["consumers", consumer.name]
    limits = {
        "visibility_timeout": (0, 43_200, "0s..12h"),
        "retention": (60, 1_209_600, "1m..14d"),
        "delay": (0, 900, "0s..15m"),
    }
    for key, (low, high, text) in limits.items():
        value = getattr(settings, key)
        if not low <= value <= high:
            out.add(
                domain.path,
                f"consumers.{consumer.name}.queue.{key}",
                f"{key} {value}s is outside what SQS allows ({text}) in environment {environment.name}",
                f"use a value in {text}",
                _line_of(document, [*where, "queue", key]),
            )
    if settings.retention > environment.dlq_retention:
        out.add(
            domain.path,
            f"consumers.{consumer.name}.queue.retention",
            f"queue retention {settings.retention}s exceeds the DLQ retention {environment.dlq_retention}s of "
            f"environment {environment.name}: a message could expire in the DLQ before anyone saw it",
            f"lower the retention or raise retention.dlq in {environment.path.name}",
            _line_of(document, [*where, "queue", "retention"]),
        )


# Handlers the platform attaches itself (to dead-letter queues), not named by any consumer.
PLATFORM_HANDLERS = frozenset({"dlq_recorder"})


def _check_handlers(catalog: Catalog, documents: dict[Path, Any], out: _Collector) -> None:
    """Every named handler exists under handlers/, and every handler package there serves some consumer."""
    folder = catalog.root.parent / "handlers"
    available = {p.parent.name for p in folder.glob("*/handler.py")} if folder.is_dir() else set()
    used: set[str] = set()
    for domain in catalog.domains:
        for consumer in domain.consumers:
            if consumer.handler is None:
                continue
            used.add(consumer.handler)
            if consumer.handler not in available:
                out.add(
                    domain.path,
                    f"consumers.{consumer.name}.handler",
                    f"handler {consumer.handler!r} does not exist (no handlers/{consumer.handler}/handler.py)",
                    f"create it (`eventform add consumer ... --handler {consumer.handler}` scaffolds one) or use one "
                    f"of: {', '.join(sorted(available - PLATFORM_HANDLERS)) or 'none yet'}",
                    _line_of(documents[domain.path], ["consumers", consumer.name, "handler"]),
                )
    used |= pipes.enrichment_handlers(catalog)
    for orphan in sorted(available - used - PLATFORM_HANDLERS):
        out.add(
            folder / orphan / "handler.py",
            "",
            f"handler {orphan!r} is used by no consumer",
            f"name it in a consumer (`handler: {orphan}`) or delete handlers/{orphan}/",
        )


def _with_fifo_consumers(catalog: Catalog) -> Catalog:
    """Consumers of FIFO topics get FIFO queues: derived, so the catalog never states it twice."""
    from dataclasses import replace

    domains = []
    for domain in catalog.domains:
        consumers = []
        for consumer in domain.consumers:
            source = catalog.domain(consumer.events[0].split("/", 1)[0]) if consumer.events else None
            # buses do not order, and S3 notifies standard queues only
            fifo = bool(source and source.topic and source.topic.fifo) and consumer.route is None
            consumers.append(replace(consumer, fifo=fifo))
        domains.append(replace(domain, consumers=tuple(consumers)))
    return replace(catalog, domains=tuple(domains))


def _check_names(
    catalog: Catalog, environments: tuple[Environment, ...], documents: dict[Path, Any], out: _Collector
) -> None:
    """Generated queue names must not collide (``a-b``/``c`` and ``a``/``b-c`` would)."""
    for environment in environments or (None,):
        names = Names(env=environment.name if environment else "env", region="r", account_id="0" * 12)
        seen: dict[str, Consumer] = {}
        for consumer in catalog.consumers:
            name = names.queue(consumer.domain, consumer.name, consumer.fifo)
            other = seen.get(name)
            if other is not None:
                domain = catalog.domain(consumer.domain)
                out.add(
                    domain.path,
                    f"consumers.{consumer.name}",
                    f"queue name {name!r} collides with consumer {other.qualified_name}",
                    "rename one of the two consumers",
                    _line_of(documents[domain.path], ["consumers", consumer.name]),
                )
            seen[name] = consumer


def load(root: Path, environments: Iterable[str] | None = None) -> tuple[Catalog, tuple[Environment, ...]]:
    """Load ``root/environments`` (optionally only some) and ``root/catalog``; raise CatalogError on any problem."""
    every_environment = load_environments(root / "environments")
    wanted = set(environments) if environments else None
    if wanted:
        unknown = sorted(wanted - {e.name for e in every_environment})
        if unknown:
            raise CatalogError(
                Problem(
                    root / "environments" / f"{name}.yaml",
                    "",
                    f"unknown environment {name!r}",
                    f"use one of: {', '.join(e.name for e in every_environment)}",
                )
                for name in unknown
            )
    catalog = load_catalog(root / "catalog", every_environment)
    from eventform.catalog.rules import pii_problems

    pii = pii_problems(catalog, every_environment)
    if pii:
        raise CatalogError(pii)
    return catalog, tuple(e for e in every_environment if wanted is None or e.name in wanted)


__all__ = ["load", "load_catalog", "load_environments", "parse_duration", "past_tense_problem"]
