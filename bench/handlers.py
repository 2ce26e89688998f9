"""Messages per second through the shared handler runtime, as Lambda would call it with SQS batches of 10.

    .venv/bin/python bench/handlers.py                     # 20,000 messages without I/O, 1,000 with idempotency
    .venv/bin/python bench/handlers.py --messages 50000 --repeat 5

Two figures:
- without I/O: unwrap (SNS -> SQS, wrapped) + schema validation + Powertools batch processing + a no-op business
  function; target >= 5,000 messages/s on one core;
- with the idempotency layer: the same, plus Powertools' DynamoDB persistence against moto (in process), which shows
  what the two DynamoDB calls per message cost relative to the runtime itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # logging is I/O: measured separately by Lambda, not here
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(variable, "bench")

from eventform.catalog.loader import load  # noqa: E402
from eventform.local.runner import LambdaContext  # noqa: E402
from eventform.runtime.handler import EventHandler  # noqa: E402
from eventform.runtime.publisher import Publisher  # noqa: E402
from eventform.runtime.records import sqs_event  # noqa: E402

EVENT = "orders/order.created"
BATCH = 10


def sqs_batches(count: int) -> list[dict[str, Any]]:
    """``count`` SNS-wrapped catalog examples in Lambda's SQS event shape, 10 per batch."""
    catalog, _ = load(ROOT, ["dev"])
    publisher = Publisher(catalog, "dev", topic_arns={"orders": "arn:aws:sns:us-east-1:111111111111:dev-orders"})
    example = catalog.event(EVENT).latest.examples[0]
    messages = []
    for _ in range(count):
        event, envelope = publisher.envelope(EVENT, example)
        sns = publisher.sns_message(event, envelope)
        body = json.dumps({"Type": "Notification", "MessageId": str(uuid.uuid4()), "Message": sns["Message"]})
        messages.append(
            {
                "MessageId": str(uuid.uuid4()),
                "ReceiptHandle": "r",
                "Body": body,
                "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "MD5OfBody": "",
            }
        )
    queue = "arn:aws:sqs:us-east-1:111111111111:dev-bench"
    return [sqs_event(messages[i : i + BATCH], queue, "us-east-1") for i in range(0, count, BATCH)]


def runtime(schemas: Path, **options: Any) -> EventHandler:
    app = EventHandler("bench/no-op", schemas, fifo=False, **options)
    app.on(EVENT)(lambda event: None)
    return app


def throughput(app: EventHandler, batches: list[dict[str, Any]]) -> float:
    context = LambdaContext(function_name="bench", timeout_seconds=900)
    started = time.perf_counter()
    for batch in batches:
        result = app.lambda_handler(batch, context)
        assert not result["batchItemFailures"], result
    elapsed = time.perf_counter() - started
    return sum(len(b["Records"]) for b in batches) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000, help="messages per run without I/O")
    parser.add_argument("--idempotent-messages", type=int, default=1_000, help="messages per run with idempotency")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    schemas = ROOT / "catalog"

    plain = [throughput(runtime(schemas, idempotency_table=""), sqs_batches(args.messages)) for _ in range(args.repeat)]

    from moto import mock_aws

    idempotent = []
    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="bench-idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for _ in range(args.repeat):
            app = runtime(schemas, idempotency_table="bench-idempotency", dynamodb_client=dynamodb)
            idempotent.append(throughput(app, sqs_batches(args.idempotent_messages)))

    print(f"{'runtime path':<40} {'messages':>9} {'median msg/s':>13} {'min':>9} {'max':>9}")
    for label, count, rates in (
        ("unwrap + validate + batch, no I/O", args.messages, plain),
        ("... + idempotency (DynamoDB on moto)", args.idempotent_messages, idempotent),
    ):
        print(f"{label:<40} {count:>9} {statistics.median(rates):>13,.0f} {min(rates):>9,.0f} {max(rates):>9,.0f}")
    print(f"target >= 5,000 msg/s without I/O: {'met' if statistics.median(plain) >= 5000 else 'MISSED'}")


if __name__ == "__main__":
    main()
