"""Who a bus trusts: the events other accounts may put on a domain's bus, checked once every domain is loaded.

A bus that admits other accounts (partners, an organisation) must say which of its domain's events they may put:
the bus policy allows exactly those (``events:source`` + ``events:detail-type``), and every rule on the bus matches
on ``account`` (this account; the admitted accounts only for those events), so nobody can put a forged
``com.example.orders`` event that a consumer would take for the domain's own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from eventform.catalog.model import Catalog, Environment
from eventform.catalog.parsing import Collector, line_of


def check_catalog(
    catalog: Catalog, documents: dict[Path, Any], environments: tuple[Environment, ...], out: Collector
) -> None:
    for domain in catalog.domains:
        document = documents[domain.path]
        bus = domain.bus
        if bus is not None:
            on_bus = {e.name for e in domain.events if "bus" in e.via}
            for index, name in enumerate(bus.events):
                if name not in on_bus:
                    out.add(
                        domain.path,
                        f"bus.put_events.events[{index}]",
                        f"{name!r} is not an event of {domain.name} that travels on its bus",
                        f"name one of: {', '.join(sorted(on_bus)) or 'none (add via: [bus] to an event)'}",
                        line_of(document, ["bus", "put_events", "events", index]),
                    )
            admits = any(bus.admits_others(e) for e in environments) or bool(bus.partners or bus.accounts)
            if admits and not bus.events:
                out.add(
                    domain.path,
                    "bus.put_events",
                    "the bus admits other accounts but names none of the domain's events they may put",
                    "list them under put_events.events (the bus policy allows exactly those; rules accept every "
                    "other event from this account only)",
                    line_of(document, ["bus", "put_events"]),
                )
            if bus.events and not admits:
                out.add(
                    domain.path,
                    "bus.put_events.events",
                    "put_events.events lists events others may put, but the bus admits nobody",
                    "add partners:, accounts: or organization:, or remove events:",
                    line_of(document, ["bus", "put_events", "events"]),
                )
        for consumer in domain.consumers:
            if consumer.route is not None and consumer.route.pattern and "account" in consumer.route.pattern:
                out.add(
                    domain.path,
                    f"consumers.{consumer.name}.pattern.account",
                    "account is generated: a rule accepts each event from this account and, for the events the "
                    "source bus lets others put (put_events.events), from the accounts it admits",
                    "remove account from the pattern; to accept an event from another account, admit that account "
                    "on the source domain's bus and list the event under put_events.events",
                    line_of(document, ["consumers", consumer.name, "pattern"]),
                )


ORGANIZATIONAL_UNIT_PATH = re.compile(r"^(o-[a-z0-9]{10,32})/r-[0-9a-z]{4,32}(/ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})+/?$")


def organizational_units(
    path: Path, document: Any, put: dict[str, Any], organization: str | None, out: Collector
) -> tuple[str, ...] | None:
    """``put_events.organizational_units``: paths under the organisation (aws:PrincipalOrgPaths), without the
    trailing slash; None on error."""
    units, ok = [], True
    for index, unit in enumerate(put.get("organizational_units", [])):
        match = ORGANIZATIONAL_UNIT_PATH.match(unit)
        if match is None or match.group(1) != organization:
            out.add(
                path,
                f"bus.put_events.organizational_units[{index}]",
                f"{unit!r} is not an organisational unit path of the organisation {organization or '(none set)'}",
                "write the path from the organisation root, e.g. o-exampleorg01/r-ab12/ou-ab12-11111111 (set "
                "put_events.organization to the same o-... id)",
                line_of(document, ["bus", "put_events", "organizational_units", index]),
            )
            ok = False
        else:
            units.append(unit.rstrip("/"))
    return tuple(sorted(units)) if ok else None
