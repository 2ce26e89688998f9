"""Reading and checking service levels: events' ``volume:``, consumers' ``slo:`` and the environments' defaults.

The JSON Schema checks shapes (a duration, a percentage, a size); this module checks what needs numbers and the
environment: a size SNS would refuse, a peak below the day's average, a lag no alarm could ever see because the
queue drops the message first or Lambda discards the event first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eventform.catalog.model import Catalog, Consumer, Domain, Environment
from eventform.catalog.parsing import Collector, line_of, parse_duration
from eventform.catalog.slo_model import MAX_EVENT_BYTES, ServiceLevel, ServiceLevelSpec, Volume

SIZE_UNITS = {"KB": 1024, "B": 1}
MIN_LAG = 60  # SQS, Lambda and EventBridge publish these metrics per minute: a shorter lag cannot be measured
MAX_LAG = 14 * 86_400  # the longest any queue keeps a message


def parse_size(value: int | str) -> int:
    if isinstance(value, int):
        return value
    for unit, factor in SIZE_UNITS.items():  # KB before B
        if value.endswith(unit):
            return int(value[: -len(unit)]) * factor
    raise ValueError(value)


def parse_rate(value: str) -> float:
    """``"1%"`` -> 0.01 (the schema guarantees the shape)."""
    return float(value[:-1]) / 100


def build_volume(spec: dict[str, Any] | None) -> Volume | None:
    if not spec:
        return None
    return Volume(
        per_day=int(spec["per_day"]), peak_per_second=float(spec["peak_per_second"]), size=parse_size(spec["size"])
    )


def build_slo(spec: dict[str, Any] | None) -> ServiceLevelSpec:
    spec = spec or {}
    return ServiceLevelSpec(
        max_lag=parse_duration(spec["max_lag"]) if "max_lag" in spec else None,
        max_error_rate=parse_rate(spec["max_error_rate"]) if "max_error_rate" in spec else None,
    )


def _bounds(spec: ServiceLevelSpec, path: Path, where: list[Any], document: Any, out: Collector) -> bool:
    """The limits every ``slo:`` shares, wherever it is written."""
    ok = True
    location = ".".join(str(w) for w in where)
    if spec.max_lag is not None and not MIN_LAG <= spec.max_lag <= MAX_LAG:
        out.add(
            path,
            f"{location}.max_lag",
            f"a maximum lag of {spec.max_lag}s is outside 1m..14d: CloudWatch measures queue age and event age per "
            "minute, and no queue keeps a message longer than 14 days",
            "write a lag between 1m and 14d, e.g. max_lag: 5m",
            line_of(document, [*where, "max_lag"]),
        )
        ok = False
    if spec.max_error_rate is not None and not 0 <= spec.max_error_rate < 1:
        out.add(
            path,
            f"{location}.max_error_rate",
            f"a maximum error rate of {spec.max_error_rate * 100:g}% is not below 100%: the alarm could never fire",
            "write a percentage below 100%, e.g. max_error_rate: 1%",
            line_of(document, [*where, "max_error_rate"]),
        )
        ok = False
    return ok


def environment_slo(path: Path, document: Any, data: dict[str, Any], out: Collector) -> ServiceLevel | None:
    """An environment's default service level: ``slo:``, or the older ``alarms.oldest_message_age`` as its lag."""
    spec = build_slo(data.get("slo"))
    legacy = data.get("alarms", {}).get("oldest_message_age")
    if legacy is not None and spec.max_lag is not None:
        out.add(
            path,
            "alarms.oldest_message_age",
            "the consumers' lag threshold is set twice: alarms.oldest_message_age and slo.max_lag",
            "remove alarms.oldest_message_age (slo.max_lag replaces it)",
            line_of(document, ["alarms", "oldest_message_age"]),
        )
        return None
    if legacy is not None:
        spec = ServiceLevelSpec(max_lag=parse_duration(legacy), max_error_rate=spec.max_error_rate)
    if not _bounds(spec, path, ["slo"], document, out):
        return None
    return spec.over(ServiceLevel())


def check_catalog(
    catalog: Catalog, documents: dict[Path, Any], environments: tuple[Environment, ...], out: Collector
) -> None:
    for domain in catalog.domains:
        document = documents[domain.path]
        for event in domain.events:
            _check_volume(domain, event.name, event.volume, document, out)
        for consumer in domain.consumers:
            _check_consumer(domain, consumer, document, environments, out)


def _check_volume(domain: Domain, name: str, volume: Volume | None, document: Any, out: Collector) -> None:
    if volume is None:
        return
    where = ["events", name, "volume"]
    if volume.size > MAX_EVENT_BYTES:
        out.add(
            domain.path,
            f"events.{name}.volume.size",
            f"a typical size of {volume.size} bytes is over the 262,144 bytes (256 KB) SNS and EventBridge accept",
            "write the size of a typical envelope (at most 256KB), or split the event",
            line_of(document, [*where, "size"]),
        )
    if volume.peak_per_second < volume.average_per_second:
        out.add(
            domain.path,
            f"events.{name}.volume.peak_per_second",
            f"a peak of {volume.peak_per_second:g}/s is below the day's average ({volume.average_per_second:.2f}/s "
            f"from per_day: {volume.per_day})",
            f"raise peak_per_second to at least {volume.average_per_second:.2f} or lower per_day",
            line_of(document, [*where, "peak_per_second"]),
        )


def _check_consumer(
    domain: Domain, consumer: Consumer, document: Any, environments: tuple[Environment, ...], out: Collector
) -> None:
    where: list[Any] = ["consumers", consumer.name]
    ok = _bounds(consumer.slo, domain.path, [*where, "slo"], document, out)
    for name, override in sorted(consumer.slo_overrides.items()):
        ok = _bounds(override, domain.path, [*where, "environments", name, "slo"], document, out) and ok
    if not ok:
        return
    for environment in environments:
        level = consumer.slo_for(environment)
        in_override = environment.name in consumer.slo_overrides
        lag_at = [*where, "environments", environment.name, "slo"] if in_override else [*where, "slo"]
        has_queue = consumer.route.has_queue if consumer.route else consumer.delivery == "queue"
        if has_queue and consumer.delivery == "queue":
            retention = consumer.queue_for(environment).retention
            if level.max_lag >= retention:
                out.add(
                    domain.path,
                    f"consumers.{consumer.name}.slo.max_lag",
                    f"a maximum lag of {level.max_lag}s in {environment.name} is not below the queue's retention "
                    f"({retention}s): SQS drops a late message before the lag alarm could see it",
                    "lower max_lag, or raise queue.retention above it",
                    line_of(document, [*lag_at, "max_lag"]),
                )
        elif consumer.delivery == "push" and consumer.route is None and level.max_lag > consumer.push.max_event_age:
            out.add(
                domain.path,
                f"consumers.{consumer.name}.slo.max_lag",
                f"a maximum lag of {level.max_lag}s in {environment.name} is above push.max_event_age "
                f"({consumer.push.max_event_age}s): Lambda sends an older event to the DLQ, so the lag alarm "
                "could never fire",
                "lower max_lag below push.max_event_age, or raise max_event_age",
                line_of(document, [*lag_at, "max_lag"]),
            )
