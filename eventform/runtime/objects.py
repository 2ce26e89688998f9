"""S3 object events as CloudEvents: a consumer of a bucket writes ``@app.on("object.created")`` and receives the same
typed event whether S3 notified its queue or function, the bucket's SNS topic relayed it, or EventBridge delivered
it — the seed's "transform S3 events to domain events" step, done once here instead of in every handler.

The CloudEvent's ``id`` is stable across redeliveries of one S3 event (bucket, key, sequencer or version, and the
event name), so the runtime's idempotency applies to object events as to catalog events.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

OBJECT_SOURCE = "aws.s3"
TYPE_PREFIX = "object."

# S3's notification event names (without "s3:") -> the catalog's words (eventform.catalog.model.OBJECT_EVENTS).
_NOTIFICATION_KINDS: tuple[tuple[str, str], ...] = (
    ("ObjectCreated:", "created"),
    ("ObjectRemoved:", "removed"),
    ("ObjectRestore:Post", "restore_started"),
    ("ObjectRestore:Completed", "restored"),
    ("ObjectRestore:Delete", "restore_expired"),
    ("LifecycleExpiration:", "expired"),
    ("LifecycleTransition", "transitioned"),
    ("IntelligentTiering", "tiered"),
    ("ObjectTagging:", "tagged"),
    ("ObjectAcl:Put", "acl_changed"),
    ("Replication:", "replication"),
    ("ReducedRedundancyLostObject", "lost"),
)
KINDS: tuple[str, ...] = tuple(kind for _, kind in _NOTIFICATION_KINDS)
# EventBridge detail-types of S3 -> the catalog's words.
_DETAIL_KINDS: dict[str, str] = {
    "Object Created": "created",
    "Object Deleted": "removed",
    "Object Restore Initiated": "restore_started",
    "Object Restore Completed": "restored",
    "Object Restore Expired": "restore_expired",
    "Object Storage Class Changed": "transitioned",
    "Object Access Tier Changed": "tiered",
    "Object Tags Added": "tagged",
    "Object Tags Deleted": "tagged",
    "Object ACL Updated": "acl_changed",
}

# What every object event's data holds (validated like a catalog event's payload).
OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["bucket", "key", "reason"],
    "properties": {
        "bucket": {"type": "string", "minLength": 3},
        "key": {"type": "string", "minLength": 1},
        "size": {"type": "integer", "minimum": 0},
        "etag": {"type": "string"},
        "version_id": {"type": ["string", "null"]},
        "sequencer": {"type": "string"},
        "reason": {"type": "string"},
    },
}


def is_test_event(document: Any) -> bool:
    """S3 sends ``s3:TestEvent`` to a destination when a notification is configured: nothing to handle."""
    return isinstance(document, dict) and document.get("Event") == "s3:TestEvent"


def is_notification(document: Any) -> bool:
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list) or not records:
        return False
    return isinstance(records[0], dict) and records[0].get("eventSource") == "aws:s3"


def is_bus_event(document: Any) -> bool:
    return isinstance(document, dict) and document.get("source") == OBJECT_SOURCE and "detail" in document


def _kind_of_notification(event_name: str) -> str:
    for prefix, kind in _NOTIFICATION_KINDS:
        if event_name.startswith(prefix):
            return kind
    raise ValueError(f"unknown S3 event {event_name!r}")


def from_notification(record: dict[str, Any]) -> dict[str, Any]:
    """One record of S3's notification (to SQS, SNS or Lambda) as a CloudEvents envelope. S3 URL-encodes keys
    there (spaces as '+'); the event carries the real key.

    AWS: "the object keyname value is URL encoded. For example, 'red flower.jpg' becomes 'red+flower.jpg'" (S3 User
    Guide, "Event message structure", notification-content-structure.html). Powertools' ``S3Object.key`` returns it
    encoded; its own example decodes it with ``unquote_plus``, as here."""
    s3 = record["s3"]
    obj = s3["object"]
    key = unquote_plus(obj["key"])
    bucket = s3["bucket"]["name"]
    marker = obj.get("sequencer") or obj.get("versionId") or obj.get("eTag", "")
    return _envelope(
        kind=_kind_of_notification(record["eventName"]),
        event_id=f"s3:{bucket}:{key}:{marker}:{record['eventName']}",
        time=record.get("eventTime"),
        data={
            "bucket": bucket,
            "key": key,
            "size": obj.get("size"),
            "etag": obj.get("eTag"),
            "version_id": obj.get("versionId"),
            "sequencer": obj.get("sequencer"),
            "reason": record["eventName"],
        },
    )


def from_bus_event(event: dict[str, Any]) -> dict[str, Any]:
    """S3's event on EventBridge's default bus as a CloudEvents envelope. The key is used as sent: AWS documents no
    encoding for ``detail.object.key`` (S3 User Guide, "EventBridge event message structure", ev-events.html), unlike
    notifications. Powertools' ``S3EventBridgeNotificationObject.key`` applies ``unquote_plus`` anyway, which would
    turn a real ``a+b.pdf`` into ``a b.pdf``; so the raw field is read here, never that property."""
    detail = event["detail"]
    obj = detail["object"]
    kind = _DETAIL_KINDS.get(event["detail-type"])
    if kind is None:
        raise ValueError(f"unknown S3 detail-type {event['detail-type']!r}")
    if kind == "removed" and str(detail.get("reason", "")).startswith("Lifecycle"):
        kind = "expired"
    bucket, key = detail["bucket"]["name"], obj["key"]
    marker = obj.get("sequencer") or obj.get("version-id") or obj.get("etag", "")
    return _envelope(
        kind=kind,
        event_id=f"s3:{bucket}:{key}:{marker}:{event['detail-type']}",
        time=event.get("time") if isinstance(event.get("time"), str) else None,
        data={
            "bucket": bucket,
            "key": key,
            "size": obj.get("size"),
            "etag": obj.get("etag"),
            "version_id": obj.get("version-id"),
            "sequencer": obj.get("sequencer"),
            "reason": str(detail.get("reason") or event["detail-type"]),
        },
    )


def _envelope(*, kind: str, event_id: str, time: str | None, data: dict[str, Any]) -> dict[str, Any]:
    envelope = {
        "specversion": "1.0",
        "id": event_id,
        "source": OBJECT_SOURCE,
        "type": TYPE_PREFIX + kind,
        "dataversion": 1,
        "data": {k: v for k, v in data.items() if v is not None},
    }
    if time:
        envelope["time"] = time
    return envelope
