"""The shared idempotency table, at the policy level (issue 16, finding 6): each consumer's role may read, write and
delete only its own records (``dynamodb:LeadingKeys`` on the runtime's key prefix ``<domain>/<consumer>#``), never
another consumer's, and the table has its own key, which is not the alarm topic's.

The synthesized role policies are evaluated with a small IAM evaluator (identity policies, Allow statements, the
condition operators eventform writes): implicit deny unless a statement allows the action on the resource with
every condition met, multi-valued keys with ForAllValues / ForAnyValue as IAM defines them."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import boto3
import pytest
from cdktn_provider_aws.dynamodb_table import DynamodbTable
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.kms_key import KmsKey
from moto import mock_aws

from eventform.local.runner import LambdaContext
from eventform.runtime.handler import EventHandler
from eventform.runtime.records import sqs_event
from tests.conftest import ROOT

TABLE = "arn:aws:dynamodb:eu-west-1:333333333333:table/prod-platform-idempotency"
ENVELOPE = {
    "specversion": "1.0",
    "source": "com.example.users",
    "type": "user.registered",
    "dataversion": 1,
    "correlationid": "corr-1",
    "data": {"user_id": "cus_1", "email": "a@example.com", "country": "DE", "marketing_opt_in": True},
}


def _values(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _operator(name: str, have: str, want: str) -> bool:
    if name in ("StringEquals", "ArnEquals"):
        return have == want
    if name in ("StringLike", "ArnLike"):
        return fnmatchcase(have, want)
    raise AssertionError(f"the evaluator does not know {name}: extend it before trusting a verdict")


def _condition_met(operator: str, key: str, wanted: Any, context: dict[str, list[str]]) -> bool:
    qualifier, _, name = operator.rpartition(":")
    have = context.get(key)
    if qualifier == "ForAllValues":  # every value in the request matches one of the policy's (empty: true)
        return all(any(_operator(name, h, w) for w in _values(wanted)) for h in have or [])
    if qualifier == "ForAnyValue":
        return any(_operator(name, h, w) for h in have or [] for w in _values(wanted))
    return have is not None and any(_operator(name, h, w) for h in have for w in _values(wanted))


def allowed(policy: dict[str, Any], action: str, resource: str, context: dict[str, list[str]]) -> bool:
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        if not any(fnmatchcase(action.lower(), a.lower()) for a in _values(statement["Action"])):
            continue
        if not any(fnmatchcase(resource, r) for r in _values(statement.get("Resource", []))):
            continue
        conditions = statement.get("Condition", {})
        if all(
            _condition_met(operator, key, wanted, context)
            for operator, keys in conditions.items()
            for key, wanted in keys.items()
        ):
            return True
    return False


def role_policy(configuration, role_name: str) -> dict[str, Any]:
    roles = {k: r["name"] for k, r in configuration.resources(IamRole.TF_RESOURCE_TYPE).items()}
    key = next(k for k, name in roles.items() if name == role_name)
    policies = configuration.resources(IamRolePolicy.TF_RESOURCE_TYPE).values()
    return next(json.loads(p["policy"]) for p in policies if p["role"] == f"${{aws_iam_role.{key}.id}}")


def stored_key(consumer: str, event_id: str) -> str:
    """The key the runtime really writes for ``consumer``'s record of an event: the handler runs in moto's DynamoDB
    and the record is read back (whatever prefix and hash the runtime and Powertools use)."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        dynamodb.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        app = EventHandler(consumer, ROOT / "catalog", idempotency_table="idempotency", dynamodb_client=dynamodb)
        app.on("users/user.registered")(lambda event: None)
        envelope = {**ENVELOPE, "id": event_id}
        message = {"MessageId": "m-1", "ReceiptHandle": "r", "Body": json.dumps(envelope), "Attributes": {}}
        assert app.lambda_handler(sqs_event([message], "arn:q", "eu-west-1"), LambdaContext("f")) == {
            "batchItemFailures": []
        }
        (item,) = dynamodb.scan(TableName="idempotency")["Items"]
        return item["id"]["S"]


@pytest.fixture(scope="module")
def keys(monkeypatch_module) -> dict[str, str]:
    return {c: stored_key(c, "evt-1") for c in ("notifications/send-email", "users/crm-sync", "notifications/send")}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
            patch.setenv(name, value)
        yield patch


@pytest.mark.parametrize(
    "action", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
)
def test_a_consumer_role_reaches_its_own_idempotency_records_only(stack, keys, action: str) -> None:
    send_email = role_policy(stack("prod-notifications"), "prod-notifications-send-email-role")
    assert allowed(send_email, action, TABLE, {"dynamodb:LeadingKeys": [keys["notifications/send-email"]]})
    # the same event id, recorded by another consumer (or one whose name is a prefix of this one's): refused
    for other in ("users/crm-sync", "notifications/send"):
        assert not allowed(send_email, action, TABLE, {"dynamodb:LeadingKeys": [keys[other]]}), other
    # a request naming its own key and another's is refused as a whole (ForAllValues)
    both = [keys["notifications/send-email"], keys["users/crm-sync"]]
    assert not allowed(send_email, action, TABLE, {"dynamodb:LeadingKeys": both})


def test_no_role_may_scan_or_query_the_shared_table(stack, keys) -> None:
    crm_sync = role_policy(stack("prod-users"), "prod-users-crm-sync-role")
    assert allowed(crm_sync, "dynamodb:GetItem", TABLE, {"dynamodb:LeadingKeys": [keys["users/crm-sync"]]})
    for action in ("dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"):
        assert not allowed(crm_sync, action, TABLE, {}), action


def test_the_idempotency_table_has_its_own_key_not_the_alarm_topics(stack) -> None:
    platform = stack("prod-platform")
    table = platform.only(DynamodbTable.TF_RESOURCE_TYPE, name="prod-platform-idempotency")
    keys = platform.resources(KmsKey.TF_RESOURCE_TYPE)
    own = next(k for k, v in keys.items() if v["description"].endswith("idempotency records"))
    assert table["server_side_encryption"]["kms_key_arn"] == f"${{aws_kms_key.{own}.arn}}"
