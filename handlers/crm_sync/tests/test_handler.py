from __future__ import annotations

import json
import uuid

import pytest

from eventform.local import runner
from eventform.runtime.publisher import Publisher
from handlers.crm_sync import handler

TOPIC = "arn:aws:sns:us-east-1:123456789012:dev-users-events"


def pushed(catalog, payload: dict) -> dict:
    """What Lambda receives when SNS pushes this catalog event to the function."""
    publisher = Publisher(catalog, "dev", topic_arns={"users": TOPIC})
    event, envelope = publisher.envelope("users/user.registered", payload)
    message = publisher.sns_message(event, envelope)
    notification = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC,
        "Message": message["Message"],
        "MessageAttributes": {
            k: {"Type": v["DataType"], "Value": v["StringValue"]} for k, v in message["MessageAttributes"].items()
        },
    }
    return runner.sns_push_event(notification, f"{TOPIC}:crm-sync")


@pytest.fixture
def contacts(aws, monkeypatch) -> str:
    monkeypatch.setenv("CONTACTS_TABLE", "contacts")
    aws("dynamodb").create_table(
        TableName="contacts",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "contacts"


def test_an_sns_push_adds_the_contact_once_even_when_retried(aws, catalog, contacts, context) -> None:
    user = catalog.event("users/user.registered").latest.examples[0]
    event = pushed(catalog, user)
    assert handler.lambda_handler(event, context) == {"handled": 1}
    assert handler.lambda_handler(event, context) == {"handled": 1}  # Lambda's retry of the same event
    items = aws("dynamodb").scan(TableName=contacts)["Items"]
    assert [(i["pk"]["S"], i["country"]["S"]) for i in items] == [(user["user_id"], user["country"])]
    assert items[0]["registered_event"]["S"] == json.loads(event["Records"][0]["Sns"]["Message"])["id"]


def test_a_failed_push_raises_so_lambda_retries_then_dead_letters(aws, catalog, monkeypatch, context) -> None:
    monkeypatch.setenv("CONTACTS_TABLE", "missing-table")
    event = pushed(catalog, catalog.event("users/user.registered").latest.examples[0])
    error = runner.invoke_asynchronously(handler.lambda_handler, event, retries=2, function_name="crm-sync")
    assert error is not None and type(error).__name__ == "ResourceNotFoundException"
    record = runner.on_failure_record(event, "arn:aws:lambda:us-east-1:123456789012:function:x", 3, error)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == event
