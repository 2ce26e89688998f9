"""Resources outside eventform's stacks, named per environment: rule and pipe targets, API destination secrets.

A catalog is one text for every environment, so an ARN written once points every environment at the same account:
prod would send to dev. A reference therefore names its resource per environment (``environments: {prod: {arn:
...}}``), or by ``name`` (resolved in the environment's own account and region, or in a ``partner``'s account that
the environment declares under ``partners:``). Outside ``local``, every ARN an environment would use must be in its
own account or a partner's it declares, and in its own region unless the catalog says ``cross_region: true``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from eventform.catalog.model import Catalog, Environment, PiiException, Reference
from eventform.catalog.parsing import Collector, line_of

ARN = re.compile(r"^arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):([0-9]{12})?:(.+)$")

Problem = tuple[list[Any], str, str]  # keys below the reference's own, message, fix


def arn_parts(arn: str) -> tuple[str, str, str] | None:
    """(service, region, account) of an ARN, or None when it is not one."""
    match = ARN.match(arn)
    return (match.group(1), match.group(2), match.group(3) or "") if match else None


def parse(
    spec: dict[str, Any], service: str, what: str, kind: str | None = None
) -> tuple[Reference | None, list[Problem]]:
    """The reference written in ``spec`` (keys arn, name, partner, environments, cross_region) to a ``service``
    resource; ``what`` names it in messages ("a stepfunctions target"), ``kind`` the ARN ("stepfunctions")."""
    problems: list[Problem] = []
    arn, name, partner = spec.get("arn"), spec.get("name"), spec.get("partner")
    per_environment = {env: entry.get("arn") for env, entry in sorted((spec.get("environments") or {}).items())}
    if arn is not None and name is not None:
        problems.append((["name"], "arn and name exclude each other", "keep name (resolved in each environment)"))
    if partner is not None and name is None:
        problems.append(
            (["partner"], "partner names the account; the resource needs its name", "add name: <the resource's name>")
        )
    if arn is None and name is None and not per_environment:
        problems.append(
            (
                [],
                f"{what} needs the resource it delivers to",
                f"add name: <the {service} resource's name> (resolved in each environment's account and region), "
                "or arn: per environment under environments: {<env>: {arn: ...}}",
            )
        )
    if name is not None and name.startswith("arn:"):
        problems.append((["name"], "name takes the resource's name, not its ARN", "write arn: ... or the bare name"))
    written = [(["arn"], arn)] if arn else []
    written += [(["environments", env, "arn"], value) for env, value in per_environment.items() if value]
    for keys, value in written:
        parts = arn_parts(value)
        if parts is None or parts[0] != service:
            problems.append(
                (
                    keys,
                    f"{value!r} is not a {kind or service} ARN",
                    f"use an arn:aws:{service}:<region>:<account>:... ARN",
                )
            )
    if problems:
        return None, problems
    return (
        Reference(
            service=service,
            arn=arn,
            name=name,
            partner=partner,
            per_environment=tuple((env, value) for env, value in per_environment.items() if value),
            cross_region=bool(spec.get("cross_region", False)),
        ),
        [],
    )


REFERENCE_KEYS = ("arn", "name", "partner", "environments", "cross_region")


def target_reference(
    spec: dict[str, Any], kind: str, services: dict[str, str], location: str
) -> tuple[Reference | None, list[tuple[str, str, str]]]:
    """Where a target delivers, per environment (:mod:`eventform.catalog.references`); queue, lambda and api
    targets are eventform's own and name nothing."""
    if kind not in services:
        return None, [
            (f"{location}.{key}", f"a {kind} target names no external resource ({key})", f"remove {key}")
            for key in REFERENCE_KEYS
            if key in spec
        ]
    reference, problems = parse(spec, services[kind], f"a {kind} target", kind)
    return reference, [(".".join([location, *map(str, keys)]), message, fix) for keys, message, fix in problems]


def pii_exception(spec: dict[str, Any]) -> PiiException | None:
    """``pii_exception: {owner, reason}`` on a target: full personal data reaches it on purpose (the schema
    requires both)."""
    entry = spec.get("pii_exception")
    return PiiException(owner=entry["owner"], reason=entry["reason"].strip()) if entry else None


def environment_problems(reference: Reference, environments: tuple[Environment, ...]) -> list[Problem]:
    """Each environment gets an ARN in its own account (or a partner's it declares) and region."""
    problems: list[Problem] = []
    known = {e.name for e in environments}
    for env, _ in reference.per_environment:
        if known and env not in known:
            problems.append(
                (
                    ["environments", env],
                    f"there is no environment {env!r}",
                    f"use one of: {', '.join(sorted(known))}",
                )
            )
    overridden = dict(reference.per_environment)
    for environment in environments:
        where: list[Any] = ["environments", environment.name, "arn"] if environment.name in overridden else ["arn"]
        if environment.name not in overridden and reference.arn is None and reference.name is None:
            problems.append(
                (
                    ["environments"],
                    f"no ARN for environment {environment.name}",
                    f"add {environment.name}: {{arn: ...}} under environments:, or name the resource (name: ...)",
                )
            )
            continue
        if environment.name not in overridden and reference.partner is not None:
            if reference.partner not in environment.partners:
                problems.append(
                    (
                        ["partner"],
                        f"environment {environment.name} declares no partner {reference.partner!r}",
                        f'add partners: {{{reference.partner}: {{account: "<12 digits>"}}}} to '
                        f"environments/{environment.name}.yaml",
                    )
                )
            continue
        if environment.is_local or (environment.name not in overridden and reference.arn is None):
            continue  # local: the embedded AWS; a name resolves in the environment's own account and region
        problems.extend(_placement_problems(reference, environment, where))
    return problems


def _placement_problems(reference: Reference, environment: Environment, where: list[Any]) -> list[Problem]:
    arn = reference.arn_in(environment)
    parts = arn_parts(arn)
    if parts is None:
        return []
    _, region, account = parts
    problems: list[Problem] = []
    if account and not environment.trusts_account(account):
        problems.append(
            (
                where,
                f"in {environment.name} this ARN is in account {account}, which is neither {environment.name}'s "
                f"({environment.account_id}) nor a partner that environments/{environment.name}.yaml declares",
                f"name the resource (name: ...) so each environment resolves it in its own account, give "
                f"{environment.name} its own ARN under environments: {{{environment.name}: {{arn: ...}}}}, or "
                f"declare the account under partners: in environments/{environment.name}.yaml",
            )
        )
    if region and region != environment.region and not reference.cross_region:
        problems.append(
            (
                where,
                f"in {environment.name} this ARN is in region {region}, not {environment.name}'s "
                f"({environment.region})",
                "use the environment's region (name: ... resolves it), or mark the reference cross_region: true "
                "if the other region is intended",
            )
        )
    return problems


def _key_line(environment: Environment, key: str) -> int | None:
    lines = environment.path.read_text(encoding="utf-8").splitlines()
    return next((n for n, text in enumerate(lines, start=1) if text.startswith(f"{key}:")), None)


def secret_state_problems(catalog: Catalog, environments: tuple[Environment, ...], out: Collector) -> None:
    """A stack that reads a secret at plan time (an API destination's connection) writes its value into the state:
    outside ``local`` that state must be the encrypted S3 backend, never a plain file on a laptop."""
    for environment in environments:
        if environment.is_local or environment.backend.type != "local" or not environment.eventbridge.api_destinations:
            continue
        readers = sorted(
            f"{environment.name}-{consumer.domain} ({consumer.qualified_name}.{target.name})"
            for consumer in catalog.consumers
            for target in (consumer.route.targets if consumer.route else ())
            if target.api is not None
        )
        if readers:
            out.add(
                environment.path,
                "backend",
                f"{', '.join(readers)} read a Secrets Manager secret at plan time; with a local backend its value "
                "would sit in plain text in a state file at the project root",
                "use backend: {type: s3, bucket: ..., region: ..., kms_key: arn:aws:kms:...} for this environment "
                "(or eventbridge.api_destinations: false)",
                _key_line(environment, "backend"),
            )


def check_catalog(
    catalog: Catalog, documents: dict[Path, Any], environments: tuple[Environment, ...], out: Collector
) -> None:
    """Every reference of every rule target, API destination secret and pipe target, in every environment; and
    every account a bus admits by id; where secrets read at plan time would land in state."""
    secret_state_problems(catalog, environments, out)
    for domain in catalog.domains:
        document = documents[domain.path]

        def report(where: list[Any], problems: list[Problem]) -> None:
            for keys, message, fix in problems:
                at = [*where, *keys]
                out.add(domain.path, ".".join(map(str, at)), message, fix, line_of(document, at))  # noqa: B023

        for consumer in domain.consumers:
            for target in consumer.route.targets if consumer.route else ():
                where = ["consumers", consumer.name, "targets", target.name]
                if target.reference is not None:
                    report(where, environment_problems(target.reference, environments))
                if target.api is not None and target.api.secret is not None:
                    report([*where, "auth", "secret"], environment_problems(target.api.secret, environments))
        for pipe in domain.pipes:
            if pipe.target.reference is not None:
                report(["pipes", pipe.name, "target"], environment_problems(pipe.target.reference, environments))
        if domain.bus is not None:
            for index, partner in enumerate(domain.bus.partners):
                for environment in environments:
                    if partner not in environment.partners:
                        report(
                            ["bus", "put_events", "partners", index],
                            [
                                (
                                    [],
                                    f"environment {environment.name} declares no partner {partner!r}",
                                    f'add partners: {{{partner}: {{account: "<12 digits>"}}}} to '
                                    f"environments/{environment.name}.yaml",
                                )
                            ],
                        )
            for index, account in enumerate(domain.bus.accounts):
                for environment in environments:
                    if environment.is_local or environment.trusts_account(account):
                        continue
                    report(
                        ["bus", "put_events", "accounts", index],
                        [
                            (
                                [],
                                f"account {account} is admitted in every environment, but "
                                f"environments/{environment.name}.yaml declares it as no partner",
                                "declare the partner per environment (partners: {<name>: {account: ...}} in each "
                                "environment file) and write put_events: {partners: [<name>]}",
                            )
                        ],
                    )
