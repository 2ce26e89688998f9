"""The docs site's cost page: what each deployed environment will cost per month, per domain and per service.

The same estimate ``eventform cost`` prints (``cost.py``), for every environment but the local one, with the price
table's date, its sources and checks, the usage assumptions, what is included at no charge and what cannot be
estimated. An environment whose region has no price table gets a line saying so, never a missing section.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eventform.authoring.cost import Estimate, estimate
from eventform.authoring.price_table import PriceTable
from eventform.catalog.errors import CatalogError
from eventform.catalog.model import Catalog, Environment

COST_PATH = "cost"

# What no estimate includes, whatever the catalog says (the page lists it so nobody reads the total as a bill).
NEVER_INCLUDED = (
    "free tiers: they are per account and shared with everything else in it",
    "data transfer between regions or out of AWS",
    "what handlers do besides their idempotency records (their own tables, APIs, S3 objects)",
    "S3 requests and storage of catalog buckets (objects have no declared volume)",
    "retries and redeliveries: each message is counted once",
    "volume discounts: the first price tier is assumed",
    "filters and patterns: a consumer is counted for every event it takes (an upper bound)",
)


@dataclass(frozen=True)
class EnvironmentCost:
    environment: Environment
    result: Estimate | None
    refused: str = ""  # why there is no estimate (e.g. no price table for the region)
    services: tuple[str, ...] = ()
    rows: tuple[tuple[str, tuple[float, ...], float], ...] = ()  # (domain, amount per service, total)
    totals: tuple[float, ...] = ()
    total: float = 0.0
    consumers: tuple[tuple[str, float], ...] = field(default=())  # the most expensive, at most TOP_CONSUMERS


TOP_CONSUMERS = 10


def environment_cost(catalog: Catalog, environment: Environment) -> EnvironmentCost:
    try:
        result = estimate(catalog, environment)
    except CatalogError as error:
        return EnvironmentCost(environment, None, refused=error.problems[0].message)
    table = result.by_domain_and_service()
    services = tuple(sorted({s for row in table.values() for s in row}))
    rows = tuple(
        (domain, tuple(row.get(s, 0.0) for s in services), sum(row.values())) for domain, row in table.items()
    )
    totals = tuple(sum(amounts[i] for _, amounts, _ in rows) for i in range(len(services)))
    per_consumer: dict[str, float] = {}
    for item in result.items:
        if item.consumer:
            per_consumer[item.consumer] = per_consumer.get(item.consumer, 0.0) + item.monthly
    top = tuple(sorted(per_consumer.items(), key=lambda pair: (-pair[1], pair[0]))[:TOP_CONSUMERS])
    return EnvironmentCost(environment, result, "", services, rows, totals, sum(totals), top)


def cost_context(catalog: Catalog, environments: tuple[Environment, ...]) -> dict[str, object]:
    """The cost page's template context: one section per deployed environment, the price tables they use."""
    deployed = [e for e in environments if not e.is_local]
    costs = [environment_cost(catalog, e) for e in deployed]
    tables: dict[str, PriceTable] = {}
    for cost in costs:
        if cost.result is not None:
            tables.setdefault(cost.result.prices.region, cost.result.prices)
    return {
        "costs": costs,
        "price_tables": [tables[region] for region in sorted(tables)],
        "never_included": NEVER_INCLUDED,
        "local": [e.name for e in environments if e.is_local],
    }


__all__ = ["COST_PATH", "NEVER_INCLUDED", "EnvironmentCost", "cost_context", "environment_cost"]
