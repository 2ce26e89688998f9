"""Loading and checking the EventBridge half of the catalog: buses, routes (rules + targets), schedules, API calls.

Kept apart from :mod:`eventform.catalog.loader` so that the SNS path stays as it was; the loader calls ``build_*``
while it
builds a domain and :func:`check_catalog` once every domain is known. Problems use the loader's collector, so they
carry file, line, location and fix like every other problem.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from eventform.catalog import bus_trust, deliveries, patterns, references, registry, transformers
from eventform.catalog.model import (
    ApiDestination,
    Bus,
    Catalog,
    Consumer,
    Domain,
    Environment,
    EventBridgeSettings,
    InputTransformer,
    RetryPolicy,
    Route,
    Target,
)
from eventform.catalog.parsing import Collector, line_of, parse_duration, refuse_keys

# Targets whose payload is text, not JSON: EventBridge delivers a plain-text template to them as it is.
TEXT_TARGETS = frozenset({"sns", "kinesis", "firehose"})
MAX_TARGETS_PER_RULE = 5  # AWS: PutTargets accepts at most 5 targets per rule
SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$")
ACCOUNT = re.compile(r"^[0-9]{12}$")
ORGANIZATION = re.compile(r"^o-[a-z0-9]{10,32}$")
LITERAL_SECRET_KEYS = ("value", "password", "token", "api_key", "username")
ARN_SERVICE = {
    "sns": "sns",
    "stepfunctions": "states",
    "kinesis": "kinesis",
    "firehose": "firehose",
    "bus": "events",
}


# --------------------------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------------------------
def environment_settings(
    path: Path, document: Any, data: dict[str, Any], out: Collector
) -> EventBridgeSettings | None:
    spec = data.get("eventbridge", {})
    settings = EventBridgeSettings(
        archive_days=spec.get("archive_days", EventBridgeSettings.archive_days),
        schema_registry=spec.get("schema_registry", False),
        api_destinations=spec.get("api_destinations", EventBridgeSettings.api_destinations),
    )
    if settings.schema_registry and "endpoint" in data:
        out.add(
            path,
            "eventbridge.schema_registry",
            "the embedded AWS (moto) has no EventBridge schema registry",
            "set eventbridge.schema_registry: false in the local environment",
            line_of(document, ["eventbridge", "schema_registry"]),
        )
        return None
    return settings


# --------------------------------------------------------------------------------------------------------------
# Domains: bus, consumers' routes, schedules, API-call alerts
# --------------------------------------------------------------------------------------------------------------
def build_bus(path: Path, document: Any, data: dict[str, Any], out: Collector) -> Bus | None:
    if "bus" not in data:
        return None
    spec = data["bus"]
    put = spec.get("put_events", {})
    ok = True
    for index, account in enumerate(put.get("accounts", [])):
        where = ["bus", "put_events", "accounts", index]
        if account.strip() == "*":
            out.add(
                path,
                f"bus.put_events.accounts[{index}]",
                "a bus policy never admits every principal ('*')",
                "list the 12-digit account ids that may put events, or use organization: o-... for the whole "
                "organisation (aws:PrincipalOrgID)",
                line_of(document, where),
            )
            ok = False
        elif not ACCOUNT.match(account):
            out.add(
                path,
                f"bus.put_events.accounts[{index}]",
                f"{account!r} is not an AWS account id",
                'write the 12-digit account id, quoted: "444444444444"',
                line_of(document, where),
            )
            ok = False
    organization = put.get("organization")
    if organization is not None and not ORGANIZATION.match(organization):
        message = (
            "a bus policy never admits every principal ('*')"
            if organization.strip() == "*"
            else f"{organization!r} is not an organisation id"
        )
        out.add(
            path,
            "bus.put_events.organization",
            message,
            "write the organisation id (o- followed by 10 to 32 letters or digits)",
            line_of(document, ["bus", "put_events", "organization"]),
        )
        ok = False
    units = bus_trust.organizational_units(path, document, put, organization, out)
    ok = ok and units is not None
    archive_pattern = spec.get("archive", {}).get("pattern")
    if archive_pattern is not None:
        problems = patterns.syntax_problems(archive_pattern, "bus.archive.pattern", top=False)
        for at, message, fix in problems:
            out.add(path, at, message, fix, line_of(document, ["bus", "archive", "pattern"]))
        ok = ok and not problems
    if not ok:
        return None
    return Bus(
        accounts=tuple(sorted(put.get("accounts", []))),
        organization=organization,
        archive_pattern=archive_pattern,
        partners=tuple(sorted(put.get("partners", []))),
        archive_days=spec.get("archive", {}).get("days"),
        events=tuple(sorted(put.get("events", []))),
        organizational_units=units or (),
    )


def retry_policy(spec: dict[str, Any] | None) -> RetryPolicy:
    spec = spec or {}
    return RetryPolicy(
        max_attempts=spec.get("max_attempts", RetryPolicy.max_attempts),
        max_age=parse_duration(spec.get("max_age", RetryPolicy.max_age)),
    )


def retry_problems(retry: RetryPolicy, location: str) -> list[patterns.Problem]:
    if 60 <= retry.max_age <= 86400:
        return []
    return [(f"{location}.retry.max_age", f"maximum event age {retry.max_age}s is outside 60s..24h", "use 1m..24h")]


def build_route(path: Path, document: Any, name: str, spec: dict[str, Any], out: Collector) -> Route | None:
    """The EventBridge route of one consumer (``via: bus``); None for SNS consumers or on error."""
    where = ["consumers", name]
    location = f"consumers.{name}"
    via = spec.get("via", "topic")
    if via != "bus":
        for key in ("pattern", "targets"):  # `rare` is for every consumer (the rehearsal's coverage check)
            if key in spec:
                out.add(
                    path,
                    f"{location}.{key}",
                    f"{key} belongs to EventBridge consumers, but this consumer subscribes through SNS topics",
                    "add via: bus (the events must travel on their domain's bus) or remove the key",
                    line_of(document, [*where, key]),
                )
        return None
    ok = refuse_keys(
        out,
        path,
        document,
        where,
        spec,
        ("filter", "filter_scope"),
        "{key} is an SNS filter policy; a via: bus consumer filters with an EventBridge pattern",
        "move the conditions to pattern: (under detail: for payload fields)",
    )
    pattern = spec.get("pattern")
    if pattern is not None:
        problems = patterns.syntax_problems(pattern, f"{location}.pattern")
        if not problems and len(json.dumps(pattern)) > patterns.MAX_PATTERN_LENGTH - 512:
            problems.append(
                (
                    f"{location}.pattern",
                    "the pattern is too long for EventBridge (4096 characters "
                    "with the generated source and detail-type)",
                    "split the consumer",
                )
            )
        for at, message, fix in problems:
            out.add(path, at, message, fix, line_of(document, [*where, "pattern", *at.split(".")[3:4]]))
        ok = ok and not problems
    targets_spec = spec.get("targets") or {"queue": {"type": "queue"}}
    if len(targets_spec) > MAX_TARGETS_PER_RULE:
        out.add(
            path,
            f"{location}.targets",
            f"{len(targets_spec)} targets: an EventBridge rule takes at most {MAX_TARGETS_PER_RULE}",
            "split the consumer in two (each gets its own rule), or fan out through an SNS topic target",
            line_of(document, [*where, "targets"]),
        )
        ok = False
    targets = []
    for target_name, target_spec in sorted(targets_spec.items()):
        target = _build_target(path, document, name, target_name, target_spec, out)
        ok = ok and target is not None
        if target is not None:
            targets.append(target)
    kinds = [t.kind for t in targets]
    if "lambda" in kinds and "handler" not in spec:
        out.add(
            path,
            f"{location}.targets",
            "a lambda target pushes events to the consumer's handler, but the consumer names none",
            "add handler: <package under handlers/> to the consumer",
            line_of(document, [*where, "targets"]),
        )
        ok = False
    if "lambda" in kinds and "queue" in kinds and "handler" in spec:
        out.add(
            path,
            f"{location}.targets",
            "the handler would run twice per event: pushed by the rule and fed by the consumer's queue",
            "keep either the queue target (durable, batched) or the lambda target (push)",
            line_of(document, [*where, "targets"]),
        )
        ok = False
    if kinds.count("lambda") > 1 or kinds.count("queue") > 1:
        out.add(
            path,
            f"{location}.targets",
            "a consumer has one queue and one handler; a target of that type is listed twice",
            "keep one target of type queue and at most one of type lambda",
            line_of(document, [*where, "targets"]),
        )
        ok = False
    if not ok:
        return None
    return Route(pattern=pattern, targets=tuple(targets), rare=bool(spec.get("rare", False)))


def _build_target(
    path: Path, document: Any, consumer: str, name: str, spec: dict[str, Any], out: Collector
) -> Target | None:
    where = ["consumers", consumer, "targets", name]
    location = f"consumers.{consumer}.targets.{name}"
    kind = spec["type"]
    problems: list[patterns.Problem] = []
    stream, stream_problems = deliveries.target_stream(spec, kind, location)  # a catalog stream by name
    reference, reference_problems = (
        (None, []) if stream else references.target_reference(spec, kind, ARN_SERVICE, location)
    )
    problems.extend(stream_problems + reference_problems)
    if kind == "lambda" and "function" in spec:
        problems.append(
            (
                f"{location}.function",
                "a lambda target pushes to the consumer's own handler; it names no other function",
                "remove function: and set handler: on the consumer (handlers/<name>/handler.py)",
            )
        )
    api = None
    if kind == "api":
        api, api_problems = _api_destination(spec, location)
        problems.extend(api_problems)
    elif any(k in spec for k in ("endpoint", "method", "rate", "auth")):
        problems.append((location, "endpoint, method, rate and auth belong to api targets", "set type: api"))
    if "input_path" in spec and "input_transformer" in spec:
        problems.append((location, "input_path and input_transformer exclude each other", "keep one of them"))
    transformer = None
    if "input_transformer" in spec:
        transformer = InputTransformer(
            paths=dict(sorted(spec["input_transformer"]["paths"].items())),
            template=spec["input_transformer"]["template"],
        )
        for refused, message, fix in transformers.template_problems(transformer.paths, transformer.template):
            field = "template" if refused == "InputTemplate" else "paths" + refused.removeprefix("InputPathsMap")
            problems.append((f"{location}.input_transformer.{field}", f"EventBridge refuses this: {message}", fix))
        unknown = (
            patterns.placeholders(transformer.template) - set(transformer.paths) - patterns.PREDEFINED_PLACEHOLDERS
        )
        for placeholder in sorted(unknown):
            problems.append(
                (
                    f"{location}.input_transformer.template",
                    f"<{placeholder}> is not defined in paths",
                    f"add {placeholder}: $.detail.<field> to input_transformer.paths",
                )
            )
    retry = retry_policy(spec.get("retry"))
    problems.extend(retry_problems(retry, location))
    if kind != "kinesis" and "partition_key_path" in spec:
        problems.append((f"{location}.partition_key_path", "only kinesis targets take a partition key", "remove it"))
    for at, message, fix in problems:
        out.add(path, at, message, fix, line_of(document, [*where, *at.removeprefix(location).split(".")[1:3]]))
    if problems:
        return None
    return Target(
        name=name,
        kind=kind,
        arn=spec.get("arn"),
        input_path=spec.get("input_path"),
        input_transformer=transformer,
        retry=retry,
        api=api,
        partition_key_path=spec.get("partition_key_path"),
        function=spec.get("function"),
        reference=reference,
        pii_exception=references.pii_exception(spec),
        workflow=spec.get("workflow"),
        stream=stream,
    )


def _api_destination(spec: dict[str, Any], location: str) -> tuple[ApiDestination | None, list[patterns.Problem]]:
    problems: list[patterns.Problem] = []
    if "endpoint" not in spec:
        problems.append((location, "an api target needs its HTTPS endpoint", "add endpoint: https://..."))
    auth = spec.get("auth")
    if auth is None:
        problems.append(
            (
                location,
                "an api target needs auth (its connection's credentials)",
                "add auth: {type: api_key, secret: arn:aws:secretsmanager:...}",
            )
        )
        return None, problems
    for key in LITERAL_SECRET_KEYS:
        if key in auth:
            problems.append(
                (
                    f"{location}.auth.{key}",
                    f"a secret written inline ({key}): credentials never live in the catalog",
                    "store it in Secrets Manager and write auth.secret: <the secret's ARN>",
                )
            )
    secret = auth.get("secret")
    secret_reference = None
    if isinstance(secret, dict):  # {name: ...} or per environment: {environments: {<env>: {arn: ...}}}
        secret_reference, secret_problems = references.parse(secret, "secretsmanager", "auth.secret")
        problems.extend((".".join([f"{location}.auth.secret", *map(str, k)]), m, f) for k, m, f in secret_problems)
    elif secret is None:
        problems.append(
            (
                f"{location}.auth",
                "auth needs secret: the Secrets Manager ARN of the credentials",
                "add secret: arn:aws:secretsmanager:<region>:<account>:secret:<name>",
            )
        )
    elif not SECRET_ARN.match(secret):
        problems.append(
            (
                f"{location}.auth.secret",
                "auth.secret must reference a Secrets Manager secret by ARN (anything else may be a secret "
                "written inline)",
                "write secret: arn:aws:secretsmanager:<region>:<account>:secret:<name>",
            )
        )
    if problems:
        return None, problems
    return (
        ApiDestination(
            endpoint=spec["endpoint"],
            method=spec.get("method", "POST"),
            rate=spec.get("rate", 1),
            auth=auth["type"],
            secret_arn=secret if isinstance(secret, str) else None,
            header=auth.get("header", "x-api-key"),
            secret=secret_reference
            or references.parse({"arn": secret}, "secretsmanager", "auth.secret")[0],
        ),
        [],
    )


# --------------------------------------------------------------------------------------------------------------
# Cross-domain checks, once every domain is loaded
# --------------------------------------------------------------------------------------------------------------
def check_catalog(
    catalog: Catalog, documents: dict[Path, Any], environments: tuple[Environment, ...], out: Collector
) -> None:
    for domain in catalog.domains:
        document = documents[domain.path]
        for event in domain.events:
            if "bus" in event.via and domain.bus is None:
                out.add(
                    domain.path,
                    f"events.{event.name}.via",
                    f"event {event.name!r} travels on the domain's bus, but the domain declares none",
                    "add `bus: {}` to the domain",
                    line_of(document, ["events", event.name, "via"]),
                )
            if domain.bus is not None or any("bus" in e.via for e in domain.events):
                for version in event.versions:
                    for message in registry.conversion_problems(version.schema, version.examples):
                        out.add(
                            version.schema_path,
                            "(root)",
                            message,
                            "use JSON Schema keywords that have a Draft 4 equivalent (the schema registry's dialect)",
                        )
        for consumer in domain.consumers:
            if consumer.route is not None:
                _check_route(catalog, domain, consumer, document, out)
    for path, location, message, fix in example_problems(catalog):
        name = location.split(".")[1]
        out.add(path, location, message, fix, line_of(documents[path], ["consumers", name, "pattern"]))
    for path, location, message, fix in rendering_problems(catalog):
        name, target = location.split(".")[1], location.split(".")[3]
        out.add(path, location, message, fix, line_of(documents[path], ["consumers", name, "targets", target]))


def _check_route(catalog: Catalog, domain: Domain, consumer: Consumer, document: Any, out: Collector) -> None:
    route = consumer.route
    assert route is not None
    where = ["consumers", consumer.name]
    location = f"consumers.{consumer.name}"
    events = [catalog.event(q) for q in consumer.events if q in {e.qualified_name for e in catalog.events}]
    for event in events:
        if "bus" not in event.via:
            out.add(
                domain.path,
                f"{location}.events",
                f"{event.qualified_name} does not travel on its domain's bus (via: {list(event.via)})",
                f"add bus to `via:` of {event.qualified_name} (catalog/{event.domain}.yaml)",
                line_of(document, [*where, "events"]),
            )
    if route.pattern:
        for dotted, values in patterns.detail_paths(route.pattern):
            only_absent = values == [{"exists": False}]
            for event in events:
                problem = patterns.detail_field_problem(list(dotted.split(".")), event.latest.schema)
                if not only_absent and problem is not None:
                    out.add(
                        domain.path,
                        f"{location}.pattern.detail.{dotted}",
                        f"detail.{dotted} is not a field of {event.qualified_name} v{event.latest.number}: {problem}",
                        "match on a field the event's schema declares, under detail.data (detail is the CloudEvents "
                        "envelope), or on an envelope field such as detail.dataversion",
                        line_of(document, [*where, "pattern"]),
                    )
    for target in route.targets:
        at = [*where, "targets", target.name]
        checks = [("input_path", target.input_path)] if target.input_path else []
        if target.input_transformer:
            checks += [(f"input_transformer.paths.{k}", v) for k, v in target.input_transformer.paths.items()]
        if target.partition_key_path:
            checks.append(("partition_key_path", target.partition_key_path))
        for key, json_path in checks:
            for event in events:
                problem = patterns.envelope_path_problem(json_path, event.latest.schema)
                if problem:
                    out.add(
                        domain.path,
                        f"{location}.targets.{target.name}.{key}",
                        f"{problem} ({event.qualified_name} v{event.latest.number})",
                        "point at a field the event's schema declares, e.g. $.detail.data.<field>, "
                        "or at $.source, $.time",
                        line_of(document, at),
                    )


# --------------------------------------------------------------------------------------------------------------
# Load time: patterns against the catalog's examples (aws/event-ruler's semantics), transformers rendered
# --------------------------------------------------------------------------------------------------------------
def example_matrix(catalog: Catalog) -> list[tuple[Consumer, str, int, bool]]:
    """(consumer, event, example index, delivered?) for every via-bus consumer and every example it could get."""
    rows = []
    for consumer in catalog.consumers:
        if consumer.route is None:
            continue
        for qualified in consumer.events:
            event = catalog.event(qualified)
            source = catalog.domain(event.domain).source
            pattern = patterns.rule_pattern(source, [event.name], consumer.route.pattern)
            for index, example in enumerate(event.latest.examples):
                envelope = patterns.envelope(source, event.name, example, version=event.latest.number)
                delivered = patterns.matches(pattern, envelope)
                rows.append((consumer, qualified, index, delivered))
    return rows


def example_problems(catalog: Catalog) -> list[tuple[Path, str, str, str]]:
    """A pattern that matches none of its events' examples is an error unless the consumer says ``rare: true``."""
    problems = []
    matched: dict[str, bool] = {}
    for consumer, _, _, delivered in example_matrix(catalog):
        matched[consumer.qualified_name] = matched.get(consumer.qualified_name, False) or delivered
    for consumer in catalog.consumers:
        if consumer.route is not None and not matched.get(consumer.qualified_name, True) and not consumer.route.rare:
            problems.append(
                (
                    catalog.domain(consumer.domain).path,
                    f"consumers.{consumer.name}.pattern",
                    "the pattern matches none of the catalog examples of its events: it may never fire",
                    "fix the pattern, add an example it should match, or mark the consumer rare: true",
                )
            )
    return problems


def rendered_inputs(catalog: Catalog) -> list[tuple[str, str, str, int, str]]:
    """(consumer, target, event, example index, what the target receives) for the delivered examples of targets
    that reshape the input."""
    rows = []
    for consumer in catalog.consumers:
        if consumer.route is None:
            continue
        for target in consumer.route.targets:
            if not (target.input_path or target.input_transformer):
                continue
            for qualified in consumer.events:
                event = catalog.event(qualified)
                source = catalog.domain(event.domain).source
                pattern = patterns.rule_pattern(source, [event.name], consumer.route.pattern)
                for index, example in enumerate(event.latest.examples):
                    envelope = patterns.envelope(source, event.name, example, version=event.latest.number)
                    if not patterns.matches(pattern, envelope):
                        continue  # the rule never delivers it: nothing to render
                    transformer = target.input_transformer
                    rendered = patterns.render_input(
                        envelope,
                        target.input_path,
                        transformer.paths if transformer else None,
                        transformer.template if transformer else None,
                    )
                    rows.append((consumer.qualified_name, target.name, qualified, index, rendered))
    return rows


def rendering_problems(catalog: Catalog) -> list[tuple[Path, str, str, str]]:
    """An input transformer must render valid JSON for every example its rule delivers: targets (Lambda, Step
    Functions, buses, API destinations, queues read by eventform's handlers) receive exactly that text. SNS, Kinesis
    and Firehose carry any text (an alert sentence, a log line), as EventBridge allows for them."""
    problems, seen = [], set()
    by_name = {c.qualified_name: c for c in catalog.consumers}
    for consumer_name, target_name, qualified, index, rendered in rendered_inputs(catalog):
        consumer = by_name[consumer_name]
        target = next(t for t in consumer.route.targets if t.name == target_name) if consumer.route else None
        if target is None or target.input_transformer is None or target.kind in TEXT_TARGETS:
            continue
        if transformers.is_json(rendered):
            continue
        location = f"consumers.{consumer.name}.targets.{target_name}.input_transformer.template"
        if location in seen:
            continue
        seen.add(location)
        problems.append(
            (
                catalog.domain(consumer.domain).path,
                location,
                f"EventBridge would send invalid JSON for example {index} of {qualified}: {rendered[:200]}",
                "inside a JSON template put string placeholders in quotes (\"<name>\") and others outside; a text "
                "template must itself be a JSON string ('\"Order <id> ...\"')",
            )
        )
    return problems
