from __future__ import annotations

import json

from eventform.runtime.records import sqs_event
from handlers.dlq_recorder import handler


def test_dead_letters_are_recorded_and_alerted(aws, monkeypatch, context) -> None:
    dynamodb, sns, sqs = aws("dynamodb"), aws("sns"), aws("sqs")
    dynamodb.create_table(
        TableName="failed",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    alarms = sns.create_topic(Name="alarms")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=alarms, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
    monkeypatch.setenv("FAILED_EVENTS_TABLE", "failed")
    monkeypatch.setenv("ALARM_TOPIC_ARN", alarms)
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    envelope = {"specversion": "1.0", "id": "e-1", "source": "s", "type": "order.created", "data": {}}
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(envelope))
    sqs.send_message(QueueUrl=dlq, MessageBody="not json at all")
    messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    arn = "arn:aws:sqs:us-east-1:123456789012:orders-dlq"
    assert handler.lambda_handler(sqs_event(messages, arn, "us-east-1"), context) == {"batchItemFailures": []}
    recorded = {i["pk"]["S"]: i["event_type"]["S"] for i in dynamodb.scan(TableName="failed")["Items"]}
    assert recorded["orders-dlq#e-1"] == "order.created"
    assert "unreadable" in recorded.values()
    alerts = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    assert {json.loads(a["Body"])["event_id"] for a in alerts} >= {"e-1"}
