"""HTTP ingestion endpoints of a domain (``ingestion:``): read, checked, and the request model each event gets.

A REST API, not an HTTP API: only REST APIs validate a request body against a JSON Schema (a model, draft 4) and
transform it with a mapping template, which is what wraps the payload in the CloudEvents envelope before API
Gateway's own PutEvents call. The event schemas are JSON Schema 2020-12, so each one is converted to draft 4
(:func:`draft4_model`): the keywords both drafts share pass unchanged, the few with a draft-4 spelling are rewritten,
and a schema using anything draft 4 cannot say is refused with the keyword named. The loader calls
:func:`build_ingestion` while it builds a domain and :func:`check_catalog` once every domain is known.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

from eventform.catalog.ingestion_model import MAX_BODY, MIN_BODY, Ingestion, IngestionAuth, Throttle
from eventform.catalog.model import Catalog, Domain, Environment
from eventform.catalog.parsing import Collector, EntryReport
from eventform.catalog.service_levels import parse_size

DRAFT4 = "http://json-schema.org/draft-04/schema#"
# 2019-09/2020-12 keywords draft 4 has no equivalent for: refused (a silently dropped constraint would let invalid
# events through the endpoint).
NOT_IN_DRAFT4 = (
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "propertyNames",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
)
# Annotations only: dropped from the model (they constrain nothing).
ANNOTATIONS = (
    "$id",
    "$comment",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "contentEncoding",
    "contentMediaType",
)


# --------------------------------------------------------------------------------------------------------------
# One domain's endpoints
# --------------------------------------------------------------------------------------------------------------
def build_ingestion(path: Path, document: Any, data: dict[str, Any], out: Collector) -> tuple[Ingestion, ...]:
    built = []
    for name, spec in sorted(data.get("ingestion", {}).items()):
        report = EntryReport(path, document, out, ["ingestion", name])
        auth = _auth(spec["auth"], report)
        max_body = parse_size(spec.get("max_body", MAX_BODY))
        if not MIN_BODY <= max_body <= MAX_BODY:
            report.add(
                ["max_body"],
                f"a body limit of {spec['max_body']} is outside what the endpoint's web ACL can enforce (1KB..64KB: "
                "it inspects at most 64 KB of a body)",
                "use a value between 1KB and 64KB, e.g. max_body: 32KB",
            )
        if auth is None or report.count:
            continue
        throttle = spec.get("throttle", {})
        built.append(
            Ingestion(
                domain=data["domain"],
                name=name,
                description=spec["description"],
                events=tuple(spec["events"]),
                auth=auth,
                max_body=max_body,
                throttle=Throttle(
                    rate=float(throttle.get("rate", Throttle.rate)), burst=throttle.get("burst", Throttle.burst)
                ),
                into=spec.get("into", "bus"),
            )
        )
    return tuple(built)


def _auth(spec: dict[str, Any], report: EntryReport) -> IngestionAuth | None:
    kind = spec["type"]
    before = report.count
    if "audience" in spec:
        report.add(
            ["auth", "audience"],
            "a REST API's Cognito authorizer cannot check a token's aud (an HTTP API's JWT authorizer can, but HTTP "
            "APIs neither validate bodies nor transform them into the envelope)",
            "remove audience and require scopes: the pool grants a resource server's scopes only to the app clients "
            "you allow, so a scope names the callers",
        )
    wrong = ("issuers", "scopes") if kind == "iam" else ("partners",)
    for key in wrong:
        if key in spec:
            other = "jwt" if kind == "iam" else "iam"
            report.add(["auth", key], f"{key} belongs to auth type {other}", f"remove {key}, or set type: {other}")
    if kind == "jwt":
        for key, fix in (
            ("issuers", "add issuers: {<environment>: https://cognito-idp.<region>.amazonaws.com/<pool id>, ...}"),
            ("scopes", "add scopes: [<resource server>/<scope>] (an access token needs one of them)"),
        ):
            if key not in spec:
                report.add(["auth"], f"a jwt endpoint needs {key}", fix)
    if report.count > before:
        return None
    return IngestionAuth(
        kind=kind,
        partners=tuple(spec.get("partners", ())),
        issuers=tuple(sorted(spec.get("issuers", {}).items())),
        scopes=tuple(spec.get("scopes", ())),
    )


# --------------------------------------------------------------------------------------------------------------
# Once every domain is known
# --------------------------------------------------------------------------------------------------------------
def check_catalog(
    catalog: Catalog, documents: dict[Path, Any], environments: Iterable[Environment], out: Collector
) -> None:
    environments = tuple(environments)
    for domain in catalog.domains:
        for endpoint in domain.ingestion:
            report = EntryReport(domain.path, documents[domain.path], out, ["ingestion", endpoint.name])
            _check_endpoint(catalog, domain, endpoint, environments, report)


def _check_endpoint(
    catalog: Catalog, domain: Domain, endpoint: Ingestion, environments: tuple[Environment, ...], report: EntryReport
) -> None:
    if domain.bus is None:
        report.add(
            ["into"],
            f"{domain.name} has no bus for the endpoint to put its events on",
            f"add bus: {{}} to catalog/{domain.name}.yaml (its EventBridge bus <env>-{domain.name})",
        )
    known = {e.name: e for e in domain.events}
    for index, name in enumerate(endpoint.events):
        event = known.get(name)
        if event is None:
            report.add(
                ["events", index],
                f"{domain.name} has no event {name!r} (an endpoint accepts events of its own domain only)",
                f"use one of: {', '.join(sorted(known)) or 'none yet'}",
            )
            continue
        if "bus" not in event.via:
            report.add(
                ["events", index],
                f"{event.qualified_name} does not travel on the bus (via: {', '.join(event.via)}), where the "
                "endpoint puts it",
                f"add bus to the via: of {name}",
            )
        version = event.latest
        try:
            model = draft4_model(version.schema)
        except ValueError as unsupported:
            report.add(
                ["events", index],
                f"{event.qualified_name} v{version.number}: {unsupported}",
                "API Gateway validates bodies with JSON Schema draft 4: express the schema without it (e.g. enum "
                "instead of if/then), or ingest another event",
            )
            continue
        validator = Draft4Validator(model)
        for number, example in enumerate(version.examples):
            size = len(json.dumps(example, separators=(",", ":")).encode())
            if size > endpoint.max_body:
                report.add(
                    ["max_body"],
                    f"example {number} of {event.qualified_name} v{version.number} has {size} bytes, over max_body "
                    f"({endpoint.max_body}): the endpoint would refuse it",
                    "raise max_body (up to 64KB) or shorten the example",
                )
            error = next(iter(validator.iter_errors(example)), None)
            if error is not None:  # the conversion must keep every valid event valid
                report.add(
                    ["events", index],
                    f"example {number} of {event.qualified_name} v{version.number} fails the draft-4 request model "
                    f"at {'/'.join(map(str, error.absolute_path)) or 'the top'} ({error.validator})",
                    "simplify the schema to keywords draft 4 shares with 2020-12",
                )
    auth = endpoint.auth
    for environment in environments:
        if auth.kind == "jwt" and auth.issuer_in(environment.name) is None:
            report.add(
                ["auth", "issuers"],
                f"no issuer for environment {environment.name}: its API would accept no token",
                f"add {environment.name}: https://cognito-idp.<region>.amazonaws.com/<pool id> under issuers:",
            )
        for index, partner in enumerate(auth.partners):
            if partner not in environment.partners:
                report.add(
                    ["auth", "partners", index],
                    f"environment {environment.name} declares no partner {partner!r}",
                    f"add {partner} under partners: of environments/{environment.name}.yaml",
                )
    unknown = sorted(set(dict(auth.issuers)) - {e.name for e in environments}) if environments else []
    for name in unknown:
        report.add(["auth", "issuers", name], f"unknown environment {name!r}", "name an environment of environments/")


# --------------------------------------------------------------------------------------------------------------
# The request model
# --------------------------------------------------------------------------------------------------------------
def draft4_model(schema: dict[str, Any]) -> dict[str, Any]:
    """The event schema (2020-12) as an API Gateway model (draft 4). Raises ValueError naming the first keyword
    draft 4 cannot express."""
    converted = _convert(schema, "")
    converted["$schema"] = DRAFT4
    return converted


def _convert(node: Any, where: str) -> Any:
    if isinstance(node, list):
        return [_convert(item, f"{where}/{index}") for index, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        at = f"{where}/{key}"
        if key in NOT_IN_DRAFT4:
            raise ValueError(f"the schema uses {key!r} at {at or '/'}, which JSON Schema draft 4 does not have")
        if key in ANNOTATIONS or key == "$schema":
            continue
        if key == "$ref":
            if not isinstance(value, str) or not value.startswith("#"):
                raise ValueError(f"the schema refers to {value!r} at {at}: a request model holds one document")
            converted[key] = value.replace("#/$defs/", "#/definitions/")
        elif key == "$defs":
            converted["definitions"] = {k: _convert(v, f"{at}/{k}") for k, v in value.items()}
        elif key in ("properties", "patternProperties", "definitions"):
            converted[key] = {k: _convert(v, f"{at}/{k}") for k, v in value.items()}
        elif key == "const":
            converted["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            if bound in node:
                raise ValueError(f"the schema sets both {bound!r} and {key!r} at {where or '/'}")
            converted[bound], converted[key] = value, True
        else:
            converted[key] = _convert(value, at)
    return converted


def model_name(event: str, version: int) -> str:
    """API Gateway model names are alphanumeric: ``order.created`` v1 -> ``OrderCreatedV1``."""
    words = event.replace("_", ".").split(".")
    return "".join(w[:1].upper() + w[1:] for w in words if w) + f"V{version}"


def endpoints_of(catalog: Catalog, qualified_event: str) -> tuple[Ingestion, ...]:
    """The endpoints through which the event enters (docs and lint list them among its producers)."""
    return tuple(i for d in catalog.domains for i in d.ingestion if qualified_event in i.qualified_events)
