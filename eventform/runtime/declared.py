"""What one consumer declares it takes, keyed by event identity: ``<domain>/<event>`` and that domain's ``source``.

An envelope names its ``source`` and ``type``; the runtime accepts it only when that pair is one the consumer
registered, and validates it against the schema of *that* declaration (domain, event, version). An envelope cannot
choose its schema: ``source: aws.s3`` with an order's ``type`` matches no declaration, and nothing about a refused
envelope is cached. Validators are compiled once, when the consumer registers its events, for the versions bundled
with it: the cache is exactly what the consumer declared and never grows with what arrives.

Where the source comes from: in a Lambda package, ``schemas/<domain>/domain.json`` (written by the packaging from
the catalog); in the repository (handler tests, the local rehearsal), the domain's own ``catalog/<domain>.yaml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from eventform.runtime import objects
from eventform.runtime.envelope import CloudEvent, EventValidationError
from eventform.runtime.validation import SchemaValidationError, Validator, compile_schema

__all__ = ["Declaration", "Declarations", "UnknownEventError"]

MANIFEST = "domain.json"
_OBJECT_VALIDATOR = compile_schema(objects.OBJECT_SCHEMA)


class UnknownEventError(Exception):
    """The event's source, type or version is not one this consumer declares."""


@dataclass(frozen=True)
class Declaration:
    """One event a consumer takes: ``qualified`` is ``<domain>/<event>`` (``object.<kind>`` for S3 object events)."""

    qualified: str
    source: str
    type: str
    validators: MappingProxyType[int, Validator]
    pii: tuple[str, ...] = ()  # the catalog's ``pii:`` paths of the payload, masked in the handler's logs


class Declarations:
    """A consumer's declared events, keyed by ``(source, type)``."""

    def __init__(self, consumer: str, schemas_dir: Path) -> None:
        self.consumer, self.schemas_dir = consumer, schemas_dir
        self._by_identity: dict[tuple[str, str], Declaration] = {}
        self._domains: dict[str, dict[str, Any]] = {}

    def declare(self, qualified: str) -> Declaration:
        """Register ``<domain>/<event>`` (or ``object.<kind>``); raises ValueError for what cannot be served."""
        if qualified.startswith(objects.TYPE_PREFIX) and "/" not in qualified:
            if qualified.removeprefix(objects.TYPE_PREFIX) not in objects.KINDS:
                kinds = ", ".join(objects.TYPE_PREFIX + kind for kind in objects.KINDS)
                raise ValueError(f"{qualified!r} is not an S3 object event; use one of {kinds}")
            validators = MappingProxyType({1: _OBJECT_VALIDATOR})
            declaration = Declaration(qualified, objects.OBJECT_SOURCE, qualified, validators)
        else:
            domain, _, name = qualified.rpartition("/")
            if not domain:
                owners = sorted(p.parent.name + "/" + qualified for p in self.schemas_dir.glob(f"*/{qualified}"))
                raise ValueError(
                    f"{self.consumer}: register events as '<domain>/<event>', not {qualified!r}"
                    + (f" (e.g. {', '.join(owners)})" if owners else "")
                )
            versions = MappingProxyType(self._compile(domain, name))
            declaration = Declaration(qualified, self.source_of(domain), name, versions, self.pii_of(domain, name))
        key = (declaration.source, declaration.type)
        other = self._by_identity.get(key)
        if other is not None and other.qualified != qualified:
            raise ValueError(f"{qualified} and {other.qualified} share source {key[0]} and type {key[1]}")
        self._by_identity[key] = declaration
        return declaration

    def _compile(self, domain: str, name: str) -> dict[int, Validator]:
        folder = self.schemas_dir / domain / name
        validators = {}
        for path in sorted(folder.glob("v*.schema.json")):
            number = path.name.removeprefix("v").removesuffix(".schema.json")
            if number.isdigit():
                validators[int(number)] = compile_schema(json.loads(path.read_text()))
        if not validators:
            raise ValueError(f"{self.consumer}: no schema for {domain}/{name} under {folder}")
        return validators

    def _domain(self, domain: str) -> dict[str, Any]:
        """The domain's bundled manifest (``source``, ``pii`` per event), or the same read from the catalog file in
        the repository layout."""
        if domain not in self._domains:
            manifest = self.schemas_dir / domain / MANIFEST
            catalog_file = self.schemas_dir / f"{domain}.yaml"
            described: dict[str, Any] = {}
            if manifest.is_file():
                described = json.loads(manifest.read_text())
            elif catalog_file.is_file():
                import yaml  # the repository layout only (tests, local rehearsal); never inside a Lambda package

                spec = yaml.safe_load(catalog_file.read_text()) or {}
                events = spec.get("events") or {}
                described = {
                    "source": spec.get("source"),
                    "pii": {name: list(e.get("pii") or []) for name, e in events.items() if isinstance(e, dict)},
                }
            if not isinstance(described.get("source"), str) or not described["source"]:
                raise ValueError(f"{self.consumer}: no source for domain {domain!r} ({manifest} or {catalog_file})")
            self._domains[domain] = described
        return self._domains[domain]

    def source_of(self, domain: str) -> str:
        """The domain's CloudEvents source: bundled manifest, or the catalog file in the repository layout."""
        return str(self._domain(domain)["source"])

    def pii_of(self, domain: str, event: str) -> tuple[str, ...]:
        """The ``pii:`` paths the catalog declares for ``domain``'s ``event`` (none when it declares none)."""
        return tuple((self._domain(domain).get("pii") or {}).get(event) or ())

    def resolve(self, event: CloudEvent) -> tuple[Declaration, Validator]:
        """The declaration an envelope's ``(source, type)`` names and the validator of its ``dataversion``."""
        declaration = self._by_identity.get((event.source, event.type))
        if declaration is None:
            raise UnknownEventError(f"{self.consumer} does not consume {event.type} from {event.source}")
        validator = declaration.validators.get(event.dataversion)
        if validator is None:
            raise UnknownEventError(
                f"{self.consumer} has no schema for {declaration.qualified} v{event.dataversion} "
                f"(declared: {sorted(declaration.validators)})"
            )
        return declaration, validator

    def validate(self, event: CloudEvent) -> Declaration:
        """The declaration of a received event whose payload matches that declaration's schema (else it is
        refused: undeclared source/type/version, or a payload the schema rejects, named by path and rule)."""
        declaration, validator = self.resolve(event)
        try:
            validator(event.data)
        except SchemaValidationError as error:
            raise EventValidationError(
                f"{declaration.qualified} v{event.dataversion} {event.id}: payload {error}"
            ) from None
        return declaration

    @property
    def validator_count(self) -> int:
        return len({id(v) for d in self._by_identity.values() for v in d.validators.values()})

    def describe(self) -> dict[str, Any]:
        return {f"{s} {t}": d.qualified for (s, t), d in sorted(self._by_identity.items())}
