"""Event identity across the catalog: an event is ``<domain>/<event>``, and on the wire it is the pair (its domain's
``source``, its name as CloudEvents ``type`` / EventBridge ``detail-type``). Two domains may define the same event
name (``orders/order.created`` and ``users/order.created``): subscriptions filter per topic, rules match the source,
and the handler runtime dispatches and validates on ``(source, type)``. That holds only while every domain has its
own source, and no domain may claim a source of AWS's own (EventBridge refuses ``PutEvents`` entries whose source
begins with ``aws.``, and the runtime reserves ``aws.s3`` for S3 object events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eventform.catalog.model import Catalog
from eventform.catalog.parsing import Collector, line_of

RESERVED_PREFIX = "aws."


def check_catalog(catalog: Catalog, documents: dict[Path, Any], out: Collector) -> None:
    """Each domain's source is its own and not AWS's."""
    owners: dict[str, str] = {}
    for domain in catalog.domains:
        line = line_of(documents[domain.path], ["source"])
        if domain.source.startswith(RESERVED_PREFIX):
            out.add(
                domain.path,
                "source",
                f"source {domain.source!r} begins with 'aws.', which AWS reserves for its own services",
                f"use your organisation's reverse domain, e.g. com.example.{domain.name}",
                line,
            )
        other = owners.setdefault(domain.source, domain.name)
        if other != domain.name:
            out.add(
                domain.path,
                "source",
                f"source {domain.source!r} is already the source of domain {other!r}: consumers could not tell "
                "the two domains' events apart",
                f"give each domain its own source, e.g. com.example.{domain.name}",
                line,
            )
