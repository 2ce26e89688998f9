"""index-invoice on moto: a real S3 notification to a real queue, then the handler reads the object it names."""

from __future__ import annotations

from eventform.runtime.handler import unwrap
from eventform.runtime.records import sqs_event
from handlers.invoice_indexer import handler

REGION = "us-east-1"
KEY_RULES = [{"Name": "prefix", "Value": "invoices/"}, {"Name": "suffix", "Value": ".pdf"}]


def _bucket_notifying_a_queue(aws) -> tuple[object, object, str]:
    s3, sqs = aws("s3"), aws("sqs")
    aws("dynamodb").create_table(
        TableName="invoices",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    s3.create_bucket(Bucket="invoices-bucket")
    s3.put_bucket_versioning(Bucket="invoices-bucket", VersioningConfiguration={"Status": "Enabled"})
    url = sqs.create_queue(QueueName="index-invoice")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket="invoices-bucket",
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "index-invoice",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "invoices/"},
                                {"Name": "suffix", "Value": ".pdf"},
                            ]
                        }
                    },
                }
            ]
        },
    )
    return s3, sqs, url


def _received(sqs, url: str) -> dict:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
    return sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:index-invoice", REGION)


def test_an_uploaded_invoice_is_indexed_once_under_its_real_key(aws, monkeypatch, context) -> None:
    monkeypatch.setenv("INVOICES_TABLE", "invoices")
    s3, sqs, url = _bucket_notifying_a_queue(aws)
    s3.put_object(Bucket="invoices-bucket", Key="invoices/INV 7.pdf", Body=b"%PDF-1.7 seven")
    s3.put_object(Bucket="invoices-bucket", Key="invoices/INV 8.txt", Body=b"not a pdf")  # filtered by S3
    event = _received(sqs, url)
    bodies = [r["body"] for r in event["Records"]]
    assert len(bodies) == 2 and "s3:TestEvent" in bodies[0]  # S3 (and moto) test the destination when configured
    assert "INV+7.pdf" in bodies[1]  # S3 URL-encodes keys in its notifications...
    assert handler.lambda_handler(event, context) == {"batchItemFailures": []}
    assert handler.lambda_handler(event, context) == {"batchItemFailures": []}  # a redelivery changes nothing
    items = aws("dynamodb").scan(TableName="invoices")["Items"]
    assert [(i["pk"]["S"], i["key"]["S"], i["size"]["N"]) for i in items] == [("INV 7", "invoices/INV 7.pdf", "14")]
    # ...the handler saw the real key, and one stable id per S3 event
    cloud_event = unwrap(bodies[1])
    assert cloud_event.type == "object.created" and cloud_event.source == "aws.s3"
    assert items[0]["event_id"]["S"] == cloud_event.id


def test_s3s_test_event_is_acknowledged_and_a_missing_object_is_retried(aws, monkeypatch, context) -> None:
    monkeypatch.setenv("INVOICES_TABLE", "invoices")
    s3, sqs, url = _bucket_notifying_a_queue(aws)
    s3.put_object(Bucket="invoices-bucket", Key="invoices/gone.pdf", Body=b"x")
    s3.delete_object(Bucket="invoices-bucket", Key="invoices/gone.pdf")  # deleted before the handler ran
    event = _received(sqs, url)
    assert len(event["Records"]) == 2
    result = handler.lambda_handler(event, context)
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    test_event = next(r for r in event["Records"] if "TestEvent" in r["body"])
    assert test_event["messageId"] not in failed and len(failed) == 1  # only the vanished object is retried
