"""CKV_EVF_12: a Firehose delivery stream encrypts what it buffers with a customer-managed key, and an S3 destination
has an error output prefix (records Firehose cannot partition, transform or write land there, not in the archive's
folders); with dynamic partitioning that prefix names ``!{firehose:error-output-type}``, as AWS requires."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from eventform.compliance.policy_values import block, value

ERROR_TYPE = "!{firehose:error-output-type}"


class FirehoseEncryptedWithErrorPrefix(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Firehose delivery streams use SSE with a customer-managed key and an S3 error output prefix",
            id="CKV_EVF_12",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_kinesis_firehose_delivery_stream"],
            guideline='server_side_encryption { enabled = true, key_type = "CUSTOMER_MANAGED_CMK", key_arn = ... } '
            "(a stream reading a Kinesis stream is encrypted by its source) and extended_s3_configuration."
            "error_output_prefix, with !{firehose:error-output-type} when dynamic partitioning is enabled",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return CheckResult.PASSED if _encrypted(conf) and _error_prefix(conf) else CheckResult.FAILED


def _encrypted(conf: dict[str, Any]) -> bool:
    if block(conf, "kinesis_source_configuration"):
        return True  # SSE applies to direct PUT; a Kinesis source stream carries its own encryption
    sse = block(conf, "server_side_encryption") or {}
    return (
        value(sse, "enabled") is True
        and value(sse, "key_type") == "CUSTOMER_MANAGED_CMK"
        and bool(value(sse, "key_arn"))
    )


def _error_prefix(conf: dict[str, Any]) -> bool:
    if value(conf, "destination") != "extended_s3":
        return True  # other destinations name their S3 backup differently; this check is about S3 archives
    s3 = block(conf, "extended_s3_configuration") or {}
    prefix = value(s3, "error_output_prefix")
    if not isinstance(prefix, str) or not prefix:
        return False
    partitioning = block(s3, "dynamic_partitioning_configuration") or {}
    return value(partitioning, "enabled") is not True or ERROR_TYPE in prefix


check = FirehoseEncryptedWithErrorPrefix()
