from __future__ import annotations

import json

import boto3
from botocore.config import Config

from eventform.catalog.streams import mapping_filters
from eventform.catalog.table_streams import change_events
from eventform.local.stream_runner import StreamBinding, drain_stream
from eventform.runtime import changes
from handlers.stock_availability import handler


def make_table(aws, name: str, stream: bool = False) -> str | None:
    made = aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **({"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}} if stream else {}),
    )
    return made["TableDescription"].get("LatestStreamArn")


def test_reservations_become_stock_reserved_and_are_summed_per_sku(aws, catalog, monkeypatch) -> None:
    consumer = next(c for c in catalog.consumers if c.name == "stock-availability")
    assert consumer.stream is not None
    monkeypatch.setenv("AVAILABILITY_TABLE", "availability")
    monkeypatch.setenv(changes.CHANGES_VARIABLE, json.dumps(change_events(catalog, consumer.stream)))
    make_table(aws, "availability")
    stream_arn = make_table(aws, "reservations", stream=True)
    dynamodb = aws("dynamodb")
    for item in catalog.event("inventory/stock.reserved").latest.examples:  # what reserve-stock writes
        dynamodb.put_item(
            TableName="reservations",
            Item={k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in item.items()},
        )
    dynamodb.put_item(TableName="reservations", Item={"pk": {"S": "manual#BOOK-42"}, "quantity": {"N": "5"}})
    dynamodb.update_item(  # a modification: Lambda delivers it (no filter on eventName), the runtime skips it
        TableName="reservations",
        Key={"pk": {"S": "ord_2001#BOOK-42"}},
        UpdateExpression="SET quantity = :q",
        ExpressionAttributeValues={":q": {"N": "9"}},
    )
    binding = StreamBinding(
        consumer="stock-availability",
        stream_name="reservations",
        stream_arn=stream_arn,
        handler=handler.lambda_handler,
        filters=mapping_filters(catalog, consumer.stream),
        kind="table",
    )
    # botocore addresses DynamoDB Streams by account (<account>.streams-ddb...), which moto 5.2 does not route
    streams = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    tally = drain_stream(streams, binding)
    assert tally.filtered_out == 1  # the manual adjustment carries no event_id: the mapping's filter drops it
    assert tally.failed == 0 and tally.succeeded == 3  # two inserts handled, the modification acknowledged
    reserved = {i["pk"]["S"]: int(i["reserved"]["N"]) for i in dynamodb.scan(TableName="availability")["Items"]}
    assert reserved == {"BOOK-42": 2, "MUG-1": 3}
