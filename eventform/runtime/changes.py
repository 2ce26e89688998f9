"""DynamoDB stream records of a catalog table as the domain events the catalog declares for its changes: a consumer
of a table writes ``@app.on("inventory/stock.reserved")`` and receives a typed CloudEvent whose data is the item's
image (the new one for inserts and modifications, the old one for removals) as plain JSON.

A change the catalog maps to no event is acknowledged without running the business code: Lambda filters DynamoDB
records on ``dynamodb`` only, so a consumer of inserts also receives the table's modifications and removals.
Which change becomes which event is the catalog's (``table.events`` of the consumer); the stack passes it to the
function as ``EVENTFORM_TABLE_EVENTS``: ``{"INSERT": {"source": ..., "type": ..., "version": N}, ...}``. The
CloudEvent's ``id`` is the stream record's ``eventID`` (one per change, the same on every redelivery of it), so the
runtime's idempotency applies to table changes as to catalog events.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CHANGES_VARIABLE = "EVENTFORM_TABLE_EVENTS"
SOURCE = "aws:dynamodb"


def is_change(record: dict[str, Any]) -> bool:
    return record.get("eventSource") == SOURCE


def plain(value: dict[str, Any]) -> Any:
    """One DynamoDB attribute value (``{"S": ...}``, ``{"N": ...}``, ``{"M": ...}``...) as JSON: numbers become int
    or float (never Decimal: the payload is validated and handled as JSON)."""
    (kind, inner), *rest = value.items()
    if rest:
        raise ValueError(f"an attribute value has one type, this one {sorted(value)}")
    if kind == "S" or kind == "B":
        return inner
    if kind == "N":
        number = Decimal(inner)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "BOOL":
        return bool(inner)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: plain(v) for k, v in inner.items()}
    if kind == "L":
        return [plain(v) for v in inner]
    if kind in ("SS", "BS"):
        return sorted(inner)
    if kind == "NS":
        return sorted(plain({"N": n}) for n in inner)
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def image(record: dict[str, Any]) -> dict[str, Any]:
    """The item a change is about: the new image, or the old one for a removal."""
    change = record["dynamodb"]
    attributes = change.get("OldImage" if record["eventName"] == "REMOVE" else "NewImage")
    if attributes is None:
        raise ValueError(f"the {record['eventName']} record carries no image: the table's stream must keep images")
    return {name: plain(value) for name, value in attributes.items()}


def from_change(record: dict[str, Any], changes: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """One stream record (Lambda's shape) as the CloudEvents envelope of the event its change maps to; None for a
    change the catalog maps to no event (Lambda cannot filter DynamoDB records on their eventName)."""
    mapped = changes.get(record["eventName"])
    if mapped is None:
        return None
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    moment = datetime.fromtimestamp(float(created), UTC) if created is not None else None
    envelope = {
        "specversion": "1.0",
        "id": record["eventID"],
        "source": mapped["source"],
        "type": mapped["type"],
        "dataversion": mapped["version"],
        "data": image(record),
    }
    if moment is not None:
        envelope["time"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return envelope


def changes_from(text: str | None) -> dict[str, dict[str, Any]]:
    """The mapping the stack set (empty when the function reads no table)."""
    return json.loads(text) if text else {}
