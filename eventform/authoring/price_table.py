"""The price table ``eventform cost`` reads: one JSON file per region (``eventform/authoring/prices/<region>.json``).

A price is a number, the page it was checked against and what that page said, with a status: ``verified`` where a
stored AWS page states the figure for the region (or for every region), ``unverified`` otherwise. The estimate keeps
the key of every price it used, so its table can name the unverified ones instead of passing them off as checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from eventform.catalog.errors import CatalogError, Problem

STATUSES = ("verified", "unverified")


@dataclass(frozen=True)
class PriceCheck:
    """What the price's source page said when it was read, and whether that confirms the figure."""

    status: str  # verified | unverified
    source: str  # the page read
    read: str  # YYYY-MM-DD (of a stored copy: the page may be older)
    page_says: str


@dataclass(frozen=True)
class PriceTable:
    region: str
    as_of: str
    sources: dict[str, str]
    prices: dict[str, float]
    assumptions: dict[str, float]
    checks: dict[str, PriceCheck]
    checked: str = ""  # how the prices were checked (the file's checked.how)
    checked_on: str = ""  # when (checked.on)

    def __getitem__(self, key: str) -> float:
        return self.prices[key]

    @property
    def unverified(self) -> tuple[str, ...]:
        return tuple(sorted(k for k, c in self.checks.items() if c.status != "verified"))


def _refuse(source: Path, message: str, fix: str) -> CatalogError:
    return CatalogError([Problem(file=source, location="", message=message, fix=fix)])


def price_table(region: str) -> PriceTable:
    """The price table of ``region`` (``eventform/authoring/prices/<region>.json``)."""
    folder = resources.files("eventform.authoring") / "prices"
    source = folder / f"{region}.json"
    if not source.is_file():
        known = sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))
        raise _refuse(
            Path(str(source)),
            f"no price table for region {region} (known: {', '.join(known)})",
            f"add eventform/authoring/prices/{region}.json with that region's prices (copy eu-west-1.json)",
        )
    return parse(Path(str(source)), json.loads(source.read_text()))


def parse(source: Path, data: dict[str, Any]) -> PriceTable:
    """The table in ``data``; refused when a price has no check (source, date, status) or a check has no price."""
    prices, checks = data["prices"], data.get("checks", {})
    missing = sorted(set(prices) - set(checks))
    if missing:
        raise _refuse(
            source,
            f"prices without a check: {', '.join(missing)}",
            "add checks.<price>: {status: verified|unverified, source: <page>, read: <date>, page_says: <text>}",
        )
    orphans = sorted(set(checks) - set(prices))
    if orphans:
        raise _refuse(source, f"checks of no price: {', '.join(orphans)}", "remove them or add the prices")
    parsed = {}
    for key, check in sorted(checks.items()):
        if check.get("status") not in STATUSES or not check.get("source") or not check.get("read"):
            raise _refuse(
                source,
                f"checks.{key} needs status (verified or unverified), source and read",
                "say which page was read, when, and whether it confirms the figure for the region",
            )
        parsed[key] = PriceCheck(check["status"], check["source"], check["read"], check.get("page_says", ""))
    return PriceTable(
        region=data["region"],
        as_of=data["as_of"],
        sources=data["sources"],
        prices=prices,
        assumptions=data["assumptions"],
        checks=parsed,
        checked=data.get("checked", {}).get("how", ""),
        checked_on=data.get("checked", {}).get("on", ""),
    )
