"""The catalog model of HTTP ingestion endpoints (``ingestion:`` of a domain).

Part of :mod:`eventform.catalog.model` (which re-exports every name); kept apart so that module stays small. An
endpoint is an API Gateway REST API: one ``POST /events/<event>`` per accepted event, the body validated against
the event's latest schema (a request model), wrapped in the CloudEvents envelope by a mapping template and put on
the domain's bus by an AWS service integration, with no Lambda in the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from eventform.runtime.envelope import CONTENT_TYPE, SPEC_VERSION  # the envelope the mapping template builds

if TYPE_CHECKING:
    from eventform.catalog.model import Environment

AuthKind = Literal["iam", "jwt"]
IngestionTarget = Literal["bus"]

# The web ACL in front of a REST API sees at most 64 KB of a body (16 KB by default, raised in 16 KB steps): a
# larger limit could not be enforced. 1 KB is the smallest limit that still fits a CloudEvents payload sensibly.
MIN_BODY = 1024
MAX_BODY = 64 * 1024
INSPECTION_STEP = 16 * 1024
# The header a caller sets to continue a flow; absent, the envelope's correlation id is the event id.
CORRELATION_HEADER = "X-Correlation-Id"
EVENTS_PATH = "events"  # POST /events/<event>
STAGE = "v1"


@dataclass(frozen=True)
class Throttle:
    """API Gateway's token bucket of each method of the stage: ``rate`` requests per second, ``burst`` at once."""

    rate: float = 50.0
    burst: int = 100


@dataclass(frozen=True)
class IngestionAuth:
    """iam: SigV4 callers of the account and of the partners named; jwt: access tokens of a Cognito user pool (per
    environment) carrying one of ``scopes``."""

    kind: AuthKind
    partners: tuple[str, ...] = ()
    issuers: tuple[tuple[str, str], ...] = ()  # environment -> issuer URL
    scopes: tuple[str, ...] = ()

    def issuer_in(self, environment: str) -> str | None:
        return dict(self.issuers).get(environment)

    def user_pool_arn(self, environment: Environment) -> str:
        """The pool behind the environment's issuer (https://cognito-idp.<region>.amazonaws.com/<pool id>), in the
        environment's account."""
        issuer = self.issuer_in(environment.name) or ""
        host, _, pool = issuer.removeprefix("https://").partition("/")
        region = host.split(".")[1] if host.count(".") > 1 else environment.region
        return f"arn:aws:cognito-idp:{region}:{environment.account_id}:userpool/{pool}"


@dataclass(frozen=True)
class Ingestion:
    """One HTTP endpoint of a domain: which of its events it accepts, who may call, how much, and where it puts
    them (the domain's bus)."""

    domain: str
    name: str
    description: str
    events: tuple[str, ...]  # event names of the domain (not qualified)
    auth: IngestionAuth
    max_body: int = MAX_BODY
    throttle: Throttle = Throttle()
    into: IngestionTarget = "bus"

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}/{self.name}"

    @property
    def qualified_events(self) -> tuple[str, ...]:
        return tuple(f"{self.domain}/{e}" for e in self.events)

    @property
    def inspection_limit(self) -> str:
        """The web ACL's body inspection size for API Gateway (KB_16..KB_64): the smallest that covers max_body."""
        steps = -(-self.max_body // INSPECTION_STEP)
        return f"KB_{16 * max(1, steps)}"

    @staticmethod
    def path_of(event: str) -> str:
        return f"/{EVENTS_PATH}/{event}"


__all__ = [
    "CONTENT_TYPE",
    "CORRELATION_HEADER",
    "EVENTS_PATH",
    "MAX_BODY",
    "MIN_BODY",
    "SPEC_VERSION",
    "STAGE",
    "AuthKind",
    "Ingestion",
    "IngestionAuth",
    "IngestionTarget",
    "Throttle",
]
