"""What to watch on a domain's HTTP ingestion endpoints: server errors, the share of refused requests, and latency,
as the keyword arguments of :class:`modules.observability.AlarmPlan` (that module turns them into plans in
:func:`modules.observability.domain_alarms`, the shared plan alarms, dashboards, docs and cost read; this one
imports nothing of it, so neither imports the other back).

API Gateway publishes REST API metrics per ``ApiName`` and ``Stage`` (namespace ``AWS/ApiGateway``). Thresholds:
any 5XX (each is an event the caller sent that the bus never got); more than ``CLIENT_ERROR_PERCENT`` of requests
refused (4XX: invalid bodies, bad credentials, throttling, too large: a caller's integration broke); p99 latency
over ``LATENCY_MS`` (a PutEvents call takes tens of milliseconds).
"""

from __future__ import annotations

from typing import Any

from eventform.catalog.ingestion_model import STAGE
from eventform.catalog.model import Domain
from eventform.catalog.naming import Names

CLIENT_ERROR_PERCENT = 5.0
LATENCY_MS = 2000
NAMESPACE = "AWS/ApiGateway"


def ingestion_alarms(domain: Domain, names: Names) -> list[dict[str, Any]]:
    """Per endpoint, three alarm plans; metrics as (id, (namespace, metric, dimensions, statistic))."""
    plans: list[dict[str, Any]] = []
    for endpoint in domain.ingestion:
        api = names.ingestion_api(domain.name, endpoint.name)
        dimensions = (("ApiName", api), ("Stage", STAGE))
        plans += [
            {
                "name": names.alarm(api, "server-errors"),
                "signal": "ingestion",
                "description": f"The endpoint {api} answered 5XX: callers' events did not reach the bus (PutEvents "
                "failed or the bus refused them).",
                "threshold": 0,
                "metrics": (("m", (NAMESPACE, "5XXError", dimensions, "Sum")),),
                "unit": "requests",
            },
            {
                "name": names.alarm(api, "refused"),
                "signal": "ingestion",
                "description": f"More than {CLIENT_ERROR_PERCENT:g}% of the requests to {api} were refused (4XX: "
                "invalid bodies, credentials, throttling or size): a caller's integration is broken.",
                "threshold": CLIENT_ERROR_PERCENT,
                "metrics": (
                    ("refused", (NAMESPACE, "4XXError", dimensions, "Sum")),
                    ("requests", (NAMESPACE, "Count", dimensions, "Sum")),
                ),
                "expression": "IF(requests > 0, 100 * refused / requests, 0)",
                "label": "refused %",
                "unit": "%",
            },
            {
                "name": names.alarm(api, "latency"),
                "signal": "ingestion",
                "description": f"The p99 latency of {api} is over {LATENCY_MS} ms.",
                "threshold": LATENCY_MS,
                "metrics": (("m", (NAMESPACE, "Latency", dimensions, "p99")),),
                "unit": "ms",
            },
        ]
    return plans
