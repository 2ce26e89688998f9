from __future__ import annotations

from handlers.ledger import handler


def test_a_failure_stops_only_its_message_group(aws, topology, monkeypatch, context) -> None:
    monkeypatch.setenv("ENTRIES_TABLE", "ledger")
    aws("dynamodb").create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ledger = topology("payments/ledger")
    good = {"payment_id": "pay_1", "order_id": "ord_A", "amount": 10, "currency": "EUR"}
    bad = {"payment_id": "pay_2", "order_id": "ord_B", "amount": 5, "currency": "EUR"}
    ledger.publisher.publish("payments/payment.authorized", good)
    ledger.publisher.publish("payments/payment.authorized", bad)
    ledger.publisher.publish("payments/payment.captured", good)
    ledger.publisher.publish("payments/payment.captured", bad)
    event = ledger.receive()
    assert [r["attributes"]["MessageGroupId"] for r in event["Records"]] == ["ord_A", "ord_B", "ord_A", "ord_B"]
    # ord_B's authorisation is corrupted in flight: its group must stop, ord_A's must go on in order.
    event["Records"][1]["body"] = event["Records"][1]["body"].replace('"amount":5', '"amount":-5')
    response = handler.lambda_handler(event, context)
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [event["Records"][1]["messageId"], event["Records"][3]["messageId"]]
    booked = sorted(i["pk"]["S"] for i in aws("dynamodb").scan(TableName="ledger")["Items"])
    assert booked == ["ord_A#pay_1#authorized", "ord_A#pay_1#captured"]
