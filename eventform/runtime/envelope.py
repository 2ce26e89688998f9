"""The CloudEvents 1.0 envelope, built and read in one place: the publisher, schedules (their ``Input``), the catalog
checks that play EventBridge and the handler runtime all use it, so the envelope a producer sends is the one a
consumer reads.

Extensions: ``correlationid``, ``traceparent`` and ``dataversion`` (the event version, an integer >= 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
KNOWN = (
    "id",
    "source",
    "type",
    "data",
    "dataversion",
    "time",
    "dataschema",
    "correlationid",
    "traceparent",
    "specversion",
)


class EventValidationError(ValueError):
    """The event is not what its catalog entry says: its envelope or its payload."""


class EnvelopeError(EventValidationError):
    """Not a CloudEvents envelope eventform can trust: a required attribute is missing or of the wrong type."""


def build(
    *,
    source: str,
    event_type: str,
    version: int,
    data: dict[str, Any],
    event_id: str,
    time: str,
    correlation_id: str | None = None,
    dataschema: str | None = None,
    traceparent: str | None = None,
) -> dict[str, Any]:
    """The envelope a producer sends (``correlationid`` defaults to the event id: the first event of a flow)."""
    envelope: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "source": source,
        "type": event_type,
        "dataversion": version,
        "time": time,
        "correlationid": correlation_id or event_id,
        "datacontenttype": CONTENT_TYPE,
        "data": data,
    }
    if dataschema is not None:
        envelope["dataschema"] = dataschema
    if traceparent:
        envelope["traceparent"] = traceparent
    return envelope


def _check(envelope: Any) -> None:
    if not isinstance(envelope, dict):
        raise EnvelopeError("not a CloudEvents envelope: not a JSON object")
    missing = [k for k in ("id", "source", "type", "data") if k not in envelope]
    if missing:
        raise EnvelopeError(f"not a CloudEvents envelope: missing {', '.join(missing)}")
    wrong = [k for k in ("id", "source", "type") if not isinstance(envelope[k], str) or not envelope[k]]
    if wrong:
        raise EnvelopeError(f"CloudEvents attribute(s) {', '.join(wrong)} must be non-empty strings")
    version = envelope.get("dataversion", 1)
    if type(version) is not int or version < 1:  # bool is an int subclass: refused by the exact type check
        raise EnvelopeError("dataversion must be an integer >= 1")
    if not isinstance(envelope["data"], dict):
        raise EnvelopeError("data must be a JSON object (the event payload)")


@dataclass(frozen=True)
class CloudEvent:
    """CloudEvents 1.0 with eventform's extensions (correlationid, traceparent, dataversion)."""

    id: str
    source: str
    type: str
    data: dict[str, Any]
    dataversion: int = 1
    time: str | None = None
    dataschema: str | None = None
    correlationid: str | None = None
    traceparent: str | None = None
    specversion: str = SPEC_VERSION
    extensions: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, envelope: dict[str, Any]) -> CloudEvent:
        """Read an envelope; raises :class:`EnvelopeError` for one whose identity attributes cannot be trusted."""
        _check(envelope)
        return cls(
            **{k: envelope[k] for k in KNOWN if k in envelope},
            extensions={k: v for k, v in envelope.items() if k not in KNOWN},
        )

    def to_dict(self) -> dict[str, Any]:
        envelope = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "dataversion": self.dataversion,
            "time": self.time,
            "dataschema": self.dataschema,
            "correlationid": self.correlationid,
            "traceparent": self.traceparent,
            "data": self.data,
            **self.extensions,
        }
        return {k: v for k, v in envelope.items() if v is not None}
