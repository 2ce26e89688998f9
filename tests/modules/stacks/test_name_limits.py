"""Domain and consumer names as long as the catalog accepts synthesize into names AWS accepts, every one of them.

The sample catalog is copied with its FIFO domain (payments), its most-consumed domain (orders: the Lambda
permission ``InvokeFromRule<Domain>`` of a pushed consumer), its Kinesis stream and four consumers (a FIFO queue, a
handler with a table and a pipe on its stream, a bus consumer pushing to Lambda, a stream consumer) renamed to the
longest names the schema allows, then the production environment (customer-managed keys) is synthesized and every
named resource is measured against the limit AWS documents for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from eventform.catalog.naming import LONGEST_SSM_ARN_PREFIX, max_consumer_length, max_domain_length
from eventform.catalog.parsing import validator
from eventform.synthesis.app import synthesize
from tests.conftest import copy_project

# (resource type, attribute) -> AWS limit in characters (service quotas pages / API references)
LIMITS: dict[tuple[str, str], int] = {
    ("aws_sqs_queue", "name"): 80,
    ("aws_sns_topic", "name"): 256,
    ("aws_lambda_function", "function_name"): 64,
    ("aws_lambda_permission", "statement_id"): 100,
    ("aws_iam_role", "name"): 64,
    ("aws_iam_role_policy", "name"): 128,
    ("aws_cloudwatch_event_rule", "name"): 64,
    ("aws_cloudwatch_event_bus", "name"): 256,
    ("aws_cloudwatch_event_archive", "name"): 48,
    ("aws_cloudwatch_event_target", "target_id"): 64,
    ("aws_cloudwatch_event_connection", "name"): 64,
    ("aws_cloudwatch_event_api_destination", "name"): 64,
    ("aws_cloudwatch_metric_alarm", "alarm_name"): 255,
    ("aws_cloudwatch_composite_alarm", "alarm_name"): 255,
    ("aws_cloudwatch_dashboard", "dashboard_name"): 255,
    ("aws_cloudwatch_log_group", "name"): 512,
    ("aws_dynamodb_table", "name"): 255,
    ("aws_kms_alias", "name"): 256,
    ("aws_scheduler_schedule", "name"): 64,
    ("aws_scheduler_schedule", "group_name"): 64,
    ("aws_scheduler_schedule_group", "name"): 64,
    ("aws_pipes_pipe", "name"): 64,
    ("aws_kinesis_stream", "name"): 128,
    ("aws_sfn_state_machine", "name"): 80,
    ("aws_kinesis_firehose_delivery_stream", "name"): 64,
    ("aws_cloudwatch_log_stream", "name"): 512,
    ("aws_api_gateway_rest_api", "name"): 1024,  # eventform keeps it to the web ACL's 128 (names.ingestion_api)
    ("aws_api_gateway_model", "name"): 255,  # alphanumeric: the event's words and its version
    ("aws_api_gateway_request_validator", "name"): 255,
    ("aws_wafv2_web_acl", "name"): 128,
    ("aws_s3_bucket", "bucket"): 63,
    ("aws_schemas_registry", "name"): 64,
    ("aws_schemas_schema", "name"): 385,
    ("aws_ssm_parameter", "name"): 1011 - len(LONGEST_SSM_ARN_PREFIX),  # SSM counts the whole ARN
}
NAME_ATTRIBUTES = (
    "name",
    "function_name",
    "alarm_name",
    "dashboard_name",
    "bucket",
    "statement_id",
    "target_id",
    "group_name",
)
DOMAIN, CONSUMER = max_domain_length(), max_consumer_length()
RENAMED_DOMAINS = {"orders": "orders" + "o" * (DOMAIN - 6), "payments": "payments" + "p" * (DOMAIN - 8)}
RENAMED_CONSUMERS = {
    name: name + "-" + "z" * (CONSUMER - len(name) - 1)
    for name in ("ledger", "reserve-stock", "release-stock", "order-metrics")
}
LONGEST_STREAM = "order-activity-" + "s" * (40 - len("order-activity-"))  # the schema's 40 characters
LONGEST_ARCHIVE = "order-archive-" + "a" * (40 - len("order-archive-"))  # a delivery stream, likewise


def _rename(project: Path) -> None:
    catalog = project / "catalog"
    for old, new in RENAMED_DOMAINS.items():
        (catalog / f"{old}.yaml").rename(catalog / f"{new}.yaml")
        (catalog / old).rename(catalog / new)
    for path in catalog.glob("*.yaml"):
        text = path.read_text()
        for old, new in RENAMED_DOMAINS.items():
            text = re.sub(rf"\b{old}/", f"{new}/", text).replace(f"domain: {old}\n", f"domain: {new}\n")
        for old, new in RENAMED_CONSUMERS.items():
            text = text.replace(f"\n  {old}:\n", f"\n  {new}:\n").replace(f"table: {old}/", f"table: {new}/")
            text = text.replace(f"name: {old}/", f"name: {new}/")  # a table consumer's table
        text = text.replace("\n  order-activity:\n", f"\n  {LONGEST_STREAM}:\n")
        text = text.replace("\n  order-archive:\n", f"\n  {LONGEST_ARCHIVE}:\n")
        text = text.replace("stream: order-archive}", f"stream: {LONGEST_ARCHIVE}}}")
        path.write_text(text.replace("name: order-activity\n", f"name: {LONGEST_STREAM}\n"))
    for path in catalog.glob("*/workflows/*.asl.json"):  # placeholders name consumers as <domain>/<consumer>
        text = path.read_text()
        for old, new in RENAMED_DOMAINS.items():
            text = re.sub(rf"(\$\{{(?:consumer|queue):){old}/", rf"\g<1>{new}/", text)
        path.write_text(text)


@pytest.fixture(scope="module")
def long_named(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    project = copy_project(tmp_path_factory.mktemp("long-names"))
    _rename(project)
    synthesize(project, project / "cdktf.out", environments=["prod"])
    return [
        json.loads((stack / "cdk.tf.json").read_text()) for stack in sorted((project / "cdktf.out/stacks").iterdir())
    ]


def test_the_schema_accepts_exactly_the_computed_maximum() -> None:
    schema = validator("catalog.schema.json")
    base = {"owner": "team", "description": "long names", "source": "com.example.long"}
    for length, ok in ((DOMAIN, True), (DOMAIN + 1, False)):
        errors = list(schema.iter_errors({**base, "domain": "d" * length}))
        assert (not errors) == ok, errors
    consumer = {"description": "a consumer", "events": ["orders/order.created"]}
    for length, ok in ((CONSUMER, True), (CONSUMER + 1, False)):
        errors = list(schema.iter_errors({**base, "domain": "d", "consumers": {"c" * length: consumer}}))
        errors = [e for e in errors if "propertyNames" in e.schema_path]
        assert (not errors) == ok, errors
    assert (DOMAIN, CONSUMER) == (86, 250)


def test_every_derived_name_fits_aws(long_named: list[dict[str, Any]]) -> None:
    measured, unknown, too_long = 0, set(), []
    for config in long_named:
        for kind, resources in config.get("resource", {}).items():
            for address, resource in resources.items():
                for attribute in NAME_ATTRIBUTES:
                    value = resource.get(attribute)
                    if not isinstance(value, str) or "${" in value:
                        continue
                    limit = LIMITS.get((kind, attribute))
                    if limit is None:
                        unknown.add((kind, attribute))
                        continue
                    measured += 1
                    if len(value) > limit:
                        too_long.append(f"{kind}.{address}.{attribute} = {len(value)} > {limit}: {value}")
                for key, value in (resource.get("tags") or {}).items():
                    if len(value) > 256:
                        too_long.append(f"{kind}.{address} tag {key} = {len(value)} > 256")
    assert not too_long, "\n".join(too_long)
    assert not unknown, f"add AWS's limit for {sorted(unknown)}"
    assert measured > 150


def test_long_names_are_really_used(long_named: list[dict[str, Any]]) -> None:
    """The renamed domains and consumers were synthesized (hashed where they had to be), FIFO suffixes kept."""
    everything = json.dumps(long_named)
    assert RENAMED_DOMAINS["orders"] in everything and RENAMED_CONSUMERS["ledger"] in everything
    queues = [r["name"] for c in long_named for r in c.get("resource", {}).get("aws_sqs_queue", {}).values()]
    ledger = [q for q in queues if q.startswith("prod-paymentsppp") and q.endswith(".fifo")]
    assert len(ledger) >= 2 and all(len(q) == 80 for q in ledger)
    permissions = [
        r["statement_id"] for c in long_named for r in c.get("resource", {}).get("aws_lambda_permission", {}).values()
    ]
    assert "InvokeFromRule" + RENAMED_DOMAINS["orders"].title() in permissions
