"""``eventform docs``: the catalog as Markdown and as a static HTML site, from the same source of truth.

Markdown pages are rendered from jinja2 templates (``eventform/authoring/templates/docs/``); the HTML site is the same
Markdown converted with markdown-it (raw HTML in catalog text is escaped) inside one layout, with ``.md`` links
rewritten to ``.html`` and mermaid diagrams rendered client-side by the mermaid.js the project installs from npm (no
CDN). The site is built in a temporary directory and swapped into place, so a failed build leaves the previous site
intact.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment as Jinja
from jinja2 import PackageLoader, StrictUndefined
from markdown_it import MarkdownIt

from eventform.authoring import asyncapi
from eventform.catalog.model import Catalog, Consumer, Domain, Environment, Event
from eventform.catalog.naming import Names
from eventform.synthesis import toolchain
from eventform.synthesis.lock import output_lock

MERMAID = Path("node_modules/mermaid/dist/mermaid.min.js")


class DocsError(Exception):
    """The site cannot be built (e.g. mermaid.js is not installed)."""


@dataclass(frozen=True)
class DocsResult:
    out: Path
    pages: int
    seconds: float


# ------------------------------------------------------------------------------------------------------------
# Facts the templates show
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    path: str
    type: str
    required: bool
    description: str
    constraints: str
    pii: bool


def _type_of(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "enum"
    if "const" in schema:
        return "const"
    declared = schema.get("type", "any")
    if declared == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_type_of(schema['items'])}"
    return declared if isinstance(declared, str) else " | ".join(declared)


def _constraints(schema: dict[str, Any]) -> str:
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"]))
    if "const" in schema:
        parts.append(f"`{json.dumps(schema['const'])}`")
    for key in ("format", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
        if key in schema:
            parts.append(f"{key} `{schema[key]}`")
    return "; ".join(parts)


def schema_fields(schema: dict[str, Any], pii: tuple[str, ...] = (), prefix: str = "") -> list[Field]:
    """Flatten a payload schema into table rows: nested objects as ``a.b``, array items as ``a[].b``."""
    rows: list[Field] = []
    required = set(schema.get("required", []))
    for name, spec in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        plain_path = path.replace("[]", "")
        rows.append(
            Field(
                path=path,
                type=_type_of(spec),
                required=name in required,
                description=spec.get("description", ""),
                constraints=_constraints(spec),
                pii=plain_path in pii,
            )
        )
        if spec.get("type") == "object":
            rows.extend(schema_fields(spec, pii, f"{path}."))
        elif spec.get("type") == "array" and isinstance(spec.get("items"), dict):
            rows.extend(schema_fields(spec["items"], pii, f"{path}[]."))
    return rows


@dataclass(frozen=True)
class QueueInfo:
    environment: str
    queue: str
    dlq: str
    dlq_alarm: str
    age_alarm: str
    max_receive_count: int
    visibility_timeout: int
    retention: int
    topics: tuple[str, ...]
    function: str | None
    role: str | None
    log_group: str | None


def queue_info(catalog: Catalog, consumer: Consumer, environment: Environment) -> QueueInfo:
    """The names eventform gives this consumer's resources in ``environment`` (same rules as the stacks)."""
    names = Names(env=environment.name, region=environment.region, account_id=environment.account_id)
    queue = names.queue(consumer.domain, consumer.name, consumer.fifo)
    dlq = names.dlq(consumer.domain, consumer.name, consumer.fifo)
    settings = consumer.queue_for(environment)
    topics = tuple(
        names.topic(source, bool(catalog.domain(source).topic and catalog.domain(source).topic.fifo))
        for source in consumer.source_domains()
    )
    return QueueInfo(
        environment=environment.name,
        queue=queue,
        dlq=dlq,
        dlq_alarm=names.alarm(dlq, "visible-messages"),
        age_alarm=names.alarm(queue, "oldest-message-age"),
        max_receive_count=settings.max_receive_count,
        visibility_timeout=settings.visibility_timeout,
        retention=settings.retention,
        topics=topics,
        function=names.function(consumer.domain, consumer.name) if consumer.handler else None,
        role=names.role(consumer.domain, consumer.name) if consumer.handler else None,
        log_group=names.log_group(names.function(consumer.domain, consumer.name)) if consumer.handler else None,
    )


def producers(catalog: Catalog, event: Event) -> tuple[Consumer, ...]:
    """Consumers whose handler publishes ``event`` (``emits:``), besides the owning domain's services."""
    return tuple(c for c in catalog.consumers if event.qualified_name in c.emits)


def function_rows(consumer: Consumer) -> list[tuple[str, str]]:
    """The Lambda settings of a consumer's handler as (setting, value) rows; defaults included, so nothing hides."""
    settings = consumer.function
    rows = [
        ("memory", f"{settings.memory} MB"),
        ("timeout", _duration(settings.timeout)),
        ("batch size", str(settings.batch_size)),
        ("batching window", _duration(settings.batching_window)),
        ("maximum concurrency", str(settings.max_concurrency or "-")),
        ("reserved concurrency", str(settings.reserved_concurrency or "-")),
    ]
    for label, values in (
        ("tables", settings.tables),
        ("parameters", settings.parameters),
        ("secrets", settings.secrets),
    ):
        rows.append((label, ", ".join(f"`{v}`" for v in values) or "-"))
    rows.append(("environment", ", ".join(f"`{k}={v}`" for k, v in settings.environment) or "-"))
    return rows


def _node(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


DETAIL_LIMIT = 80  # consumers: above this the index shows domains, not consumers (mermaid's edge/text limits)


def domain_topology(catalog: Catalog) -> str:
    """Mermaid flowchart topic -> consuming domain, one edge per pair labelled with counts: the whole picture of a
    large catalog stays readable and within mermaid's limits; the domain pages keep the per-consumer detail."""
    lines = ["flowchart LR"]
    for domain in catalog.domains:
        label = f"{domain.name} ({domain.owner})"
        if domain.topic is not None:
            lines.append(f'  {_node("topic_" + domain.name)}[["{label}: {len(domain.events)} events"]]')
        if domain.consumers:
            lines.append(f'  {_node("consumers_" + domain.name)}("{label}: {len(domain.consumers)} consumers")')
    reads: dict[tuple[str, str], set[str]] = {}  # (source domain, consuming domain) -> consumers
    emits: dict[tuple[str, str], set[str]] = {}  # (emitting domain, target domain) -> consumers
    for consumer in catalog.consumers:
        for source in consumer.source_domains():
            reads.setdefault((source, consumer.domain), set()).add(consumer.name)
        for qualified in consumer.emits:
            emits.setdefault((consumer.domain, qualified.split("/", 1)[0]), set()).add(consumer.name)
    for (source, target), names in sorted(reads.items()):
        lines.append(f'  {_node("topic_" + source)} -->|"{len(names)} consumers"| {_node("consumers_" + target)}')
    for (source, target), names in sorted(emits.items()):
        lines.append(f'  {_node("consumers_" + source)} -.->|"{len(names)} emit"| {_node("topic_" + target)}')
    return "\n".join(lines) + "\n"


def topology(catalog: Catalog, focus: str | None = None) -> str:
    """Mermaid flowchart producers -> topics -> consumers (only what touches ``focus`` when given)."""
    if focus is None and len(catalog.consumers) > DETAIL_LIMIT:
        return domain_topology(catalog)
    lines = ["flowchart LR"]
    published: list[str] = []  # producer -> topic, in domain order
    edges: list[str] = []  # topic -> consumer and consumer -.-> topic (emits), in consumer order
    shown: set[str] = set()
    for consumer in catalog.consumers:
        for source in consumer.source_domains():
            if focus and focus not in (source, consumer.domain):
                continue
            types = ", ".join(consumer.events_from(source))
            edges.append(f'  {_node("topic_" + source)} -->|"{types}"| {_node("consumer_" + consumer.qualified_name)}')
            shown.update({source, consumer.domain})
    for consumer in catalog.consumers:
        objects = consumer.objects
        if objects and not (focus and focus not in (objects.domain, consumer.domain)):
            bucket = _node("bucket_" + objects.qualified_bucket)
            kinds = ", ".join(objects.events)
            edges.append(
                f'  {bucket}[("bucket {objects.qualified_bucket}")] -->|"{kinds}"| '
                f"{_node('consumer_' + consumer.qualified_name)}"
            )
            shown.update({objects.domain, consumer.domain})
    for consumer in catalog.consumers:
        for qualified in consumer.emits:
            target = qualified.split("/", 1)[0]
            if focus and focus not in (target, consumer.domain):
                continue
            edges.append(
                f'  {_node("consumer_" + consumer.qualified_name)} -.->|"{qualified.split("/", 1)[1]}"| '
                f"{_node('topic_' + target)}"
            )
            shown.update({target, consumer.domain})
    for domain in catalog.domains:
        if focus and domain.name != focus and domain.name not in shown:
            continue
        fifo = bool(domain.topic and domain.topic.fifo)
        lines.append(f'  subgraph {_node("domain_" + domain.name)}["{domain.name} ({domain.owner})"]')
        if domain.topic is not None:
            lines.append(f'    {_node("producer_" + domain.name)}(["{domain.name} producers"])')
            topic_label = "{env}-" + f"{domain.name}-events{'.fifo' if fifo else ''}"
            lines.append(f'    {_node("topic_" + domain.name)}[["SNS {topic_label}"]]')
        for consumer in domain.consumers:
            lines.append(f'    {_node("consumer_" + consumer.qualified_name)}("{consumer.name}")')
        lines.append("  end")
        if domain.topic is not None:
            events = ", ".join(e.name for e in domain.events) or "no events yet"
            published.append(f'  {_node("producer_" + domain.name)} -->|"{events}"| {_node("topic_" + domain.name)}')
    return "\n".join(lines + published + list(dict.fromkeys(edges))) + "\n"


# ------------------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    """A Markdown table cell: pipes escaped, on one line."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _templates() -> Jinja:
    jinja = Jinja(
        loader=PackageLoader("eventform.authoring", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown; HTML escaping happens in markdown-it
    )
    jinja.filters["cell"] = _cell
    jinja.filters["duration"] = _duration
    jinja.filters["tojson_compact"] = lambda value: json.dumps(value, sort_keys=True)
    jinja.filters["pretty_json"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)
    return jinja


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    default_link = md.renderer.rules.get("link_open")
    default_fence = md.renderer.rules["fence"]

    def link_open(tokens, index, options, env):
        href = tokens[index].attrGet("href") or ""
        if not re.match(r"^[a-z]+:", href):
            tokens[index].attrSet("href", re.sub(r"\.md(#|$)", r".html\1", href))
        if default_link:
            return default_link(tokens, index, options, env)
        return md.renderer.renderToken(tokens, index, options, env)

    def fence(tokens, index, options, env):
        token = tokens[index]
        if token.info.strip() == "mermaid":
            return f'<pre class="mermaid">{md.utils.escapeHtml(token.content)}</pre>\n'  # type: ignore[attr-defined]
        return default_fence(tokens, index, options, env)

    md.renderer.rules["link_open"] = link_open
    md.renderer.rules["fence"] = fence
    return md


@dataclass(frozen=True)
class Page:
    path: str  # relative, without suffix: "events/orders/order.created"
    title: str
    template: str
    context: dict[str, Any]


def event_path(event: Event) -> str:
    return f"events/{event.domain}/{event.name}"


def consumer_path(consumer: Consumer) -> str:
    return f"consumers/{consumer.domain}/{consumer.name}"


def domain_path(domain: Domain) -> str:
    return f"domains/{domain.name}"


def pages(catalog: Catalog, environments: tuple[Environment, ...]) -> list[Page]:
    """Every page of the site, in a stable order."""
    result = [Page("index", "Event catalog", "index.md.j2", {"topology": topology(catalog)})]
    for domain in catalog.domains:
        result.append(
            Page(
                domain_path(domain),
                f"Domain {domain.name}",
                "domain.md.j2",
                {"domain": domain, "topology": topology(catalog, domain.name)},
            )
        )
        for event in domain.events:
            versions = [
                {
                    "version": v,
                    "fields": schema_fields(v.schema, event.pii),
                    "schema_file": str(v.schema_path.relative_to(catalog.root.parent))
                    if v.schema_path.is_relative_to(catalog.root.parent)
                    else v.schema_path.name,
                }
                for v in reversed(event.versions)
            ]
            result.append(
                Page(
                    event_path(event),
                    f"Event {event.qualified_name}",
                    "event.md.j2",
                    {
                        "event": event,
                        "domain": domain,
                        "versions": versions,
                        "consumers": catalog.consumers_of(event.qualified_name),
                        "emitted_by": producers(catalog, event),
                    },
                )
            )
        for consumer in domain.consumers:
            result.append(
                Page(
                    consumer_path(consumer),
                    f"Consumer {consumer.qualified_name}",
                    "consumer.md.j2",
                    {
                        "consumer": consumer,
                        "domain": domain,
                        "events": [catalog.event(q) for q in consumer.events],
                        "emits": [catalog.event(q) for q in consumer.emits],
                        "function_rows": function_rows(consumer),
                        "queues": [queue_info(catalog, consumer, e) for e in environments],
                    },
                )
            )
    return result


def _relative_link(from_page: str, to_page: str) -> str:
    depth = from_page.count("/")
    return "../" * depth + to_page + ".md"


MARKER = ".eventform-site"


def check_out(out: Path, project: Path) -> None:
    """Refuse an output folder whose replacement would destroy something that is not a previous site."""
    project = project.resolve()
    if out == project or out in project.parents:
        raise DocsError(
            f"--out {out}: the site folder would contain the project at {project}; "
            "fix: choose a folder of its own, e.g. --out site"
        )
    if out.exists() and not out.is_dir():
        raise DocsError(f"--out {out}: is a file; fix: remove it or choose another folder, e.g. --out site")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise DocsError(
            f"--out {out}: the folder exists, is not empty and was not written by eventform docs "
            f"(no {MARKER}); the build replaces the whole folder. fix: choose an empty or new folder, "
            "e.g. --out site"
        )


def build(catalog: Catalog, environments: tuple[Environment, ...], out: Path, root: Path | None = None) -> DocsResult:
    """Write ``out/**/*.md`` and ``out/**/*.html`` (+ assets and AsyncAPI documents); return the page count.

    The site is built in a staging folder beside ``out`` and swapped into place under ``out``'s lock."""
    started = time.perf_counter()
    mermaid = (root or toolchain.project_root()) / MERMAID
    if not mermaid.is_file():
        mermaid = toolchain.project_root() / MERMAID
    if not mermaid.is_file():
        raise DocsError(f"{MERMAID} is missing: run `make setup` (npm ci installs mermaid)")
    all_pages = pages(catalog, environments)
    out = out.resolve()
    check_out(out, catalog.root.parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out, "docs"):
        _recover(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.docs-", dir=out.parent))
        try:
            _write_site(all_pages, catalog, environments, staging, mermaid)
            _swap(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return DocsResult(out=out, pages=len(all_pages), seconds=time.perf_counter() - started)


def _recover(out: Path) -> None:
    """Under the lock, whatever a killed build left is stale: its staging folders go, and a site it had retired
    but not replaced (``.<out>.old``) comes back."""
    for leftover in out.parent.glob(f".{out.name}.docs-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    retired = out.with_name(f".{out.name}.old")
    if retired.is_dir() and not out.exists():
        retired.rename(out)
    shutil.rmtree(retired, ignore_errors=True)


def _swap(staging: Path, out: Path) -> None:
    retired = out.with_name(f".{out.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if out.exists():
        out.rename(retired)
    staging.rename(out)
    shutil.rmtree(retired, ignore_errors=True)


def _write_site(
    all_pages: list[Page], catalog: Catalog, environments: tuple[Environment, ...], staging: Path, mermaid: Path
) -> None:
    """Render every page (Markdown + HTML), the assets and the AsyncAPI documents into ``staging``."""
    jinja = _templates()
    md = _markdown()
    layout = jinja.get_template("docs/layout.html.j2")
    for page in all_pages:

        def link(target: str, page: Page = page) -> str:
            return _relative_link(page.path, target)

        markdown = jinja.get_template(f"docs/{page.template}").render(
            catalog=catalog,
            environments=environments,
            link=link,
            event_path=event_path,
            consumer_path=consumer_path,
            domain_path=domain_path,
            **page.context,
        )
        base = "../" * page.path.count("/")
        html = layout.render(
            title=page.title,
            body=md.render(markdown),
            base=base,
            has_diagram="```mermaid" in markdown,
            catalog=catalog,
        )
        target = staging / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / f"{target.name}.md").write_text(markdown, encoding="utf-8")
        (target.parent / f"{target.name}.html").write_text(html, encoding="utf-8")
    assets = staging / "assets"
    assets.mkdir()
    shutil.copyfile(mermaid, assets / "mermaid.min.js")
    shutil.copyfile(Path(__file__).parent / "templates/docs/style.css", assets / "style.css")
    asyncapi.export(catalog, staging / "asyncapi")
    (staging / MARKER).write_text("generated by eventform docs: this whole folder is replaced on every build\n")


__all__ = [
    "DocsError",
    "DocsResult",
    "build",
    "check_out",
    "function_rows",
    "pages",
    "producers",
    "queue_info",
    "schema_fields",
    "topology",
]
