"""S3 event notifications: the bucket's safeguards, and each path object events take to a consumer — S3's own
notification to a queue or a function, the bucket's SNS topic (fan-out), EventBridge's default bus — each
destination admitting only that bucket of this account."""

from __future__ import annotations

import json

import pytest
from cdktn_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktn_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.lambda_function_event_invoke_config import LambdaFunctionEventInvokeConfig
from cdktn_provider_aws.lambda_permission import LambdaPermission
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import S3BucketLifecycleConfiguration
from cdktn_provider_aws.s3_bucket_notification import S3BucketNotification
from cdktn_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls
from cdktn_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktn_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
)
from cdktn_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktn_provider_aws.sqs_queue import SqsQueue

from eventform.catalog.naming import LIMITS, Names
from eventform.synthesis import toolchain
from eventform.synthesis.app import synthesize
from tests.conftest import ROOT, StackJson, copy_project, require_terraform

PROD = "333333333333"
DEV = "111111111111"
BUCKET = f"prod-payments-invoices-{PROD}-eu-west-1"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"


def test_the_bucket_is_private_encrypted_versioned_and_tls_only(stack) -> None:
    payments = stack("prod-payments")
    assert payments.only(S3Bucket.TF_RESOURCE_TYPE)["bucket"] == BUCKET
    public = payments.only(S3BucketPublicAccessBlock.TF_RESOURCE_TYPE)
    assert all(public[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls"))
    assert public["restrict_public_buckets"] is True
    ownership = payments.only(S3BucketOwnershipControls.TF_RESOURCE_TYPE)
    assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}  # no ACLs at all
    rule = payments.only(S3BucketServerSideEncryptionConfigurationA.TF_RESOURCE_TYPE)["rule"][0]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": f"arn:aws:kms:eu-west-1:{PROD}:alias/eventform/prod/payments",
    }
    assert rule["bucket_key_enabled"] is True
    assert payments.only(S3BucketVersioningA.TF_RESOURCE_TYPE)["versioning_configuration"] == {"status": "Enabled"}
    lifecycle = payments.only(S3BucketLifecycleConfiguration.TF_RESOURCE_TYPE)["rule"][0]
    assert lifecycle["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert lifecycle["noncurrent_version_expiration"] == [{"noncurrent_days": 14}]  # the environment's DLQ days
    deny = json.loads(payments.only(S3BucketPolicy.TF_RESOURCE_TYPE)["policy"])["Statement"]
    assert deny == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    assert stack("dev-payments").only(S3Bucket.TF_RESOURCE_TYPE)["force_destroy"] is False
    local = stack("local-payments")
    assert local.only(S3Bucket.TF_RESOURCE_TYPE)["force_destroy"] is True  # `local down` empties it
    assert local.resources(S3BucketPolicy.TF_RESOURCE_TYPE) == {}  # moto enforces it, and speaks plain HTTP


def test_bucket_names_are_global_and_fit_63_characters() -> None:
    names = Names(env="staging", region="ap-southeast-2", account_id=PROD)
    long = names.bucket("fulfilment-and-returns", "very-long-bucket-name-for-labels")
    assert len(long) <= LIMITS["s3"] == 63
    assert long.endswith(f"-{PROD}-ap-southeast-2") and long == long.lower()
    assert long != names.bucket("fulfilment-and-returns", "very-long-bucket-name-for-labelz")


def test_s3_notifies_the_queue_which_admits_only_that_bucket_of_this_account(stack) -> None:
    payments = stack("prod-payments")
    notification = payments.only(S3BucketNotification.TF_RESOURCE_TYPE)
    assert notification["queue"] == [
        {
            "id": "index-invoice",
            "queue_arn": f"arn:aws:sqs:eu-west-1:{PROD}:prod-payments-index-invoice",
            "events": ["s3:ObjectCreated:*"],
            "filter_prefix": "invoices/",
            "filter_suffix": ".pdf",
        }
    ]
    assert notification["eventbridge"] is True  # invoice-removals takes its events from the default bus
    assert any("consumer-index-invoice_queue" in d for d in notification["depends_on"])  # S3 checks the policy
    queue = payments.only(SqsQueue.TF_RESOURCE_TYPE, name="prod-payments-index-invoice")
    assert "fifo_queue" not in queue  # S3 notifies standard queues only (payments' topic is FIFO)
    sender = json.loads(queue["policy"])["Statement"][0]
    assert sender == {
        "Sid": "BucketSends",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": f"arn:aws:sqs:eu-west-1:{PROD}:prod-payments-index-invoice",
        "Condition": {"ArnEquals": {"aws:SourceArn": [BUCKET_ARN]}, "StringEquals": {"aws:SourceAccount": PROD}},
    }


def test_the_handler_may_read_exactly_the_objects_it_is_notified_about(stack) -> None:
    payments = stack("prod-payments")
    policies = [json.loads(p["policy"]) for p in payments.resources(IamRolePolicy.TF_RESOURCE_TYPE).values()]
    reads = [s for p in policies for s in p["Statement"] if s["Sid"] == "ReadNotifiedObjects"]
    assert reads == [
        {
            "Sid": "ReadNotifiedObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion"],
            "Resource": f"{BUCKET_ARN}/invoices/*",
        }
    ]


def test_a_bus_consumer_gets_a_default_bus_rule_on_this_bucket(stack) -> None:
    payments = stack("prod-payments")
    rule = payments.only(CloudwatchEventRule.TF_RESOURCE_TYPE, name="prod-payments-invoice-removals-from-objects")
    assert "event_bus_name" not in rule  # the account's default bus, where S3 sends its events
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Deleted"],  # removed and expired are both "Object Deleted" on EventBridge
        "detail": {"bucket": {"name": [BUCKET]}},
    }
    target = payments.only(
        CloudwatchEventTarget.TF_RESOURCE_TYPE, arn=f"arn:aws:sqs:eu-west-1:{PROD}:prod-payments-invoice-removals"
    )
    assert "invoice-removals-rule-objects" in target["rule"]
    assert target["arn"] == f"arn:aws:sqs:eu-west-1:{PROD}:prod-payments-invoice-removals"
    assert target["dead_letter_config"]["arn"].endswith(":prod-payments-invoice-removals-delivery-dlq")


# --------------------------------------------------------------------------------------------------------------
# The other paths, on a copy of the sample catalog: topic fan-out, S3 pushing to a function, another domain's rule
# --------------------------------------------------------------------------------------------------------------
EXTRA_PAYMENTS = """
  archive-invoice:
    description: Archives each invoice PDF (one of two consumers fanned out by the bucket's topic).
    objects: {bucket: invoices, events: [created], prefix: archive/}
    via: topic
  archive-audit:
    description: Audits each archived invoice (the second subscriber of the bucket's topic).
    objects: {bucket: invoices, events: [created], prefix: archive/}
    via: topic
  thumbnail:
    description: Renders a preview of each uploaded scan (S3 invokes the function).
    objects: {bucket: invoices, events: [created], prefix: scans/}
    delivery: push
    push: {retries: 1, max_event_age: 1h}
    handler: invoice_indexer
"""
EXTRA_NOTIFICATIONS = """
  large-invoice-mail:
    description: Mails the customer a link to each large invoice (another domain, through the default bus).
    objects: {bucket: payments/invoices, events: [created], prefix: invoices/, suffix: .pdf}
    via: bus
    pattern: {detail: {object: {size: [{numeric: [">", 1000000]}]}}}
"""


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StackJson]:
    root = copy_project(tmp_path_factory.mktemp("buckets"))
    payments = root / "catalog" / "payments.yaml"
    payments.write_text(payments.read_text().replace("\naws_api_calls:", EXTRA_PAYMENTS + "\naws_api_calls:"))
    notifications = root / "catalog" / "notifications.yaml"
    text = notifications.read_text()
    head, _, tail = text.partition("\nconsumers:\n")
    notifications.write_text(head + "\nconsumers:" + EXTRA_NOTIFICATIONS + tail)
    result = synthesize(root, root / "cdktf.out", environments=["dev", "local"])
    return {p.name: StackJson(result.outdir / "stacks" / p.name / "cdk.tf.json") for p in result.stacks}


def test_topic_consumers_share_the_buckets_topic_which_only_the_bucket_publishes_to(paths) -> None:
    payments = paths["dev-payments"]
    bucket_arn = f"arn:aws:s3:::dev-payments-invoices-{DEV}-eu-west-1"
    topic = payments.only(SnsTopic.TF_RESOURCE_TYPE, name="dev-payments-invoices-objects")
    # S3 cannot publish under the AWS-managed SNS key: the domain key, even in a service-managed environment
    assert topic["kms_master_key_id"] == "alias/eventform/dev/payments"
    keys = paths["dev-platform"].resources(KmsKey.TF_RESOURCE_TYPE).values()
    assert [k["description"] for k in keys if k["description"].endswith("payments")] == ["eventform dev: payments"]
    topic_key = _key(payments, SnsTopic, "dev-payments-invoices-objects")
    policy = payments.only(SnsTopicPolicy.TF_RESOURCE_TYPE, arn=f"${{aws_sns_topic.{topic_key}.arn}}")
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    assert statements["BucketPublishes"]["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statements["BucketPublishes"]["Action"] == "sns:Publish"
    assert statements["BucketPublishes"]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": [bucket_arn]},
        "StringEquals": {"aws:SourceAccount": DEV},
    }
    topic_arn = f"arn:aws:sns:eu-west-1:{DEV}:dev-payments-invoices-objects"
    notification = payments.only(S3BucketNotification.TF_RESOURCE_TYPE)
    assert notification["topic"] == [
        {"id": "topic", "topic_arn": topic_arn, "events": ["s3:ObjectCreated:*"], "filter_prefix": "archive/"}
    ]
    subscriptions = payments.resources(SnsTopicSubscription.TF_RESOURCE_TYPE).values()
    subscribers = sorted(
        s["endpoint"] for s in subscriptions if s["topic_arn"] == f"${{aws_sns_topic.{topic_key}.arn}}"
    )
    assert [s.split("_queue_")[0] for s in subscribers] == [
        "${aws_sqs_queue.consumer-archive-audit",
        "${aws_sqs_queue.consumer-archive-invoice",
    ]


def test_s3_invokes_a_push_consumer_with_a_permission_for_that_bucket_and_account(paths) -> None:
    payments = paths["dev-payments"]
    permission = payments.only(LambdaPermission.TF_RESOURCE_TYPE, principal="s3.amazonaws.com")
    assert permission["source_arn"] == f"arn:aws:s3:::dev-payments-invoices-{DEV}-eu-west-1"
    assert permission["source_account"] == DEV  # bucket ARNs name no account: the confused-deputy guard
    functions = payments.only(S3BucketNotification.TF_RESOURCE_TYPE)["lambda_function"]
    assert [(f["id"], f["filter_prefix"], f["events"]) for f in functions] == [
        ("thumbnail", "scans/", ["s3:ObjectCreated:*"])
    ]
    invoke = payments.only(LambdaFunctionEventInvokeConfig.TF_RESOURCE_TYPE)
    assert invoke["maximum_retry_attempts"] == 1 and invoke["maximum_event_age_in_seconds"] == 3600
    assert "consumer-thumbnail-dlq" in invoke["destination_config"]["on_failure"]["destination"]
    # Locally S3 notifies a tap queue instead, and the runner replays Lambda's invocation
    local = paths["local-payments"].only(S3BucketNotification.TF_RESOURCE_TYPE)
    assert {q["id"] for q in local["queue"]} == {"index-invoice", "thumbnail"}
    assert "lambda_function" not in local


def test_another_domain_takes_the_buckets_events_through_its_own_default_bus_rule(paths) -> None:
    rule = paths["dev-notifications"].only(CloudwatchEventRule.TF_RESOURCE_TYPE)
    assert rule["name"] == "dev-notifications-large-invoice-mail-from-objects"
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [f"dev-payments-invoices-{DEV}-eu-west-1"]},
            "object": {"key": [{"wildcard": "invoices/*.pdf"}], "size": [{"numeric": [">", 1000000]}]},
        },
    }
    assert paths["dev-payments"].only(S3BucketNotification.TF_RESOURCE_TYPE)["eventbridge"] is True


def _key(stack: StackJson, binding: type, name: str) -> str:
    return next(k for k, r in stack.resources(binding.TF_RESOURCE_TYPE).items() if r.get("name") == name)


def test_terraform_validates_every_path(paths) -> None:
    require_terraform()
    chosen = [paths[name].path.parent for name in ("dev-payments", "dev-notifications", "local-payments")]
    results = toolchain.validate_stacks(chosen, ROOT)
    assert {r.stack: r.output for r in results if not r.ok} == {}
