"""The catalog model of S3 event notifications: buckets, the kinds of object events, and the consumers' sources.

Part of :mod:`eventform.catalog.model` (which re-exports every name); kept apart so that module stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ObjectPath = Literal["notification", "topic", "bus"]


@dataclass(frozen=True)
class ObjectEventKind:
    """One kind of object event in the catalog's words, with S3's notification types and EventBridge's
    detail-types for it (``None``: S3 does not send this kind to EventBridge)."""

    s3_types: tuple[str, ...]
    detail_types: tuple[str, ...] | None


OBJECT_EVENTS: dict[str, ObjectEventKind] = {
    "created": ObjectEventKind(("s3:ObjectCreated:*",), ("Object Created",)),
    "removed": ObjectEventKind(("s3:ObjectRemoved:*",), ("Object Deleted",)),
    "restore_started": ObjectEventKind(("s3:ObjectRestore:Post",), ("Object Restore Initiated",)),
    "restored": ObjectEventKind(("s3:ObjectRestore:Completed",), ("Object Restore Completed",)),
    "restore_expired": ObjectEventKind(("s3:ObjectRestore:Delete",), ("Object Restore Expired",)),
    "expired": ObjectEventKind(("s3:LifecycleExpiration:*",), ("Object Deleted",)),
    "transitioned": ObjectEventKind(("s3:LifecycleTransition",), ("Object Storage Class Changed",)),
    "tiered": ObjectEventKind(("s3:IntelligentTiering",), ("Object Access Tier Changed",)),
    "tagged": ObjectEventKind(("s3:ObjectTagging:*",), ("Object Tags Added", "Object Tags Deleted")),
    "acl_changed": ObjectEventKind(("s3:ObjectAcl:Put",), ("Object ACL Updated",)),
    "replication": ObjectEventKind(("s3:Replication:*",), None),
    "lost": ObjectEventKind(("s3:ReducedRedundancyLostObject",), None),
}


@dataclass(frozen=True)
class Bucket:
    """A domain's S3 bucket: encrypted, versioned, private, TLS only; its object events feed consumers."""

    domain: str
    name: str
    description: str
    versioning: bool = True

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}/{self.name}"


@dataclass(frozen=True)
class ObjectSource:
    """Which object events of which bucket a consumer takes, and the path they travel: S3's own notification
    straight to the consumer's queue or function, the bucket's SNS topic (fan-out), or EventBridge's default bus."""

    domain: str
    bucket: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""
    path: ObjectPath = "notification"

    @property
    def qualified_bucket(self) -> str:
        return f"{self.domain}/{self.bucket}"

    @property
    def s3_types(self) -> tuple[str, ...]:
        return tuple(t for e in self.events for t in OBJECT_EVENTS[e].s3_types)

    @property
    def detail_types(self) -> tuple[str, ...]:
        return tuple(sorted({t for e in self.events for t in OBJECT_EVENTS[e].detail_types or ()}))

    def overlaps(self, other: ObjectSource) -> bool:
        """S3 refuses two notification configurations of a bucket that share an event type and whose key filters
        could both match one key: each prefix starts the other (or is empty), and each suffix ends the other."""
        return (
            bool(set(self.s3_types) & set(other.s3_types))
            and (self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix))
            and (self.suffix.endswith(other.suffix) or other.suffix.endswith(self.suffix))
        )
