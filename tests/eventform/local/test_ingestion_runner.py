"""Playing API Gateway on moto: the REST API is created the way Terraform creates the sample's (its model, validator,
method and integration with the generated template, read back through the API Gateway API), and a bus rule sends to
a queue, so what the bus delivered is read back from SQS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventform.catalog.ingestion import draft4_model, model_name
from eventform.catalog.loader import load
from eventform.catalog.naming import Names
from eventform.local.ingestion_runner import Gateway, render
from eventform.runtime.envelope import CloudEvent
from modules.ingestion_templates import accepted_template, put_events_template
from tests.conftest import mocked_aws

REGION, ACCOUNT = "us-east-1", "123456789012"
MOMENT = datetime(2026, 11, 30, 0, 20, 5, tzinfo=UTC)


@pytest.fixture
def aws(monkeypatch) -> Iterator[dict[str, Any]]:
    with mocked_aws(monkeypatch, REGION):
        yield {s: boto3.client(s, region_name=REGION) for s in ("apigateway", "events", "sqs")}


@pytest.fixture
def deployed(aws: dict[str, Any], project_root: Path) -> dict[str, Any]:
    """The sample's orders/partner-webhook on moto, and a rule sending every order.created on the bus to a queue."""
    catalog = load(project_root)[0]
    (endpoint,) = catalog.domain("orders").ingestion
    names = Names(env="local", region=REGION, account_id=ACCOUNT)
    event = catalog.event("orders/order.created")
    apigateway, events, sqs = aws["apigateway"], aws["events"], aws["sqs"]
    bus = names.bus("orders")
    events.create_event_bus(Name=bus)
    queue = sqs.create_queue(QueueName="seen")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["com.example.orders"]}))
    events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    api = apigateway.create_rest_api(name=names.ingestion_api("orders", endpoint.name))["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    parent = apigateway.create_resource(restApiId=api, parentId=root, pathPart="events")["id"]
    resource = apigateway.create_resource(restApiId=api, parentId=parent, pathPart="order.created")["id"]
    name = model_name("order.created", 1)
    apigateway.create_model(
        restApiId=api, name=name, contentType="application/json", schema=json.dumps(draft4_model(event.latest.schema))
    )
    validator = apigateway.create_request_validator(restApiId=api, name="body", validateRequestBody=True)["id"]
    apigateway.put_method(
        restApiId=api,
        resourceId=resource,
        httpMethod="POST",
        authorizationType="AWS_IAM",
        requestValidatorId=validator,
        requestModels={"application/json": name},
    )
    template = put_events_template(
        bus=bus, source="com.example.orders", event="order.created", version=1, dataschema=event.dataschema(1)
    )
    apigateway.put_integration(
        restApiId=api,
        resourceId=resource,
        httpMethod="POST",
        type="AWS",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:events:action/PutEvents",
        credentials=f"arn:aws:iam::{ACCOUNT}:role/r",
        requestTemplates={"application/json": template},
    )
    return {"gateway": Gateway(apigateway, events, names), "endpoint": endpoint, "event": event, "queue": queue}


def delivered(sqs: Any, queue: str) -> list[dict[str, Any]]:
    return [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    ]


def test_every_example_goes_through_as_the_publishers_envelope(aws, deployed) -> None:
    gateway, endpoint, event = deployed["gateway"], deployed["endpoint"], deployed["event"]
    for example in event.latest.examples:
        answer = gateway.post(
            endpoint,
            "order.created",
            json.dumps(example),
            headers={"X-Correlation-Id": "mkt-'7\""},
            request_time=MOMENT,
        )
        assert answer.status == 202 and answer.body["id"]
        (bus_event,) = delivered(aws["sqs"], deployed["queue"])
        assert (bus_event["source"], bus_event["detail-type"]) == ("com.example.orders", "order.created")
        envelope = CloudEvent.from_dict(bus_event["detail"])  # the runtime reads it as any published event
        assert envelope.id == answer.body["id"] and envelope.data == example
        assert (envelope.type, envelope.dataversion, envelope.time) == ("order.created", 1, "2026-11-30T00:20:05Z")
        assert envelope.correlationid == "mkt-'7\"" and envelope.dataschema == event.dataschema(1)
    assert gateway.method(endpoint, "order.created").authorization == "AWS_IAM"


def test_without_a_correlation_header_the_request_id_correlates(aws, deployed) -> None:
    example = deployed["event"].latest.examples[0]
    answer = deployed["gateway"].post(deployed["endpoint"], "order.created", json.dumps(example), request_time=MOMENT)
    (bus_event,) = delivered(aws["sqs"], deployed["queue"])
    assert bus_event["detail"]["correlationid"] == bus_event["detail"]["id"] == answer.body["id"]


def test_the_deployed_model_refuses_an_invalid_body_and_the_limit_a_large_one(aws, deployed) -> None:
    gateway, endpoint = deployed["gateway"], deployed["endpoint"]
    invalid = gateway.post(endpoint, "order.created", json.dumps({"order_id": "ord_1"}), request_time=MOMENT)
    assert invalid.status == 400 and "required" in invalid.body["error"]
    assert gateway.post(endpoint, "order.created", "not json", request_time=MOMENT).status == 400
    large = gateway.post(endpoint, "order.created", json.dumps({"x": "y" * endpoint.max_body}), request_time=MOMENT)
    assert large.status == 413
    assert delivered(aws["sqs"], deployed["queue"]) == []  # nothing reached the bus


def test_the_response_template_reports_a_refused_entry() -> None:
    body = json.dumps({"FailedEntryCount": 1, "Entries": [{"ErrorCode": "x"}]})
    rendered = render(accepted_template(), body=body, headers={}, request_id="r-1", request_time=MOMENT)
    assert json.loads(rendered) == {"message": "the bus did not accept the event", "id": "r-1"}
    ok = json.dumps({"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]})
    assert json.loads(render(accepted_template(), body=ok, headers={}, request_id="r-2", request_time=MOMENT)) == {
        "id": "r-2"
    }
