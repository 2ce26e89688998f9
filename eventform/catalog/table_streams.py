"""Table consumers (``table:``): the DynamoDB stream of a catalog table read by Lambda, each kind of change mapped to
a domain event whose payload is the item's image. The checks and the change records of the catalog's examples; the
rest (batches, retries, filters' syntax, the mapping) is shared with Kinesis consumers in
:mod:`eventform.catalog.streams`, which calls into this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

from eventform.catalog.model import Catalog, Consumer, StreamSource
from eventform.runtime.changes import CHANGES_VARIABLE

# The image a change carries as its event's payload (DynamoDB: a removal keeps only the old image).
IMAGE_OF = {"INSERT": "NewImage", "MODIFY": "NewImage", "REMOVE": "OldImage"}
# A table's stream keeps both images: the runtime reads the new one, or the old one of a removal.
STREAM_VIEW = "NEW_AND_OLD_IMAGES"


class Report(Protocol):
    count: int

    def add(self, keys: list[Any], message: str, fix: str) -> None: ...


def check_consumer(catalog: Catalog, consumer: Consumer, report: Report) -> None:
    """The table is a table of a consumer of this domain; every mapped change names an event of this domain that
    says it travels as a table change (``via: [table]``)."""
    source = consumer.stream
    assert source is not None and source.kind == "table"
    domain = catalog.domain(consumer.domain)
    owner = next((c for c in domain.consumers if c.name == source.table_owner), None)
    if owner is None:
        report.add(
            ["name"],
            f"{domain.name} has no consumer {source.table_owner!r}",
            "name a consumer of this domain with function.tables: "
            + (", ".join(f"{c.name}/{t}" for c in domain.consumers for t in c.function.tables) or "none yet"),
        )
    elif source.table not in owner.function.tables:
        report.add(
            ["name"],
            f"consumer {owner.name} has no table {source.table!r}",
            f"use one of its function.tables ({', '.join(owner.function.tables) or 'none'}) as {owner.name}/<table>",
        )
    names = {e.name: e for e in domain.events}
    for change, qualified in source.changes:
        event = names.get(qualified.split("/", 1)[1])
        if event is None:
            report.add(
                ["events", change],
                f"{domain.name} has no event {qualified.split('/', 1)[1]!r}",
                f"declare it under events: with via: [table], or use one of: {', '.join(sorted(names)) or 'none'}",
            )
        elif "table" not in event.via:
            report.add(
                ["events", change],
                f"{qualified} does not say it is a table change (via: {list(event.via)})",
                "add table to its via: (via: [table], or beside topic and bus when it is also published)",
            )


def typed(value: Any) -> dict[str, Any]:
    """A JSON value in DynamoDB's typed JSON, as a change record carries it (the filter sees this form)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {k: typed(v) for k, v in value.items()}}
    return {"L": [typed(v) for v in value]}


def change_record(change: str, item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB stream record (Lambda's shape, as its filters see it) of one change of ``item``."""
    return {
        "eventID": "lint",
        "eventName": change,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {"StreamViewType": STREAM_VIEW, IMAGE_OF[change]: {k: typed(v) for k, v in item.items()}},
    }


def example_records(catalog: Catalog, source: StreamSource) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(event, example index, change record) for every example of every mapped event, as the change it maps."""
    for change, qualified in source.changes:
        for index, example in enumerate(catalog.event(qualified).latest.examples):
            yield qualified, index, change_record(change, example)


def change_events(catalog: Catalog, source: StreamSource) -> dict[str, dict[str, Any]]:
    """What the function's runtime needs (``EVENTFORM_TABLE_EVENTS``): per change, the event's source, type and the
    version its image is validated against (the latest)."""
    result = {}
    for change, qualified in source.changes:
        event = catalog.event(qualified)
        result[change] = {
            "source": catalog.domain(event.domain).source,
            "type": event.name,
            "version": event.latest.number,
        }
    return result


def function_variables(catalog: Catalog, consumer: Consumer) -> dict[str, str]:
    """The function's environment variable that tells the runtime which change is which event (none when it reads
    no table)."""
    source = consumer.stream
    if source is None or source.kind != "table":
        return {}
    return {CHANGES_VARIABLE: json.dumps(change_events(catalog, source), sort_keys=True, separators=(",", ":"))}
