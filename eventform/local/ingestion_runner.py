"""Plays API Gateway for the catalog's HTTP ingestion endpoints on the embedded AWS.

moto (5.2) stores a REST API, its models, validators, methods and integrations, but its AWS integrations call
DynamoDB only: no mapping template is rendered and no other service is reached. So the rehearsal does what API
Gateway does, from what is *deployed* (read back with the API Gateway API, never from the catalog): the method's
request validator and model validate the body (JSON Schema draft 4, as API Gateway), the integration's request
template is rendered with Velocity (airspeed, the renderer LocalStack uses) with the variables API Gateway sets, and
the rendered request is sent as the integration's action (``action/PutEvents``) to the embedded EventBridge, whose
rules then deliver to the bus consumers as they would in AWS. Only the body size limit comes from the catalog: the
web ACL that enforces it in AWS is not created locally (moto runs no WAF).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from jsonschema import Draft4Validator

from eventform.catalog.ingestion_model import Ingestion
from eventform.catalog.naming import Names
from eventform.local.embedded import LocalError

JSON = "application/json"
ACTIONS = {"PutEvents": "put_events"}  # integration actions the rehearsal can play, as the events client's methods
REQUEST_TIME = "%d/%b/%Y:%H:%M:%S +0000"  # $context.requestTime


@dataclass(frozen=True)
class DeployedMethod:
    """``POST /events/<event>`` as the embedded AWS holds it."""

    path: str
    authorization: str
    validates_body: bool
    model: dict[str, Any] | None
    template: str
    action: str


@dataclass
class Answer:
    """What the caller gets back, and what API Gateway sent on (the PutEvents entry)."""

    status: int
    body: dict[str, Any]
    entry: dict[str, Any] | None = None
    event_id: str | None = None  # EventBridge's id of the put event


class _Input:
    """``$input`` of a mapping template: the request's headers and JSON body."""

    def __init__(self, body: str, headers: dict[str, str]) -> None:
        self._body, self._headers = body, {k.lower(): v for k, v in headers.items()}

    def params(self, name: str) -> str:
        return self._headers.get(name.lower(), "")

    def json(self, path: str) -> str:
        if path != "$":
            raise LocalError(f"the rehearsal renders $input.json('$') only, not {path!r}")
        return json.dumps(json.loads(self._body))

    def path(self, path: str) -> Any:
        node: Any = json.loads(self._body)
        for part in path.removeprefix("$").split(".")[1:]:
            node = node.get(part) if isinstance(node, dict) else None
        return node


class _Util:
    """``$util``: escapeJavaScript as API Gateway's (JSON string escaping, and ' as \\')."""

    @staticmethod
    def escapeJavaScript(value: Any) -> str:
        return json.dumps(str(value))[1:-1].replace("'", "\\'")


def render(template: str, *, body: str, headers: dict[str, str], request_id: str, request_time: datetime) -> str:
    """A REST API mapping template rendered with the variables API Gateway sets for it."""
    try:
        import airspeed
    except ImportError as missing:  # a dependency of the project (pyproject); never skipped silently
        raise LocalError("rendering API Gateway mapping templates needs airspeed-ext: `make setup`") from missing
    context = {"requestId": request_id, "requestTime": request_time.strftime(REQUEST_TIME), "responseOverride": {}}
    return str(airspeed.Template(template).merge({"context": context, "input": _Input(body, headers), "util": _Util()}))


class Gateway:
    """The deployed ingestion endpoints of one environment; ``post`` plays one request through one of them."""

    def __init__(self, apigateway: Any, events: Any, names: Names) -> None:
        self.apigateway, self.events, self.names = apigateway, events, names
        self._methods: dict[tuple[str, str], DeployedMethod] = {}

    def _api_id(self, endpoint: Ingestion) -> str:
        name = self.names.ingestion_api(endpoint.domain, endpoint.name)
        for page in self.apigateway.get_paginator("get_rest_apis").paginate():
            for api in page["items"]:
                if api["name"] == name:
                    return str(api["id"])
        raise LocalError(f"REST API {name} of {endpoint.qualified_name} is not deployed: run `eventform local up`")

    def method(self, endpoint: Ingestion, event: str) -> DeployedMethod:
        key = (endpoint.qualified_name, event)
        if key not in self._methods:
            api = self._api_id(endpoint)
            path = Ingestion.path_of(event)
            resources = self.apigateway.get_resources(restApiId=api, limit=500)["items"]
            resource = next((r for r in resources if r["path"] == path), None)
            if resource is None:
                raise LocalError(f"{endpoint.qualified_name} has no deployed resource {path}")
            method = self.apigateway.get_method(restApiId=api, resourceId=resource["id"], httpMethod="POST")
            validates = False
            if method.get("requestValidatorId"):
                validator = self.apigateway.get_request_validator(
                    restApiId=api, requestValidatorId=method["requestValidatorId"]
                )
                validates = bool(validator.get("validateRequestBody"))
            model = None
            if JSON in method.get("requestModels", {}):
                found = self.apigateway.get_model(restApiId=api, modelName=method["requestModels"][JSON])
                model = json.loads(found["schema"])
            integration = method["methodIntegration"]
            self._methods[key] = DeployedMethod(
                path=path,
                authorization=method.get("authorizationType", "NONE"),
                validates_body=validates,
                model=model,
                template=integration.get("requestTemplates", {}).get(JSON, ""),
                action=integration["uri"].rsplit("action/", 1)[-1],
            )
        return self._methods[key]

    def post(
        self,
        endpoint: Ingestion,
        event: str,
        body: str,
        *,
        headers: dict[str, str] | None = None,
        request_time: datetime,
        put_time: datetime | None = None,
    ) -> Answer:
        """One ``POST /events/<event>``: 413 over the body limit, 400 when the deployed model refuses the body,
        else the rendered integration request is sent; 202 with the request id, 502 when the bus refused the
        entry, 500 when the call failed. ``put_time`` adds a Time to the entry (API Gateway's call has none and
        EventBridge stamps its own): the rehearsal then knows the event's time and can predict target inputs."""
        request_id = str(uuid.uuid4())
        if len(body.encode()) > endpoint.max_body:
            return Answer(413, {"message": "Request body too large"})
        method = self.method(endpoint, event)
        try:
            parsed = json.loads(body)
        except ValueError:
            return Answer(400, {"message": "Invalid request body"})
        if method.validates_body and method.model is not None:
            error = next(iter(Draft4Validator(method.model).iter_errors(parsed)), None)
            if error is not None:
                return Answer(400, {"message": "Invalid request body", "error": error.message})
        rendered = render(
            method.template, body=body, headers=headers or {}, request_id=request_id, request_time=request_time
        )
        request = json.loads(rendered)
        if method.action not in ACTIONS:
            raise LocalError(f"the rehearsal cannot play integration action {method.action!r}")
        if put_time is not None:
            request["Entries"] = [{**entry, "Time": put_time} for entry in request["Entries"]]
        (entry,) = request["Entries"]
        try:
            response = getattr(self.events, ACTIONS[method.action])(**request)
        except ClientError:  # moto answers HTTP 500 when a target's input fails to render (see taps.py)
            return Answer(500, {"message": "the event could not be put on the bus", "id": request_id}, entry)
        if response.get("FailedEntryCount"):
            return Answer(502, {"message": "the bus did not accept the event", "id": request_id}, entry)
        return Answer(202, {"id": request_id}, entry, response["Entries"][0].get("EventId"))
