"""Loading and checking S3 event notifications: a domain's buckets and the consumers of their object events.

A consumer takes either catalog events (``events:``) or one bucket's object events (``objects:``). The object
events travel one of three paths, chosen by the consumer's ``via:``:

- none: S3's own notification straight to the consumer's queue (or its function, ``delivery: push``). S3 refuses
  two notifications of a bucket that could both fire for one object, so overlapping ones are a load error;
- ``topic``: S3 notifies the bucket's SNS topic once, and every ``via: topic`` consumer subscribes (fan-out);
- ``bus``: the bucket sends everything to EventBridge's default bus and each consumer has its own rule (any
  number of consumers, from any domain, with patterns and targets like every other bus consumer).
"""

from __future__ import annotations

from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

from eventform.catalog.model import OBJECT_EVENTS, Bucket, Catalog, Consumer, Domain, ObjectPath, ObjectSource
from eventform.catalog.parsing import Collector, line_of, refuse_keys

KEY_WILDCARD = "*"


def build_buckets(path: Path, document: Any, data: dict[str, Any], out: Collector) -> tuple[Bucket, ...]:
    return tuple(
        Bucket(
            domain=data["domain"],
            name=name,
            description=spec["description"],
            versioning=spec.get("versioning", True),
        )
        for name, spec in sorted(data.get("buckets", {}).items())
    )


def build_objects(
    path: Path, document: Any, domain: str, name: str, spec: dict[str, Any], out: Collector
) -> ObjectSource | None:
    """The consumer's object source, or None (a consumer of catalog events, or on error)."""
    where, location = ["consumers", name], f"consumers.{name}"
    sources = [key for key in ("events", "objects", "stream", "table") if key in spec]
    if len(sources) != 1:
        out.add(
            path,
            location,
            "a consumer takes catalog events, a bucket's object events or a stream's records"
            + (f", not {' and '.join(sources)} together" if sources else ", and this one names none of them"),
            "keep one of `events: [<domain>/<event>]`, `objects: {bucket: ..., events: [...]}`, "
            "`stream: {name: ...}` and `table: {name: ..., events: {...}}`",
            line_of(document, where),
        )
        return None
    objects = spec.get("objects")
    if objects is None:
        return None
    ok = refuse_keys(
        out,
        path,
        document,
        where,
        spec,
        ("filter", "filter_scope"),
        "{key} is an SNS filter policy on catalog events; object events are filtered by key",
        "use objects.prefix / objects.suffix (and a pattern: with via: bus for anything else)",
    )
    for key in ("prefix", "suffix"):
        if KEY_WILDCARD in objects.get(key, ""):
            out.add(
                path,
                f"{location}.objects.{key}",
                f"S3 key filters are literal: {objects[key]!r} would match only keys containing '*'",
                f"drop the '*': a {key} already matches every key that {'starts' if key == 'prefix' else 'ends'} "
                "with it",
                line_of(document, [*where, "objects", key]),
            )
            ok = False
    via = spec.get("via")
    source_domain, _, bucket = objects["bucket"].rpartition("/")
    path_kind: ObjectPath = "bus" if via == "bus" else "topic" if via == "topic" else "notification"
    if not ok:
        return None
    return ObjectSource(
        domain=source_domain or domain,
        bucket=bucket,
        events=tuple(objects["events"]),
        prefix=objects.get("prefix", ""),
        suffix=objects.get("suffix", ""),
        path=path_kind,
    )


def check_catalog(catalog: Catalog, documents: dict[Path, Any], out: Collector) -> None:
    """Cross-file checks: the bucket exists, paths fit the destination, S3 accepts the bucket's notifications."""
    buckets = {b.qualified_name: b for d in catalog.domains for b in d.buckets}
    for domain in catalog.domains:
        document = documents[domain.path]
        for consumer in domain.consumers:
            if consumer.objects is not None:
                _check_consumer(catalog, domain, consumer, buckets, document, out)
        for bucket in domain.buckets:
            _check_bucket(catalog, domain, bucket, document, out)
            archived = any(s.bucket == bucket.name for s in domain.delivery_streams)  # Firehose writes to it
            if not catalog.bucket_consumers(domain.name, bucket.name) and not archived:
                out.add(
                    domain.path,
                    f"buckets.{bucket.name}",
                    f"bucket {bucket.name!r} has no consumer of its object events",
                    "add a consumer with `objects: {bucket: " + bucket.name + ", events: [created]}`, deliver a "
                    "delivery stream to it, or remove the bucket (eventform declares buckets for their events)",
                    line_of(document, ["buckets", bucket.name]),
                )


def _check_consumer(
    catalog: Catalog,
    domain: Domain,
    consumer: Consumer,
    buckets: dict[str, Bucket],
    document: Any,
    out: Collector,
) -> None:
    objects = consumer.objects
    assert objects is not None
    where, location = ["consumers", consumer.name], f"consumers.{consumer.name}"
    if objects.qualified_bucket not in buckets:
        known = ", ".join(sorted(buckets)) or "none yet"
        out.add(
            domain.path,
            f"{location}.objects.bucket",
            f"unknown bucket {objects.qualified_bucket!r}",
            f"declare it under `buckets:` of catalog/{objects.domain}.yaml, or use one of: {known}",
            line_of(document, [*where, "objects", "bucket"]),
        )
        return
    if objects.domain != consumer.domain and objects.path != "bus":
        out.add(
            domain.path,
            f"{location}.objects.bucket",
            f"{objects.qualified_bucket} belongs to the {objects.domain} domain; only its own domain's consumers "
            "are notified by S3 or its topic (the bucket's stack holds the one notification configuration)",
            "add `via: bus`: the bucket's events reach any domain through EventBridge's default bus",
            line_of(document, [*where, "objects", "bucket"]),
        )
    if objects.path == "bus":
        unsupported = [e for e in objects.events if OBJECT_EVENTS[e].detail_types is None]
        if unsupported:
            out.add(
                domain.path,
                f"{location}.objects.events",
                f"S3 does not send {', '.join(unsupported)} events to EventBridge",
                "take them without `via: bus` (S3's own notification) or drop them",
                line_of(document, [*where, "objects", "events"]),
            )
    if objects.path == "bus" and consumer.route is not None and consumer.route.pattern:
        try:
            object_pattern(objects, objects.bucket, consumer.route.pattern)
        except ValueError as clash:
            out.add(
                domain.path,
                f"{location}.pattern.{clash}",
                f"{clash} is generated from objects: (bucket, events, prefix, suffix); the pattern may not set it",
                "state it in objects: and keep other conditions (e.g. detail.object.size) in pattern:",
                line_of(document, [*where, "pattern"]),
            )
    if objects.path == "topic" and consumer.delivery == "push":
        out.add(
            domain.path,
            f"{location}.delivery",
            "the bucket's topic delivers to queues; a pushed function takes S3's notification directly",
            "remove `via: topic` (S3 then invokes the function itself) or use delivery: queue",
            line_of(document, [*where, "delivery"]),
        )


def _check_bucket(catalog: Catalog, domain: Domain, bucket: Bucket, document: Any, out: Collector) -> None:
    """S3's rules for one bucket's notification configuration, checked before S3 refuses it at apply time."""
    consumers = catalog.bucket_consumers(domain.name, bucket.name)
    direct = [c for c in consumers if c.objects and c.objects.path == "notification"]
    fanned = [c for c in consumers if c.objects and c.objects.path == "topic"]
    for first, second in pairwise(fanned):
        a, b = first.objects, second.objects
        assert a is not None and b is not None
        if (a.events, a.prefix, a.suffix) != (b.events, b.prefix, b.suffix):
            out.add(
                domain.path,
                f"consumers.{second.name}.objects",
                f"the bucket's topic carries one selection of object events, but {first.name} and {second.name} "
                "ask for different ones",
                f"give every `via: topic` consumer of {bucket.name} the same events/prefix/suffix, or use "
                "`via: bus` (one rule per consumer)",
                line_of(document, ["consumers", second.name, "objects"]),
            )
    notified = [(c.name, c.objects) for c in direct]
    if fanned:
        notified.append((f"the {bucket.name} topic (via {fanned[0].name})", fanned[0].objects))
    for (first_name, a), (second_name, b) in combinations(notified, 2):
        assert a is not None and b is not None
        if a.overlaps(b):
            out.add(
                domain.path,
                f"buckets.{bucket.name}",
                f"S3 would refuse the notifications of {bucket.name}: {first_name} and {second_name} share an event "
                "type "
                "and their key filters overlap (one object could fire both)",
                "make the prefixes or suffixes disjoint, share one topic (`via: topic` on both), or use "
                "`via: bus` (EventBridge lets any number of rules see the same object)",
                line_of(document, ["buckets", bucket.name]),
            )


def object_pattern(source: ObjectSource, bucket_name: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The default-bus rule pattern of a ``via: bus`` consumer: S3's events of this bucket, these types and keys,
    and the consumer's own conditions (e.g. on ``detail.object.size``). Key filters hold no '*' (checked at load),
    so prefix and suffix together are one wildcard."""
    detail: dict[str, Any] = {"bucket": {"name": [bucket_name]}}
    if source.prefix and source.suffix:
        detail["object"] = {"key": [{"wildcard": f"{source.prefix}*{source.suffix}"}]}
    elif source.prefix:
        detail["object"] = {"key": [{"prefix": source.prefix}]}
    elif source.suffix:
        detail["object"] = {"key": [{"suffix": source.suffix}]}
    pattern = {"source": ["aws.s3"], "detail-type": list(source.detail_types), "detail": detail}
    return merge_pattern(pattern, extra) if extra else pattern


def merge_pattern(generated: dict[str, Any], extra: dict[str, Any], at: str = "") -> dict[str, Any]:
    """``generated`` with the consumer's conditions added; a field both set is an error (ValueError names it)."""
    merged = dict(generated)
    for key, value in extra.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = merge_pattern(merged[key], value, f"{at}{key}.")
        else:
            raise ValueError(f"{at}{key}")
    return merged
