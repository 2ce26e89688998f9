"""The mapping templates (Velocity) of an ingestion endpoint: what turns a validated request body into a PutEvents
call carrying the CloudEvents envelope the publisher builds, and PutEvents' answer into the caller's response.

Only references API Gateway documents for REST API mapping templates are used (``$context.requestId``,
``$context.requestTime``, ``$input.params``, ``$input.json``, ``$input.path``, ``$util.escapeJavaScript``), so the
local rehearsal can render the deployed template with the same variables (:mod:`eventform.local.ingestion_runner`).
Envelope (see :func:`eventform.runtime.envelope.build`): ``id`` = API Gateway's request id, ``time`` = the request
time in RFC 3339 (UTC, seconds), ``source``/``type``/``dataversion``/``dataschema`` from the catalog,
``correlationid`` = the caller's ``X-Correlation-Id`` header, else the request id, ``data`` = the body.
"""

from __future__ import annotations

import json

from eventform.catalog.ingestion_model import CONTENT_TYPE, CORRELATION_HEADER, SPEC_VERSION

# $context.requestTime is "dd/MMM/yyyy:HH:mm:ss +0000": the month's number comes from this map.
MONTHS = ", ".join(
    f'"{m}": "{n:02d}"'
    for n, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
)
# escapeJavaScript escapes ' as \' (not JSON): AWS's documented fix is replacing it back.
UNESCAPE_QUOTE = """.replaceAll("\\\\'", "'")"""
EVENTS_TARGET = "AWSEvents.PutEvents"
EVENTS_CONTENT_TYPE = "application/x-amz-json-1.1"


def _inner(text: str) -> str:
    """A constant as it appears inside the Detail string: JSON-escaped twice (Detail is JSON inside JSON)."""
    return json.dumps(json.dumps(text)[1:-1])[1:-1]


def put_events_template(*, bus: str, source: str, event: str, version: int, dataschema: str) -> str:
    """The integration request template of ``POST /events/<event>``: one PutEvents entry on ``bus``."""
    detail = (
        "{"
        + ",".join(
            (
                f'\\"specversion\\":\\"{SPEC_VERSION}\\"',
                '\\"id\\":\\"$context.requestId\\"',
                f'\\"source\\":\\"{_inner(source)}\\"',
                f'\\"type\\":\\"{_inner(event)}\\"',
                f'\\"dataversion\\":{int(version)}',
                '\\"time\\":\\"$time\\"',
                '\\"correlationid\\":\\"$correlation\\"',
                f'\\"datacontenttype\\":\\"{CONTENT_TYPE}\\"',
                f'\\"dataschema\\":\\"{_inner(dataschema)}\\"',
                '\\"data\\":$data',
            )
        )
        + "}"
    )
    entry = (
        f'{{"EventBusName": {json.dumps(bus)}, "Source": {json.dumps(source)}, '
        f'"DetailType": {json.dumps(event)}, "Detail": "{detail}"}}'
    )
    return "\n".join(
        (
            f"#set($correlation = $input.params('{CORRELATION_HEADER}'))",
            '#if("$correlation" == "")#set($correlation = $context.requestId)#end',
            f"#set($correlation = $util.escapeJavaScript($correlation){UNESCAPE_QUOTE})",
            f"#set($correlation = $util.escapeJavaScript($correlation){UNESCAPE_QUOTE})",
            f"#set($data = $util.escapeJavaScript($input.json('$')){UNESCAPE_QUOTE})",
            "#set($at = $context.requestTime)",
            f"#set($months = {{{MONTHS}}})",
            # no formal references (${...}): Terraform would read them as its own interpolation
            '#set($time = "$at.substring(7, 11)-$months.get($at.substring(3, 6))-$at.substring(0, 2)T'
            '$at.substring(12, 20)Z")',
            f'{{"Entries": [{entry}]}}',
        )
    )


def accepted_template() -> str:
    """The integration response for PutEvents' 200: 202 with the event id, or 502 when the bus refused the entry
    (PutEvents answers 200 with FailedEntryCount for a refused entry)."""
    return "\n".join(
        (
            "#set($failed = $input.path('$.FailedEntryCount'))",
            "#if($failed > 0)",
            "#set($context.responseOverride.status = 502)",
            '{"message": "the bus did not accept the event", "id": "$context.requestId"}',
            "#else",
            '{"id": "$context.requestId"}',
            "#end",
        )
    )


def failed_template() -> str:
    """The integration response for an error of PutEvents itself (throttled, denied): 500, the id to look up."""
    return '{"message": "the event could not be put on the bus", "id": "$context.requestId"}'


# The stage's access log line (JSON): who called, what, how it ended, and why it was refused.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "sourceIp": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "userArn": "$context.identity.userArn",
        "clientId": "$context.authorizer.claims.client_id",
        "integrationStatus": "$context.integration.status",
        "integrationLatency": "$context.integration.latency",
        "error": "$context.error.message",
        "validationError": "$context.error.validationErrorString",
        "wafStatus": "$context.waf.status",
        "xrayTraceId": "$context.xrayTraceId",
    },
    sort_keys=True,
    separators=(",", ":"),
)
