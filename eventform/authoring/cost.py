"""``eventform cost``: what a catalog will cost per month in one environment, from the declared volumes.

Every figure is a line item (domain, service, what, quantity, unit price) computed from the catalog's ``volume:``
declarations, the generated resources (the same alarm and dashboard plan the stacks build) and a price table kept as
data (``prices/<region>.json``, read by ``price_table.py``: region, date, each price's source and verification
status, the usage assumptions). Each item keeps its price's key, so the estimate can name the unverified prices it
used. What cannot be estimated is listed, never dropped: events without ``volume:``, targets outside the catalog (Step
Functions, Kinesis, Firehose, another account's bus), pipes reading a table; what costs nothing is said (``notes``).
Catalog Kinesis streams are priced through ``cost_services.py``, which also holds the usage of services whose catalog
sections are still to come.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from eventform.authoring.cost_services import Line, firehose, firehose_objects, kinesis_stream
from eventform.authoring.price_table import PriceTable, price_table
from eventform.catalog.errors import CatalogError
from eventform.catalog.model import Catalog, Consumer, DeliveryStream, Domain, Environment, Event, Pipe, Stream
from eventform.catalog.naming import Names
from modules.dashboard import domain_pages, overview_pages
from modules.observability import ConsumerWatch, consumer_watch, domain_alarms

GIB = 1024**3
PLATFORM = "platform"


@dataclass(frozen=True)
class Item:
    domain: str
    service: str  # SNS, SQS, EventBridge, Pipes, Scheduler, Lambda, KMS, CloudWatch, X-Ray, DynamoDB
    what: str
    quantity: float
    unit: str
    unit_price: float  # per ``unit``
    consumer: str | None = None
    price: str = ""  # the price table's key

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


@dataclass
class Estimate:
    environment: str
    prices: PriceTable
    items: list[Item] = field(default_factory=list)
    not_estimated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what is included at no charge, and why

    @property
    def unverified(self) -> tuple[str, ...]:
        """The unverified prices (``price_table``'s checks) this estimate used: named under its table."""
        used = {i.price for i in self.items}
        return tuple(k for k in self.prices.unverified if k in used)

    def total(self, **match: Any) -> float:
        return sum(i.monthly for i in self.items if all(getattr(i, k) == v for k, v in match.items()))

    def by_domain_and_service(self) -> dict[str, dict[str, float]]:
        table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for item in self.items:
            table[item.domain][item.service] += item.monthly
        return {d: dict(sorted(s.items())) for d, s in sorted(table.items())}


class _Costing:
    def __init__(self, catalog: Catalog, environment: Environment, prices: PriceTable) -> None:
        self.catalog, self.environment, self.prices = catalog, environment, prices
        self.assume = prices.assumptions
        self.names = Names(env=environment.name, region=environment.region, account_id=environment.account_id)
        self.month = self.assume["days_per_month"] * 86_400  # seconds
        self.estimate = Estimate(environment.name, prices)

    def add(self, domain: str, service: str, what: str, quantity: float, unit: str, price: str, **extra: Any) -> None:
        """A line item at the price table's ``price`` (a key: the estimate knows which prices it used)."""
        if quantity:
            self.estimate.items.append(Item(domain, service, what, quantity, unit, self.prices[price], price=price,
                                            **extra))

    def note(self, text: str) -> None:
        if text not in self.estimate.notes:
            self.estimate.notes.append(text)

    def add_lines(self, domain: str, lines: list[Line], **extra: Any) -> None:
        for line in lines:
            self.add(domain, line.service, line.what, line.quantity, line.unit, line.price, **extra)

    # volumes -------------------------------------------------------------------------------------------------
    def monthly(self, event: Event) -> float:
        return event.volume.per_day * self.assume["days_per_month"] if event.volume else 0.0

    def chunks(self, event: Event) -> int:
        return max(1, math.ceil(event.volume.size / self.assume["request_chunk_bytes"])) if event.volume else 1

    def deliveries(self, consumer: Consumer) -> tuple[float, float, float]:
        """(messages, billed 64 KB chunks, bytes) a consumer receives per month: every event it takes (its filter
        cannot be evaluated on volumes: an upper bound)."""
        messages = chunks = size = 0.0
        for qualified in consumer.takes:
            event = self.catalog.event(qualified)
            messages += self.monthly(event)
            chunks += self.monthly(event) * self.chunks(event)
            size += self.monthly(event) * (event.volume.size if event.volume else 0)
        return messages, chunks, size

    # per domain ----------------------------------------------------------------------------------------------
    def domain(self, domain: Domain) -> None:
        d = domain.name
        fifo = bool(domain.topic and domain.topic.fifo)
        for event in domain.events:
            if event.volume is None:
                self.estimate.not_estimated.append(f"{event.qualified_name}: no volume: declared")
                continue
            published = self.monthly(event)
            if "topic" in event.via and domain.topic is not None:
                if fifo:
                    self.add(d, "SNS", f"{event.name}: FIFO publishes", published * self.chunks(event) / 1e6,
                             "million", "sns_fifo_publish_per_million")
                    self.add(d, "SNS", f"{event.name}: FIFO payload", published * event.volume.size / GIB, "GB",
                             "sns_fifo_publish_payload_per_gb")
                else:
                    self.add(d, "SNS", f"{event.name}: publishes", published * self.chunks(event) / 1e6, "million",
                             "sns_publish_per_million")
                if self.environment.customer_managed_keys:
                    requests = published * self.assume["sns_kms_requests_per_publish"]
                    self.add(d, "KMS", f"{event.name}: topic encryption", requests / 1e4, "10k requests",
                             "kms_requests_per_10000")
            if "bus" in event.via and domain.bus is not None:
                self.add(d, "EventBridge", f"{event.name}: events put", published * self.chunks(event) / 1e6,
                         "million", "eventbridge_event_per_million")
                archived = published * event.volume.size / GIB
                self.add(d, "EventBridge", f"{event.name}: archived", archived, "GB", "eventbridge_archive_per_gb")
                days = domain.bus.archive_days_in(self.environment)
                months = days / self.assume["days_per_month"] if days else self.assume["archive_forever_months"]
                self.add(d, "EventBridge", f"{event.name}: archive storage", archived * months, "GB-month",
                         "eventbridge_archive_storage_per_gb_month")
        watches = [consumer_watch(c, self.environment, self.names) for c in domain.consumers]
        for watch in watches:
            self.consumer(domain, watch)
        for plan in domain_alarms(self.catalog, domain, self.environment, self.names):
            self.add(d, "CloudWatch", f"alarm {plan.name}", len(plan.metrics), "alarm metric-month",
                     "cloudwatch_alarm_metric_month")
        for schedule in domain.schedules:
            runs = runs_per_day(schedule.expression) * self.assume["days_per_month"]
            self.add(d, "Scheduler", f"{schedule.name}: invocations", runs / 1e6, "million",
                     "scheduler_invocation_per_million")
        for pipe in domain.pipes:
            self.pipe(domain, pipe)
        for stream in domain.streams:
            self.stream(domain, stream)
        for archive in domain.delivery_streams:
            self.delivery_stream(domain, archive)
        if not self.environment.is_local:
            pages = domain_pages(domain, self.environment, self.names, watches)
            self.add(d, "CloudWatch", "dashboards", len(pages), "dashboard-month", "cloudwatch_dashboard_month")

    def pipe(self, domain: Domain, pipe: Pipe) -> None:
        source = pipe.source
        if source.kind == "queue":
            consumer = next(c for c in domain.consumers if c.name == source.consumer)
            _, chunks, _ = self.deliveries(consumer)
        elif source.kind == "stream" and source.events:
            chunks = sum(self.monthly(e) * self.chunks(e) for e in map(self.catalog.event, source.events))
        else:
            self.estimate.not_estimated.append(
                f"{pipe.qualified_name}: a table's stream has no declared volume (nor are its DynamoDB stream reads "
                "estimated: free for Lambda only)"
            )
            return
        self.add(domain.name, "Pipes", f"{pipe.name}: requests (before its filter: an upper bound)", chunks / 1e6,
                 "million", "pipes_request_per_million")

    def stream(self, domain: Domain, stream: Stream) -> None:
        """A catalog Kinesis stream: every publish of its events is one record (``volume.size`` bytes); each Lambda
        consumer reading it is one reader (shared throughput: no enhanced fan-out)."""
        events = [self.catalog.event(q) for q in stream.events]
        silent = [e.qualified_name for e in events if e.volume is None]
        if silent:
            self.estimate.not_estimated.append(
                f"{stream.qualified_name}: records of {', '.join(silent)} (no volume: declared)"
            )
        writes = [(self.monthly(e), e.volume.size) for e in events if e.volume is not None]
        sources = [c.stream for c in self.catalog.consumers if c.stream is not None and c.stream.kind == "kinesis"]
        readers = [s for s in sources if s.qualified_stream == stream.qualified_name]
        hours = self.assume["days_per_month"] * 24
        self.note("Kinesis readers share each shard's read throughput (no enhanced fan-out): no fan-out charges")
        if stream.mode == "provisioned":
            self.note("Kinesis provisioned streams: reads are included in the shard-hour")
        self.add_lines(domain.name, kinesis_stream(
            stream.name, mode=stream.mode, shards=stream.shards, retention_hours=stream.retention_hours,
            writes=writes, readers=len(readers), hours=hours,
        ))
        if self.environment.customer_managed_keys:  # the writer's and each reader's data key, renewed every 5 minutes
            requests = (1 + len(readers)) * self.month / self.assume["kinesis_kms_data_key_seconds"]
            self.add(domain.name, "KMS", f"{stream.name}: stream encryption", requests / 1e4, "10k requests",
                     "kms_requests_per_10000")

    def delivery_stream(self, domain: Domain, archive: DeliveryStream) -> None:
        """A catalog Firehose delivery stream: every publish of its events is one record (``volume.size`` bytes),
        as if its rule targets sent them all; dynamic partitioning by event type (one partition per type and time
        part), objects from the buffering. S3 requests and storage of the archive are not estimated."""
        events = [self.catalog.event(q) for q in archive.events]
        silent = [e.qualified_name for e in events if e.volume is None]
        if silent:
            self.estimate.not_estimated.append(
                f"{archive.qualified_name}: records of {', '.join(silent)} (no volume: declared)"
            )
        partitions = [(self.monthly(e), e.volume.size) for e in events if e.volume is not None]
        records = sum(n for n, _ in partitions)
        if not records:
            return
        size = sum(n * s for n, s in partitions) / records  # the mean record (each is rounded up to 5 KB anyway)
        objects = firehose_objects(
            partitions,
            interval_seconds=archive.buffer_interval,
            buffer_bytes=archive.buffer_mib * 1024 * 1024,
            month_seconds=self.month,
        )
        self.note("Firehose archives: S3 PUT requests and storage of the objects are not estimated")
        self.add_lines(domain.name, firehose(archive.name, records=records, record_bytes=size,
                                             dynamic_partitioning=True, objects=objects))

    # per consumer --------------------------------------------------------------------------------------------
    def consumer(self, domain: Domain, watch: ConsumerWatch) -> None:
        a, d = self.assume, domain.name
        consumer = watch.consumer
        who = {"consumer": consumer.qualified_name}
        messages, chunks, size = self.deliveries(consumer)
        if consumer.takes and not any(self.catalog.event(q).volume for q in consumer.takes):
            self.estimate.not_estimated.append(f"{consumer.qualified_name}: none of its events declares volume:")
        batch = self.batch(consumer, messages)
        if watch.queue is not None:
            fifo = watch.queue.endswith(".fifo")
            price = "sqs_fifo_per_million" if fifo else "sqs_standard_per_million"
            pollers = a["sqs_lambda_pollers"] if watch.function else a["sqs_other_pollers"]
            floor = pollers * self.month / a["sqs_long_poll_seconds"]  # empty long polls of an idle queue
            receives = max(chunks / batch, floor)
            self.add(d, "SQS", f"{consumer.name}: sends", chunks / 1e6, "million", price, **who)
            self.add(d, "SQS", f"{consumer.name}: receives (long polling)", receives / 1e6, "million", price, **who)
            self.add(d, "SQS", f"{consumer.name}: deletes", chunks / batch / 1e6, "million", price, **who)
            if fifo and consumer.route is None:
                self.add(d, "SNS", f"{consumer.name}: FIFO deliveries", messages / 1e6, "million",
                         "sns_fifo_delivery_per_million", **who)
                self.add(d, "SNS", f"{consumer.name}: FIFO delivery payload", size / GIB, "GB",
                         "sns_fifo_delivery_payload_per_gb", **who)
            if self.environment.customer_managed_keys:
                requests = 2 * self.month / a["sqs_kms_data_key_reuse_seconds"]  # GenerateDataKey + Decrypt
                self.add(d, "KMS", f"{consumer.name}: queue encryption", requests / 1e4, "10k requests",
                         "kms_requests_per_10000", **who)
        if consumer.route is not None:
            for target in consumer.route.targets:
                if target.kind == "api":
                    self.add(d, "EventBridge", f"{consumer.name}: API destination {target.name}", messages / 1e6,
                             "million", "eventbridge_api_destination_per_million", **who)
                elif target.kind == "bus":
                    self.add(d, "EventBridge", f"{consumer.name}: events sent to bus {target.name}", chunks / 1e6,
                             "million", "eventbridge_event_per_million", **who)
                elif target.kind == "workflow":  # a catalog workflow; its transitions depend on the definition's path
                    self.estimate.not_estimated.append(
                        f"{consumer.qualified_name}: target {target.name} starts workflow {target.workflow}: its Step "
                        "Functions executions are not estimated (the catalog gives no state transitions per run)"
                    )
                elif target.kind not in ("queue", "lambda") and target.stream is None:  # catalog streams: their own
                    self.estimate.not_estimated.append(
                        f"{consumer.qualified_name}: target {target.name} ({target.kind}) is outside the catalog"
                    )
        if consumer.stream is not None and consumer.stream.kind == "table":  # Lambda polls each shard 4 times a second
            polls = self.assume["dynamodb_stream_polls_per_second"] * self.month
            self.add(d, "DynamoDB", f"{consumer.name}: reads of its table's stream (free for Lambda)", polls / 1e6,
                     "million GetRecords", "dynamodb_stream_read_by_lambda_per_million", **who)
            self.note("DynamoDB stream reads by Lambda (table consumers) are free: AWS's DynamoDB developer guide")
        if watch.function is not None:
            settings = consumer.function
            invocations = messages / batch
            seconds = (settings.typical_duration_ms or a["lambda_typical_duration_ms"]) / 1000
            self.add(d, "Lambda", f"{consumer.name}: requests", invocations / 1e6, "million",
                     "lambda_request_per_million", **who)
            self.add(d, "Lambda", f"{consumer.name}: compute", messages * seconds * settings.memory / 1024,
                     "GB-second", "lambda_gb_second", **who)
            logged = invocations * a["lambda_platform_log_bytes_per_invocation"] + messages * a[
                "handler_log_bytes_per_message"
            ]
            self.add(d, "CloudWatch", f"{consumer.name}: log ingestion", logged / GIB, "GB",
                     "cloudwatch_logs_ingestion_per_gb", **who)
            kept = logged / GIB * self.environment.log_retention_days / a["days_per_month"]
            self.add(d, "CloudWatch", f"{consumer.name}: log storage", kept, "GB-month",
                     "cloudwatch_logs_storage_per_gb_month", **who)
            self.add(d, "X-Ray", f"{consumer.name}: traces", invocations * a["xray_sampled_share"] / 1e6, "million",
                     "xray_trace_per_million", **who)
            self.add(d, "DynamoDB", f"{consumer.name}: idempotency records",
                     messages * a["idempotency_writes_per_message"] / 1e6, "million writes",
                     "dynamodb_write_request_per_million", **who)
        if not self.environment.is_local:
            metrics = sum(len(plan.metrics) for plan in watch.alarms)
            self.add(d, "CloudWatch", f"{consumer.name}: alarms", metrics, "alarm metric-month",
                     "cloudwatch_alarm_metric_month", **who)
            self.add(d, "CloudWatch", f"{consumer.name}: composite alarm", 1, "alarm-month",
                     "cloudwatch_composite_alarm_month", **who)
        else:
            self.add(d, "CloudWatch", f"{consumer.name}: alarms", len(watch.dlqs) + (1 if watch.queue else 0),
                     "alarm metric-month", "cloudwatch_alarm_metric_month", **who)

    def batch(self, consumer: Consumer, messages: float) -> float:
        """Messages per Lambda invocation / SQS receive: what arrives within the batching window (at least one
        second of polling), at most the batch size (and 10 per SQS receive)."""
        if consumer.delivery == "push" or (consumer.route and not consumer.route.has_queue):
            return 1.0
        rate = messages / self.month
        if consumer.stream is not None:  # Kinesis: records of the batching window, up to the batch size
            window = max(consumer.stream.batching_window, 1)
            return max(1.0, min(float(consumer.stream.batch_size), rate * window))
        window = max(consumer.function.batching_window, 1)
        return max(1.0, min(float(consumer.function.batch_size), 10.0, rate * window))

    def platform(self) -> None:
        if self.environment.customer_managed_keys:
            keys = len(self.catalog.domains) + 2  # each domain's, the alarm topic's, the idempotency table's
            self.add(PLATFORM, "KMS", "customer-managed keys", keys, "key-month", "kms_key_month")
        if not self.environment.is_local:
            domains = []
            for domain in self.catalog.domains:
                watches = [consumer_watch(c, self.environment, self.names) for c in domain.consumers]
                domains.append((domain, watches, len(domain_pages(domain, self.environment, self.names, watches))))
            pages = overview_pages(self.environment, domains)
            self.add(PLATFORM, "CloudWatch", "overview dashboards", len(pages), "dashboard-month",
                     "cloudwatch_dashboard_month")


CRON = re.compile(r"^cron\((?P<fields>[^)]*)\)$")
RATE = re.compile(r"^rate\((?P<n>\d+) (?P<unit>minutes?|hours?|days?)\)$")


WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
NAMED = {name: number for names in (WEEKDAYS, MONTHS) for number, name in enumerate(names, start=1)}


def _value(text: str) -> int:
    return NAMED[text.upper()] if text.upper() in NAMED else int(text)


def _count(field: str, size: int) -> int:
    """How many values a cron field takes: ``*``/``?``: all; ``a,b``; ``a-b`` (numbers or MON-FRI, JAN-MAR);
    ``*/n`` or ``a/n``; ``L``, ``W`` and ``#`` forms count once."""
    if field in ("*", "?"):
        return size
    total = 0
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            span = size
        elif "-" in base:
            low, high = base.split("-", 1)
            try:
                span = _value(high) - _value(low) + 1
            except ValueError:
                span = 1
        else:
            span = 1 if not step else size - (int(base) if base.isdigit() else 0)
        total += math.ceil(span / int(step)) if step else span
    return total


def runs_per_day(expression: str) -> float:
    """Runs a day of a Scheduler expression: rate(), cron() (averaged over a 30-day month), at() once."""
    if match := RATE.match(expression):
        seconds = {"m": 60, "h": 3600, "d": 86400}[match["unit"][0]] * int(match["n"])
        return 86400 / seconds
    if match := CRON.match(expression):
        minute, hour, day, _month, weekday, *_ = match["fields"].split()
        per_day = _count(minute, 60) * _count(hour, 24)
        if day not in ("*", "?"):
            return per_day * _count(day, 31) / 30
        if weekday not in ("*", "?"):
            return per_day * _count(weekday, 7) / 7
        return per_day
    return 1 / 30  # at(): once


def estimate(catalog: Catalog, environment: Environment, prices: PriceTable | None = None) -> Estimate:
    """The monthly estimate of ``catalog`` in ``environment``."""
    costing = _Costing(catalog, environment, prices or price_table(environment.region))
    for domain in catalog.domains:
        costing.domain(domain)
    costing.platform()
    return costing.estimate


@dataclass(frozen=True)
class CostChange:
    """What a change does to one environment's monthly estimate (``eventform diff``)."""

    environment: str
    before: float
    after: float
    services: tuple[tuple[str, float, float], ...]  # (service, before, after), changed ones only
    note: str = ""  # why it could not be estimated

    @property
    def delta(self) -> float:
        return self.after - self.before


def _services(result: Estimate) -> dict[str, float]:
    found: dict[str, float] = defaultdict(float)
    for item in result.items:
        found[item.service] += item.monthly
    return dict(found)


def cost_changes(
    base: tuple[Catalog, tuple[Environment, ...]], head: tuple[Catalog, tuple[Environment, ...]]
) -> list[CostChange]:
    """Per environment of ``head`` (the local one aside: it costs nothing), the estimate before and after."""
    changes = []
    base_environments = {e.name: e for e in base[1]}
    for environment in head[1]:
        if environment.is_local:
            continue
        try:
            after = _services(estimate(head[0], environment))
            previous = base_environments.get(environment.name)
            before = _services(estimate(base[0], previous)) if previous else {}
        except CatalogError as error:
            changes.append(CostChange(environment.name, 0.0, 0.0, (), str(error.problems[0].message)))
            continue
        services = tuple(
            (service, before.get(service, 0.0), after.get(service, 0.0))
            for service in sorted(set(before) | set(after))
            if round(before.get(service, 0.0), 2) != round(after.get(service, 0.0), 2)
        )
        changes.append(CostChange(environment.name, sum(before.values()), sum(after.values()), services))
    return changes
