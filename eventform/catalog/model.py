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

# S3 buckets and object events live in their own module (this one stays small); they are part of the model's face.
from eventform.catalog.bucket_model import (  # noqa: F401
    OBJECT_EVENTS,
    Bucket,
    ObjectEventKind,
    ObjectPath,
    ObjectSource,
)
from eventform.catalog.delivery_model import DeliveryStream  # Firehose (eventform.catalog.deliveries)
from eventform.catalog.external import PiiException, Reference
from eventform.catalog.ingestion_model import Ingestion
from eventform.catalog.slo_model import ServiceLevel, ServiceLevelSpec, Volume

# Kinesis streams of the catalog and their Lambda consumers (eventform.catalog.streams).
from eventform.catalog.stream_model import Stream, StreamRetries, StreamSource  # noqa: F401
from eventform.catalog.workflow_model import Workflow

Encryption = Literal["service-managed", "customer-managed"]
FilterScope = Literal["attributes", "body"]
PipeSourceKind = Literal["queue", "stream", "table"]
PipeTargetKind = Literal["stepfunctions", "lambda", "sns", "queue", "kinesis", "firehose", "bus", "workflow"]
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
    typical_duration_ms: int | None = None  # per message; `eventform cost` (None: the price table's assumption)

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
    volume: Volume | None = None  # expected traffic (eventform.catalog.slo_model): dashboards and cost read it

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

    def dataschema(self, number: int) -> str:
        """The CloudEvents ``dataschema`` (a URI) of version ``number``: the schema's ``$id`` (checked to be an
        absolute URI when the catalog loads), else a URN naming the event version."""
        return self.version(number).schema.get("$id") or f"urn:eventform:schema:{self.domain}:{self.name}:v{number}"


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
    renamed_from: str | None = None  # its previous name: AWS names and Terraform addresses stay those of that name
    rare: bool = False  # no catalog example is meant to reach it: the rehearsal accepts that it receives nothing
    slo: ServiceLevelSpec = field(default_factory=ServiceLevelSpec)  # its own; the environment's fills the rest
    slo_overrides: dict[str, ServiceLevelSpec] = field(default_factory=dict)  # per environment
    stream: StreamSource | None = None  # Kinesis: set when Lambda reads a catalog stream for it (no queue, no topic)
    tasks: bool = False  # via: workflow: workflows' task states send its events (with a task token) to its queue

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}/{self.name}"

    def slo_for(self, environment: Environment) -> ServiceLevel:
        """The service level alarms are derived from: the environment's default, the consumer's ``slo:``, then its
        per-environment override."""
        resolved = self.slo.over(environment.slo)
        override = self.slo_overrides.get(environment.name)
        return override.over(resolved) if override else resolved

    @property
    def physical_name(self) -> str:
        """The name its AWS resources and construct ids carry: the previous name after a ``renamed_from`` rename."""
        return self.renamed_from or self.name

    @property
    def takes(self) -> tuple[str, ...]:
        """The catalog events its handler receives, whatever carries them (topics, buses or a stream)."""
        return self.events or (self.stream.events if self.stream else ())

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
    streams: tuple[Stream, ...] = ()  # Kinesis data streams (eventform.catalog.streams)
    workflows: tuple[Workflow, ...] = ()  # Step Functions state machines (eventform.catalog.workflows)
    delivery_streams: tuple[DeliveryStream, ...] = ()  # Firehose to a bucket (eventform.catalog.deliveries)
    ingestion: tuple[Ingestion, ...] = ()  # HTTP endpoints onto the bus (eventform.catalog.ingestion)

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
        """Consumers that name the event under ``events:`` (topics and buses deliver it to them)."""
        return tuple(c for c in self.consumers if qualified_event in c.events)

    def receivers_of(self, qualified_event: str) -> tuple[Consumer, ...]:
        """Every consumer that receives the event, stream and table readers included (what lint and docs list)."""
        return tuple(c for c in self.consumers if qualified_event in c.takes)

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
    kms_key: str | None = None  # s3: the customer-managed key that encrypts the state


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
    partners: dict[str, str] = field(default_factory=dict)  # partner name -> its account in this environment
    key_admin_role: str | None = None  # IAM role ARN that administers the KMS keys (then the account only uses them)
    slo: ServiceLevel = field(default_factory=ServiceLevel)  # consumers' default service level in this environment

    def trusts_account(self, account: str) -> bool:
        """The environment's own account or a partner it declares (``partners:``): where its ARNs may point."""
        return account == self.account_id or account in self.partners.values()

    @property
    def is_local(self) -> bool:
        return self.endpoint is not None

    @property
    def customer_managed_keys(self) -> bool:
        return self.encryption == "customer-managed"


# --------------------------------------------------------------------------------------------------------------
# EventBridge (issue 4): buses, rules and targets, schedules, AWS API-call alerts
# --------------------------------------------------------------------------------------------------------------
TargetKind = Literal["queue", "sns", "stepfunctions", "api", "kinesis", "firehose", "bus", "lambda", "workflow"]
# Targets EventBridge reaches through an IAM role (the others use the target's resource policy).
ROLE_TARGETS: frozenset[str] = frozenset({"stepfunctions", "api", "kinesis", "firehose", "bus", "workflow"})


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
    secret_arn: str | None  # the ARN as written for every environment; see ``secret``
    header: str = "x-api-key"
    secret: Reference | None = None  # the credentials' secret, per environment

    def secret_in(self, environment: Environment) -> str:
        """What the connection's data source reads: an ARN, or a secret name (the provider resolves it in the
        environment's own account and region; AWS suffixes secret ARNs with random characters)."""
        if self.secret is None:
            return self.secret_arn or ""
        if self.secret.name is not None and not self.secret.per_environment and not self.secret.arn:
            return self.secret.name
        return self.secret.arn_in(environment)


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
    reference: Reference | None = None  # what arn names, per environment (None: queue, lambda, api)
    pii_exception: PiiException | None = None  # full PII may reach this target on purpose
    workflow: str | None = None  # workflow: a workflow of the consumer's domain
    stream: str | None = None  # kinesis/firehose: a catalog stream or delivery stream by name (<domain>/<name>)

    @property
    def needs_role(self) -> bool:
        return self.kind in ROLE_TARGETS

    def arn_in(self, environment: Environment) -> str | None:
        return self.reference.arn_in(environment) if self.reference else self.arn


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
    partners: tuple[str, ...] = ()  # partners declared per environment (Environment.partners)
    archive_days: int | None = None  # the bus's own archive retention; None: the environment's

    def archive_days_in(self, environment: Environment) -> int:
        """Days the archive keeps events in ``environment`` (0 = forever): the bus's setting, else the environment's."""
        return environment.eventbridge.archive_days if self.archive_days is None else self.archive_days
    events: tuple[str, ...] = ()  # the domain's events others may put (events:detail-type); rules trust them for these
    organizational_units: tuple[str, ...] = ()  # aws:PrincipalOrgPaths narrowing the organisation grant

    def accounts_in(self, environment: Environment) -> tuple[str, ...]:
        """The other accounts that may put events on the bus in ``environment``: by id, and the partners' accounts
        there."""
        partners = {environment.partners[p] for p in self.partners if p in environment.partners}
        return tuple(sorted(set(self.accounts) | partners))

    def admits_others(self, environment: Environment) -> bool:
        return bool(self.accounts_in(environment) or self.organization)

    def senders_in(self, environment: Environment, events: tuple[str, ...]) -> tuple[str, ...]:
        """The accounts a rule for ``events`` accepts: this account, and the named accounts for the events others
        may put. Organisation members are never trusted wholesale: name an account (a partner) to trust it."""
        trusted = self.accounts_in(environment) if set(events) & set(self.events) else ()
        return tuple(sorted({environment.account_id, *trusted}))


@dataclass(frozen=True)
class Schedule:
    """A Scheduler schedule: a catalog event put on the domain's bus (``event``), a message sent to a consumer's
    queue (``consumer``), or a consumer's handler invoked by Scheduler with one of its events (both)."""

    name: str
    description: str
    expression: str
    timezone: str = "UTC"
    window: int = 0  # flexible time window in minutes; 0 = OFF
    retry: RetryPolicy = RetryPolicy()
    event: str | None = None
    consumer: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    workflow: str | None = None  # a workflow of the domain, started with the payload as its input

    @property
    def target_kind(self) -> Literal["bus", "queue", "function", "workflow"]:
        if self.workflow:
            return "workflow"
        if self.event and self.consumer:
            return "function"
        return "bus" if self.event else "queue"

    def qualified_event(self, domain: str) -> str | None:
        """``<domain>/<event>`` of ``event`` (a plain name is an event of the schedule's own domain)."""
        if self.event is None:
            return None
        return self.event if "/" in self.event else f"{domain}/{self.event}"


@dataclass(frozen=True)
class ApiCallAlert:
    """A default-bus rule on CloudTrail-recorded AWS API calls that notifies the platform alarm topic."""

    name: str
    description: str
    service: str
    actions: tuple[str, ...]


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
    arn: str | None  # as written for every environment (None: named, see reference)
    invocation: str | None = None  # lambda, stepfunctions
    partition_key: str | None = None  # kinesis
    message_group: str | None = None  # FIFO queue
    reference: Reference | None = None
    pii_exception: PiiException | None = None
    workflow: str | None = None  # workflow: a workflow of the pipe's domain (the wiring resolves its ARN)

    def arn_in(self, environment: Environment) -> str:
        return self.reference.arn_in(environment) if self.reference else self.arn or ""

    @property
    def actions(self) -> tuple[str, ...]:
        """What the pipe's role may do to the target: exactly the call Pipes makes."""
        if self.kind in ("stepfunctions", "workflow"):
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
