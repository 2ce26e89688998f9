"""A catalog table's DynamoDB stream records as the domain events the catalog maps its changes to: the image as
plain JSON payload, the record's eventID as the id (so redeliveries are recognised), unmapped changes skipped."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from eventform.local.runner import LambdaContext
from eventform.runtime import changes
from eventform.runtime.handler import CloudEvent, EventHandler

ROOT = Path(__file__).resolve().parents[3]
MAPPED = {"INSERT": {"source": "com.example.inventory", "type": "stock.reserved", "version": 1}}


RESERVED = {"pk": {"S": "ord_1#SKU-1"}, "quantity": {"N": "2"}, "event_id": {"S": "e-1"}}


def record(sequence: str, name: str = "INSERT", image: dict | None = None) -> dict:
    image = image or RESERVED
    key = "OldImage" if name == "REMOVE" else "NewImage"
    return {
        "eventID": sequence,
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1767225600.0,
            "Keys": {"pk": image["pk"]},
            key: image,
            "SequenceNumber": sequence.rjust(21, "0"),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:111111111111:table/t/stream/2026",
    }


def test_typed_values_become_plain_json() -> None:
    typed = {
        "M": {
            "n": {"N": "2"},
            "f": {"N": "2.5"},
            "b": {"BOOL": False},
            "z": {"NULL": True},
            "l": {"L": [{"S": "x"}, {"N": "10"}]},
            "ss": {"SS": ["b", "a"]},
        }
    }
    assert changes.plain(typed) == {"n": 2, "f": 2.5, "b": False, "z": None, "l": ["x", 10], "ss": ["a", "b"]}


def test_a_change_becomes_the_mapped_event_with_the_image_as_payload() -> None:
    envelope = changes.from_change(record("1"), MAPPED)
    assert envelope == {
        "specversion": "1.0",
        "id": "1",
        "source": "com.example.inventory",
        "type": "stock.reserved",
        "dataversion": 1,
        "time": "2026-01-01T00:00:00Z",
        "data": {"pk": "ord_1#SKU-1", "quantity": 2, "event_id": "e-1"},
    }
    removal = {"REMOVE": {**MAPPED["INSERT"], "type": "stock.released"}}
    assert changes.from_change(record("2", "REMOVE"), removal)["data"]["quantity"] == 2  # the old image
    assert changes.from_change(record("3", "MODIFY"), MAPPED) is None  # mapped to no event


def test_a_batch_fails_only_its_bad_record_and_a_redelivery_runs_once(monkeypatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(changes.CHANGES_VARIABLE, json.dumps(MAPPED))
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        seen: list[CloudEvent] = []
        app = EventHandler(
            "inventory/stock-availability", ROOT / "catalog", idempotency_table="idempotency", dynamodb_client=dynamodb
        )
        app.on("inventory/stock.reserved")(seen.append)
        bad = {**RESERVED, "quantity": {"N": "0"}}  # the schema wants at least 1
        event = {"Records": [record("1"), record("2", image=bad), record("3", "MODIFY")]}
        response = app.lambda_handler(event, LambdaContext("f"))
        assert response == {"batchItemFailures": [{"itemIdentifier": "2".rjust(21, "0")}]}
        assert app.lambda_handler(event, LambdaContext("f"))["batchItemFailures"] == [
            {"itemIdentifier": "2".rjust(21, "0")}
        ]
        assert [e.id for e in seen] == ["1"]  # handled once; the modification never reached the business code


def test_a_change_without_image_fails_with_the_reason() -> None:
    bare = record("1")
    del bare["dynamodb"]["NewImage"]
    with pytest.raises(ValueError, match="must keep images"):
        changes.from_change(bare, MAPPED)
