"""``eventform cost --env E``: the monthly estimate per domain and service (eventform/authoring/cost.py), printed as
a table with the price table's date and sources, the assumptions, and what could not be estimated."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from eventform.catalog.errors import CatalogError
from eventform.cli.authoring import RootOption, project_root

console = Console(soft_wrap=True, emoji=False)
errors = Console(stderr=True, soft_wrap=True, emoji=False)


def cost(
    env: Annotated[str, typer.Option("--env", "-e", help="The environment to estimate, e.g. prod.")],
    by_consumer: Annotated[bool, typer.Option("--by-consumer", help="Also list each consumer's total.")] = False,
    root: RootOption = None,
) -> None:
    """Estimate what the catalog costs per month in one environment, from the events' declared volumes."""
    from eventform.authoring.cost import estimate
    from eventform.catalog.loader import load

    try:
        catalog, environments = load(project_root(root), [env])
        result = estimate(catalog, environments[0])
    except CatalogError as error:
        errors.print(str(error), markup=False, highlight=False)
        raise typer.Exit(1) from error
    print_estimate(result, by_consumer=by_consumer)


def print_estimate(result, *, by_consumer: bool = False) -> None:
    """One row per domain and service (narrow enough for any terminal and for 1,000s of events), a total per
    domain, then the total per service."""
    table = result.by_domain_and_service()
    view = Table(title=f"estimated monthly cost, {result.environment} (USD)")
    view.add_column("domain")
    view.add_column("service")
    view.add_column("USD/month", justify="right")
    for domain, row in table.items():
        for service, amount in row.items():
            view.add_row(domain, service, f"{amount:.2f}")
        view.add_row(domain, "total", f"{sum(row.values()):.2f}", style="bold", end_section=True)
    services: dict[str, float] = {}
    for row in table.values():
        for service, amount in row.items():
            services[service] = services.get(service, 0.0) + amount
    for service, amount in sorted(services.items()):
        view.add_row("all", service, f"{amount:.2f}")
    view.add_row("all", "total", f"{sum(services.values()):.2f}", style="bold")
    console.print(view)
    if by_consumer:
        consumers = sorted({i.consumer for i in result.items if i.consumer})
        per = Table(title="per consumer (USD per month)")
        per.add_column("consumer")
        per.add_column("total", justify="right")
        for name in consumers:
            per.add_row(name, f"{result.total(consumer=name):.2f}")
        console.print(per)
    prices = result.prices
    console.print(f"prices: {prices.region}, as of {prices.as_of}, without free tiers; sources:", markup=False)
    for service, url in sorted(prices.sources.items()):
        console.print(f"  {service}: {url}", markup=False)
    unverified = result.unverified
    used = len({i.price for i in result.items})
    console.print(
        f"unverified prices ({len(unverified)} of the {used} used; checked {prices.checked_on or 'never'} against "
        f"stored copies of their pages, which did not confirm the {prices.region} figure): "
        f"{', '.join(unverified) or 'none'}",
        markup=False,
    )
    for line in result.notes:
        console.print(f"included: {line}", markup=False)
    assumed = ", ".join(f"{k}={v:g}" for k, v in sorted(prices.assumptions.items()))
    console.print(f"assumptions: {assumed}; filters and patterns not applied (an upper bound)", markup=False)
    if result.not_estimated:
        console.print(f"not estimated ({len(result.not_estimated)}):", markup=False)
        for line in result.not_estimated[:50]:
            console.print(f"  {line}", markup=False)
        if len(result.not_estimated) > 50:
            console.print(f"  ... and {len(result.not_estimated) - 50} more", markup=False)


def register(app: typer.Typer) -> None:
    app.command("cost")(cost)
