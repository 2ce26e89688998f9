"""The catalog model: frozen, validated facts that constructs read and never re-check.

Data flows one way: YAML + JSON Schema files -> :mod:`eventform.catalog.loader` -> these objects -> ``modules/``.
Everything here is already resolved for one environment where it matters (see :meth:`Consumer.queue_for`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

Encryption = Literal["service-managed", "customer-managed"]
FilterScope = Literal["attributes", "body"]
PipeSourceKind = Literal["queue", "stream", "table"]
PipeTargetKind = Literal["stepfunctions", "lambda", "sns", "queue", "kinesis", "firehose", "bus"]
StartingPosition = Literal["TRIM_HORIZON", "LATEST"]
LogLevel = Literal["OFF", "ERROR", "INFO", "TRACE"]

# Message attributes the publisher sets on every SNS message, whatever the event.
ENVELOPE_ATTRIBUTES: tuple[str, ...] = ("type", "version", "source")


@dataclass(frozen=True)
class QueueSettings:
    """SQS settings of one consumer queue, in seconds."""

    max_receive_count: int = 5
    visibility_timeout: int = 30
    retention: int = 4 * 86400
    delay: int = 0


@dataclass(frozen=True)
class FunctionSettings:
    """Lambda settings of a consumer's handler, in seconds and MB."""

    memory: int = 256
    timeout: int = 30
    reserved_concurrency: int | None = None
    batch_size: int = 10
    batching_window: int = 0
    max_concurrency: int | None = None
    tables: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    email_senders: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()

    @property
    def minimum_visibility(self) -> int:
        """AWS guidance: a queue's visibility timeout is at least six times its function's timeout."""
        return 6 * self.timeout


@dataclass(frozen=True)
class PushSettings:
    """Asynchronous invocation of a push consumer (SNS -> Lambda): Lambda's own retries, then the DLQ."""

    retries: int = 2
    max_event_age: int = 6 * 3600


@dataclass(frozen=True)
class EventVersion:
    number: int
    schema_path: Path
    schema: dict[str, Any]
    examples_path: Path
    examples: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Event:
    domain: str
    name: str
    description: str
    versions: tuple[EventVersion, ...]
    via: tuple[str, ...] = ("topic",)
    attributes: tuple[str, ...] = ()
    pii: tuple[str, ...] = ()
    message_group: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}/{self.name}"

    @property
    def latest(self) -> EventVersion:
        return self.versions[-1]

    def version(self, number: int) -> EventVersion:
        for candidate in self.versions:
            if candidate.number == number:
                return candidate
        raise KeyError(f"{self.qualified_name} has no version {number}")


@dataclass(frozen=True)
class Topic:
    fifo: bool = False
    content_based_deduplication: bool = False


@dataclass(frozen=True)
class Consumer:
    domain: str
    name: str
    description: str
    events: tuple[str, ...]
    delivery: str = "queue"
    push: PushSettings = PushSettings()
    handler: str | None = None
    emits: tuple[str, ...] = ()
    function: FunctionSettings = FunctionSettings()
    filter: dict[str, Any] | None = None
    filter_scope: FilterScope = "attributes"
    queue: dict[str, int] = field(default_factory=dict)
    overrides: dict[str, dict[str, int]] = field(default_factory=dict)
    fifo: bool = False
    route: Route | None = None  # EventBridge: set when the consumer subscribes through buses (via: bus)
    objects: ObjectSource | None = None  # S3: set when the consumer takes a bucket's object events, not catalog events
    rare: bool = False  # no catalog example is meant to reach it: the rehearsal accepts that it receives nothing

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}/{self.name}"

    def queue_for(self, environment: Environment) -> QueueSettings:
        """Queue settings after environment defaults, the consumer's own values and its per-env overrides."""
        merged: dict[str, int] = {"retention": environment.queue_retention}
        if self.handler:
            merged["visibility_timeout"] = max(30, self.function.minimum_visibility)
        merged.update(self.queue)
        merged.update(self.overrides.get(environment.name, {}))
        return QueueSettings(**merged)

    def source_domains(self) -> tuple[str, ...]:
        """Domains whose topics this consumer subscribes to, sorted for deterministic output."""
        return tuple(sorted({qualified.split("/", 1)[0] for qualified in self.events}))

    def events_from(self, domain: str) -> tuple[str, ...]:
        return tuple(sorted(q.split("/", 1)[1] for q in self.events if q.startswith(domain + "/")))


@dataclass(frozen=True)
class Domain:
    name: str
    owner: str
    description: str
    source: str
    data_classification: str
    path: Path
    topic: Topic | None
    events: tuple[Event, ...]
    consumers: tuple[Consumer, ...]
    bus: Bus | None = None  # EventBridge: the domain's custom bus
    schedules: tuple[Schedule, ...] = ()
    api_calls: tuple[ApiCallAlert, ...] = ()
    buckets: tuple[Bucket, ...] = ()
    pipes: tuple[Pipe, ...] = ()  # EventBridge Pipes (eventform.catalog.pipes)

    def event(self, name: str) -> Event:
        for candidate in self.events:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no event {name}")


@dataclass(frozen=True)
class Catalog:
    root: Path
    domains: tuple[Domain, ...]

    def domain(self, name: str) -> Domain:
        for candidate in self.domains:
            if candidate.name == name:
                return candidate
        raise KeyError(f"no domain {name}")

    def event(self, qualified_name: str) -> Event:
        domain, name = qualified_name.split("/", 1)
        return self.domain(domain).event(name)

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(event for domain in self.domains for event in domain.events)

    @property
    def consumers(self) -> tuple[Consumer, ...]:
        return tuple(consumer for domain in self.domains for consumer in domain.consumers)

    def consumers_of(self, qualified_event: str) -> tuple[Consumer, ...]:
        return tuple(c for c in self.consumers if qualified_event in c.events)

    def bucket_consumers(self, domain: str, bucket: str) -> tuple[Consumer, ...]:
        """Consumers of one bucket's object events, whatever path they take (notification, topic or bus)."""
        return tuple(
            c for c in self.consumers if c.objects and (c.objects.domain, c.objects.bucket) == (domain, bucket)
        )


@dataclass(frozen=True)
class Backend:
    type: Literal["local", "s3"]
    bucket: str | None = None
    region: str | None = None
    key_prefix: str = "eventform"


@dataclass(frozen=True)
class Alarms:
    dlq_messages: int = 0
    oldest_message_age: int = 900
    period: int = 60
    evaluation_periods: int = 1


@dataclass(frozen=True)
class Waiver:
    """An accepted scan failure: which check, on which resources (a glob on the Terraform address or the construct
    path), who owns the decision, why, and until when. Expired waivers stop applying and fail the scan."""

    check: str
    resource: str
    owner: str
    reason: str
    expires: date

    def matches(self, check_id: str, *names: str) -> bool:
        return check_id == self.check and any(fnmatchcase(name, self.resource) for name in names if name)

    def expired(self, today: date) -> bool:
        return self.expires < today


@dataclass(frozen=True)
class Environment:
    name: str
    account_id: str
    region: str
    provider_version: str
    backend: Backend
    encryption: Encryption
    path: Path
    queue_retention: int = 4 * 86400
    dlq_retention: int = 14 * 86400
    log_retention_days: int = 30
    alarms: Alarms = Alarms()
    tags: dict[str, str] = field(default_factory=dict)
    endpoint: str | None = None
    waivers: tuple[Waiver, ...] = ()
    eventbridge: EventBridgeSettings = field(default_factory=lambda: EventBridgeSettings())

    @property
    def is_local(self) -> bool:
        return self.endpoint is not None

    @property
    def customer_managed_keys(self) -> bool:
        return self.encryption == "customer-managed"


# --------------------------------------------------------------------------------------------------------------
# EventBridge (issue 4): buses, rules and targets, schedules, AWS API-call alerts
# --------------------------------------------------------------------------------------------------------------
TargetKind = Literal["queue", "sns", "stepfunctions", "api", "kinesis", "firehose", "bus", "lambda"]
# Targets EventBridge reaches through an IAM role (the others use the target's resource policy).
ROLE_TARGETS: frozenset[str] = frozenset({"stepfunctions", "api", "kinesis", "firehose", "bus"})


@dataclass(frozen=True)
class EventBridgeSettings:
    """Per environment: archive retention (0 = keep forever), whether a schema registry is built, and whether
    ``type: api`` targets (API destinations + connections) are built."""

    archive_days: int = 7
    schema_registry: bool = False
    api_destinations: bool = True


@dataclass(frozen=True)
class RetryPolicy:
    """EventBridge / Scheduler retry: attempts 0..185, event age 60s..24h (AWS defaults: 185, 24h)."""

    max_attempts: int = 185
    max_age: int = 86400


@dataclass(frozen=True)
class InputTransformer:
    paths: dict[str, str]
    template: str


@dataclass(frozen=True)
class ApiDestination:
    """An HTTP endpoint behind a managed connection; credentials live in Secrets Manager, never in the catalog."""

    endpoint: str
    method: str
    rate: int
    auth: Literal["api_key", "basic"]
    secret_arn: str
    header: str = "x-api-key"


@dataclass(frozen=True)
class Target:
    name: str
    kind: TargetKind
    arn: str | None = None  # None: the consumer's own queue, or the API destination eventform creates
    input_path: str | None = None
    input_transformer: InputTransformer | None = None
    retry: RetryPolicy = RetryPolicy()
    api: ApiDestination | None = None
    partition_key_path: str | None = None  # kinesis
    function: str | None = None  # lambda: the handler wiring's function name (hook, see modules/rule.py)

    @property
    def needs_role(self) -> bool:
        return self.kind in ROLE_TARGETS


@dataclass(frozen=True)
class Route:
    """A consumer that subscribes through EventBridge: its pattern (beyond source/detail-type) and targets."""

    pattern: dict[str, Any] | None
    targets: tuple[Target, ...]
    rare: bool = False  # the pattern may match none of the catalog's examples on purpose

    @property
    def has_queue(self) -> bool:
        return any(t.kind == "queue" for t in self.targets)


@dataclass(frozen=True)
class Bus:
    """The domain's custom bus: who else may PutEvents, and which events its archive keeps."""

    accounts: tuple[str, ...] = ()
    organization: str | None = None
    archive_pattern: dict[str, Any] | None = None


@dataclass(frozen=True)
class Schedule:
    """A Scheduler schedule: a catalog event put on the domain's bus, or a message sent to a consumer's queue."""

    name: str
    description: str
    expression: str
    timezone: str = "UTC"
    window: int = 0  # flexible time window in minutes; 0 = OFF
    retry: RetryPolicy = RetryPolicy()
    event: str | None = None
    consumer: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiCallAlert:
    """A default-bus rule on CloudTrail-recorded AWS API calls that notifies the platform alarm topic."""

    name: str
    description: str
    service: str
    actions: tuple[str, ...]


# --------------------------------------------------------------------------------------------------------------
# S3 event notifications: buckets and the consumers of their object events
# --------------------------------------------------------------------------------------------------------------
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


# Handler packages the platform itself provides (not named by any catalog consumer).
PLATFORM_HANDLERS = frozenset({"dlq_recorder"})


# --------------------------------------------------------------------------------------------------------------
# EventBridge Pipes: source -> filters -> enrichment -> target
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamRetry:
    """What a stream source does with a batch its enrichment or target keeps failing: retry, then the DLQ."""

    max_attempts: int = 5
    max_age: int = 3600


@dataclass(frozen=True)
class PipeSource:
    kind: PipeSourceKind
    reference: str  # queue: a consumer of the domain; stream: a stream name or ARN; table: <consumer>/<table>
    batch_size: int
    batching_window: int = 0  # seconds
    events: tuple[str, ...] = ()  # stream: the catalog events its records carry (data = the CloudEvents envelope)
    starting_position: StartingPosition | None = None  # streams
    retry: StreamRetry | None = None  # streams: retries, then the pipe's DLQ

    @property
    def is_stream(self) -> bool:
        return self.kind != "queue"

    @property
    def consumer(self) -> str | None:
        """The consumer whose queue (queue) or table (table) the pipe reads."""
        return self.reference.split("/", 1)[0] if self.kind in ("queue", "table") else None

    @property
    def table(self) -> str | None:
        return self.reference.split("/", 1)[1] if self.kind == "table" else None


@dataclass(frozen=True)
class PipeEnrichment:
    """A handler package (``handlers/<handler>/handler.py``) that Pipes invokes synchronously with each batch."""

    handler: str
    function: FunctionSettings = field(default_factory=FunctionSettings)


@dataclass(frozen=True)
class PipeTarget:
    kind: PipeTargetKind
    arn: str
    invocation: str | None = None  # lambda, stepfunctions
    partition_key: str | None = None  # kinesis
    message_group: str | None = None  # FIFO queue

    @property
    def actions(self) -> tuple[str, ...]:
        """What the pipe's role may do to the target: exactly the call Pipes makes."""
        if self.kind == "stepfunctions":
            return (
                ("states:StartExecution",) if self.invocation == "FIRE_AND_FORGET" else ("states:StartSyncExecution",)
            )
        return {
            "lambda": ("lambda:InvokeFunction",),
            "sns": ("sns:Publish",),
            "queue": ("sqs:SendMessage",),
            "kinesis": ("kinesis:PutRecord", "kinesis:PutRecords"),
            "firehose": ("firehose:PutRecord", "firehose:PutRecordBatch"),
            "bus": ("events:PutEvents",),
        }[self.kind]


@dataclass(frozen=True)
class Pipe:
    domain: str
    name: str
    description: str
    source: PipeSource
    target: PipeTarget
    filters: tuple[dict[str, Any], ...] = ()  # OR-ed; none: every record passes
    rare: bool = False  # the filters may match none of the catalog's examples on purpose
    enrichment: PipeEnrichment | None = None
    log_level: LogLevel = "ERROR"

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}/{self.name}"
