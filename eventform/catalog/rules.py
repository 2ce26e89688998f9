"""Catalog rules that need the catalog and the environments together (no Terraform scanner can know them)."""

from __future__ import annotations

from eventform.catalog.errors import Problem
from eventform.catalog.model import Catalog, Environment

# Environments where personal data must be encrypted with the organisation's own keys.
PII_ENVIRONMENTS = frozenset({"staging", "prod"})


def _line(environment: Environment, key: str) -> int | None:
    try:
        lines = environment.path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return next((n for n, text in enumerate(lines, start=1) if text.startswith(f"{key}:")), None)


def pii_problems(catalog: Catalog, environments: tuple[Environment, ...]) -> list[Problem]:
    """Events that mark PII (``pii:``) need customer-managed encryption in staging and prod."""
    carrying = [e for e in catalog.events if e.pii]
    if not carrying:
        return []
    listed = ", ".join(f"{e.qualified_name} ({', '.join(e.pii)})" for e in carrying)
    return [
        Problem(
            environment.path,
            "encryption",
            f"events carrying PII travel through {environment.name}, which uses service-managed keys: {listed}",
            "set encryption: customer-managed (one KMS key per domain) for environments that hold personal data",
            _line(environment, "encryption"),
        )
        for environment in environments
        if environment.name in PII_ENVIRONMENTS and not environment.customer_managed_keys
    ]


__all__ = ["PII_ENVIRONMENTS", "pii_problems"]
