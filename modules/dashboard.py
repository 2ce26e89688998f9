"""CloudWatch dashboards, generated from the same plan as the alarms (:mod:`modules.observability`): one per domain
(paged when a domain outgrows one) and an overview per environment.

Each consumer gets a lag graph and an errors graph with its service level drawn as a horizontal line (the alarm's
threshold), DLQ depth on the right axis; a domain's page starts with what it publishes (SNS counts per topic, so
each event's declared volume is drawn as the expected rate) and the status of its consumers' composite alarms. The
body is JSON with sorted keys: the same catalog gives the same bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventform.catalog.model import Domain, Environment
from eventform.catalog.naming import Names, fit
from modules.observability import ERRORS, LAG, AlarmPlan, ConsumerWatch, Metric, delivery_stream_alarms

if TYPE_CHECKING:  # the bindings load only when a stack builds a dashboard (`eventform cost` and docs never do)
    from cdktn_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
    from constructs import Construct

# CloudWatch's limits for one dashboard: 500 widgets (DashboardBody), 2,500 metrics and 500 per graph (service
# quotas); the body size is kept well under 1 MB. A domain that needs more gets further pages (<env>-<domain>-2...).
MAX_WIDGETS = 500
MAX_METRICS = 2500
MAX_BODY_BYTES = 1_000_000
ALARMS_PER_WIDGET = 100  # an alarm status widget lists at most 100 alarms
WIDTH, HEIGHT = 12, 6


@dataclass(frozen=True)
class Page:
    name: str
    body: str  # the DashboardBody JSON
    widgets: int
    metrics: int


def body_json(widgets: list[dict[str, Any]]) -> str:
    return json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))


def _row(metric: Metric, **options: Any) -> list[Any]:
    """A dashboard metric row: namespace, name, dimension names and values, then the rendering options."""
    return [metric.namespace, metric.name, *(v for pair in metric.dimensions for v in pair), options]


def page_name(environment: Environment, domain: Domain, number: int) -> str:
    base = f"{environment.name}-{domain.name}"
    return fit(base if number == 1 else f"{base}-{number}", 255)


def _graph_metrics(plans: list[AlarmPlan], axis: str = "left") -> list[list[Any]]:
    """Dashboard metric rows for ``plans``: a plan's single metric as is, metric math as hidden inputs plus the
    expression (ids made unique per graph by a prefix)."""
    rows: list[list[Any]] = []
    for index, plan in enumerate(plans):
        prefix = f"p{index}_"
        label = plan.name
        if plan.expression is None:
            (_, metric), *_ = plan.metrics
            rows.append(_row(metric, stat=metric.stat, label=label, yAxis=axis))
            continue
        for metric_id, metric in plan.metrics:
            rows.append(_row(metric, id=prefix + metric_id, stat=metric.stat, visible=False))
        ids = re.compile(r"\b(" + "|".join(re.escape(i) for i, _ in plan.metrics) + r")\b")
        expression = ids.sub(rf"{prefix}\1", plan.expression)
        rows.append([{"expression": expression, "id": f"{prefix}result", "label": label, "yAxis": axis}])
    return rows


def _metric_count(rows: list[list[Any]]) -> int:
    return len(rows)


def _graph(title: str, rows: list[list[Any]], region: str, period: int, lines: list[tuple[str, float]]) -> dict:
    properties: dict[str, Any] = {
        "title": title[:200],
        "metrics": rows,
        "region": region,
        "period": period,
        "view": "timeSeries",
        "stacked": False,
    }
    if lines:
        properties["annotations"] = {"horizontal": [{"label": label, "value": value} for label, value in lines]}
    return {"type": "metric", "width": WIDTH, "height": HEIGHT, "properties": properties}


def consumer_widgets(watch: ConsumerWatch, environment: Environment) -> list[dict[str, Any]]:
    """Lag and errors of one consumer, each with its service level as a line."""
    consumer, region, period = watch.consumer, environment.region, environment.alarms.period
    level = consumer.slo_for(environment)
    lag = [p for p in watch.alarms if p.signal == LAG]
    errors = [p for p in watch.alarms if p.signal == ERRORS and p.unit != "messages"]
    dead = [p for p in watch.alarms if p.signal in ("dead-letters", ERRORS) and p.unit == "messages"]
    lag_lines = [(f"slo.max_lag {level.max_lag}s ({p.unit})", p.threshold) for p in lag[:1] if p.threshold]
    error_lines = [(f"slo.max_error_rate {level.max_error_percent:g}%", p.threshold) for p in errors[:1]]
    return [
        _graph(f"{consumer.qualified_name}: lag", _graph_metrics(lag), region, period, lag_lines),
        _graph(
            f"{consumer.qualified_name}: errors, DLQ depth (right)",
            _graph_metrics(errors) + _graph_metrics(dead, axis="right"),
            region,
            period,
            error_lines,
        ),
    ]


def _published(domain: Domain, environment: Environment, names: Names) -> dict[str, Any] | None:
    """Messages published on the domain's topic per minute, with the declared volumes as expected rates."""
    if domain.topic is None:
        return None
    topic = names.topic(domain.name, domain.topic.fifo)
    rows: list[list[Any]] = [["AWS/SNS", "NumberOfMessagesPublished", "TopicName", topic, {"stat": "Sum"}]]
    lines: list[tuple[str, float]] = []
    declared = [e for e in domain.events if "topic" in e.via and e.volume is not None]
    if declared:
        average = sum(e.volume.per_day for e in declared if e.volume) / 1440
        peak = sum(e.volume.peak_per_second for e in declared if e.volume) * 60
        lines = [("declared average per minute", round(average, 2)), ("declared peak per minute", round(peak, 2))]
    undeclared = len([e for e in domain.events if "topic" in e.via]) - len(declared)
    title = f"{topic}: published per minute" + (f" ({undeclared} events declare no volume)" if undeclared else "")
    return _graph(title, rows, environment.region, 60, lines)


def _alarm_status(title: str, arns: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "type": "alarm",
            "width": 24,
            "height": 3,
            "properties": {"title": title, "alarms": arns[start : start + ALARMS_PER_WIDGET]},
        }
        for start in range(0, len(arns), ALARMS_PER_WIDGET)
    ]


def _text(markdown: str, height: int = 2) -> dict[str, Any]:
    return {"type": "text", "width": 24, "height": height, "properties": {"markdown": markdown}}


def _placed(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Grid positions, left to right, top to bottom, on CloudWatch's 24 columns."""
    x = y = row_height = 0
    placed = []
    for widget in widgets:
        if x + widget["width"] > 24:
            x, y, row_height = 0, y + row_height, 0
        placed.append({**widget, "x": x, "y": y})
        x += widget["width"]
        row_height = max(row_height, widget["height"])
    return placed


def alarm_arn(environment: Environment, name: str) -> str:
    return f"arn:aws:cloudwatch:{environment.region}:{environment.account_id}:alarm:{name}"


def domain_pages(domain: Domain, environment: Environment, names: Names, watches: list[ConsumerWatch]) -> list[Page]:
    """The domain's dashboard, split into pages by CloudWatch's limits (consumers stay whole on one page)."""
    header = [
        _text(
            f"# {domain.name} ({environment.name})\nOwner: {domain.owner}. Generated by eventform from "
            f"`catalog/{domain.path.name}`: change the catalog, not this dashboard. {len(domain.events)} events, "
            f"{len(watches)} consumers; lines are the service levels (slo:) the alarms use."
        )
    ]
    published = _published(domain, environment, names)
    if published is not None:
        header.append({**published, "width": 24})
    freshness = [p for p in delivery_stream_alarms(domain, names) if p.metrics[0][1].name.endswith("DataFreshness")]
    for plan in freshness:  # Firehose: the oldest record not yet in S3, against its alarm
        title = f"{plan.metrics[0][1].dimensions[0][1]}: age of the oldest record not yet in S3 (s)"
        lines = [("alarm", plan.threshold)]
        header.append(_graph(title, _graph_metrics([plan]), environment.region, environment.alarms.period, lines))
    header += _alarm_status(
        "consumers (composite alarms)", [alarm_arn(environment, w.composite) for w in watches]
    )
    pages: list[list[dict[str, Any]]] = [list(header)]
    budget = _Budget(pages[-1])
    for watch in watches:
        widgets = consumer_widgets(watch, environment)
        if not budget.admits(widgets):
            pages.append([_text(f"# {domain.name} ({environment.name}), continued")])
            budget = _Budget(pages[-1])
        budget.take(widgets)
        pages[-1].extend(widgets)
    result = []
    for number, widgets in enumerate(pages, start=1):
        body = body_json(_placed(widgets))
        result.append(Page(page_name(environment, domain, number), body, len(widgets), _count(widgets)))
    return result


def _count(widgets: list[dict[str, Any]]) -> int:
    return sum(_metric_count(w["properties"].get("metrics", [])) for w in widgets)


class _Budget:
    """What one page has used of CloudWatch's limits, counted as widgets are added (not re-serialized)."""

    def __init__(self, widgets: list[dict[str, Any]]) -> None:
        self.widgets, self.metrics, self.size = 0, 0, len(body_json([]))
        self.take(widgets)

    @staticmethod
    def _size(widgets: list[dict[str, Any]]) -> int:
        return sum(len(body_json([w])) - len(body_json([])) + 1 + 20 for w in widgets)  # + comma, + x/y placement

    def admits(self, widgets: list[dict[str, Any]]) -> bool:
        return (
            self.widgets + len(widgets) <= MAX_WIDGETS
            and self.metrics + _count(widgets) <= MAX_METRICS
            and self.size + self._size(widgets) <= MAX_BODY_BYTES
        )

    def take(self, widgets: list[dict[str, Any]]) -> None:
        self.widgets += len(widgets)
        self.metrics += _count(widgets)
        self.size += self._size(widgets)


def _across(title: str, plans: list[AlarmPlan], scaled: bool, region: str, period: int) -> list[dict[str, Any]]:
    """One graph per up to 200 plans: the worst lag as a percentage of each consumer's own threshold (``scaled``),
    or the total of a count (DLQ depth); inputs hidden, one line drawn."""
    graphs = []
    for start in range(0, len(plans), 200):
        rows: list[list[Any]] = []
        terms = []
        for index, plan in enumerate(plans[start : start + 200]):
            (_, metric), *_ = plan.metrics
            rows.append(_row(metric, id=f"m{index}", stat=metric.stat, visible=False))
            if scaled:
                scale = f"m{index} * 100 / {plan.threshold:g}"
                rows.append([{"expression": scale, "id": f"e{index}", "visible": False}])
            terms.append(f"e{index}" if scaled else f"m{index}")
        function = "MAX" if scaled else "SUM"
        rows.append([{"expression": f"{function}([{', '.join(terms)}])", "id": "total", "label": title}])
        lines: list[tuple[str, float]] = [("slo.max_lag", 100.0)] if scaled else []
        graphs.append(_graph(title, rows, region, period, lines))
    return graphs


def overview_pages(environment: Environment, domains: list[tuple[Domain, list[ConsumerWatch], int]]) -> list[Page]:
    """Per environment: for each domain, links to its pages, the worst consumer lag as a share of its own
    service level (100% = an alarm), and the messages waiting in its consumers' DLQs; paged like the domains'
    (``<env>_overview``, ``<env>_overview-2``...). Only metrics and text: the overview lives in the platform stack,
    applied before the domains' alarms exist."""
    region, period = environment.region, environment.alarms.period
    pages: list[list[dict[str, Any]]] = [
        [
            _text(
                f"# eventform {environment.name}\nOne dashboard per domain (lag and errors of every consumer against "
                "its service level); generated from the catalog, do not edit."
            )
        ]
    ]
    budget = _Budget(pages[-1])
    for domain, watches, page_count in domains:
        links = " ".join(
            f"[{name}](#dashboards:name={name})"
            for name in (page_name(environment, domain, n) for n in range(1, page_count + 1))
        )
        widgets = [_text(f"## {domain.name}\n{links}", height=2)]
        lag = [p for w in watches for p in w.alarms if p.signal == LAG and p.expression is None and p.threshold]
        dead = [p for w in watches for p in w.alarms if p.unit == "messages"]
        if lag:
            widgets += _across(f"{domain.name}: worst consumer lag, % of its slo.max_lag", lag, True, region, period)
        if dead:
            widgets += _across(f"{domain.name}: messages in consumer DLQs", dead, False, region, period)
        if not budget.admits(widgets):
            pages.append([_text(f"# eventform {environment.name}, continued")])
            budget = _Budget(pages[-1])
        budget.take(widgets)
        pages[-1].extend(widgets)
    return [
        Page(
            f"{environment.name}_overview" + ("" if number == 1 else f"-{number}"),
            body_json(_placed(widgets)),
            len(widgets),
            _count(widgets),
        )
        for number, widgets in enumerate(pages, start=1)
    ]


def dashboard(scope: Construct, id: str, *, page: Page, depends_on: list[Any] | None = None) -> CloudwatchDashboard:
    from cdktn_provider_aws.cloudwatch_dashboard import CloudwatchDashboard

    return CloudwatchDashboard(scope, id, dashboard_name=page.name, dashboard_body=page.body, depends_on=depends_on)
