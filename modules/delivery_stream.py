"""A Firehose delivery stream of the catalog: direct PUT, SSE, an extended S3 destination partitioned by event type
(dynamic partitioning, JQ on the envelope's ``type``) and date, an error prefix, delivery errors logged to its own
log group, and a role that may write exactly there."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import ITerraformDependable, TerraformResourceLifecycle
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.cloudwatch_log_stream import CloudwatchLogStream
from cdktn_provider_aws.kinesis_firehose_delivery_stream import (
    KinesisFirehoseDeliveryStream,
)
from cdktn_provider_aws.kinesis_firehose_delivery_stream import (
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfiguration as Processing,
)
from cdktn_provider_aws.kinesis_firehose_delivery_stream import (
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessors as Processor,
)
from cdktn_provider_aws.kinesis_firehose_delivery_stream import (
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorsParameters as Parameter,
)
from constructs import Construct

from eventform.catalog.delivery_model import JQ_ENGINE, LOG_STREAM, TYPE_QUERY, DeliveryStream
from modules.event_role import TargetRole
from modules.policies import Statement

FIREHOSE_SERVICE = "firehose.amazonaws.com"
# What Firehose does on the bucket (AWS: "Grant Firehose access to an Amazon S3 destination"), split by resource.
BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads")
OBJECT_ACTIONS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject")
RETRY_SECONDS = 300  # how long Firehose retries a partition's delivery before its records go to the error prefix


@dataclass(frozen=True)
class DeliveryConfig:
    """Where and how one delivery stream writes, resolved for one environment."""

    name: str
    arn: str
    role_name: str
    bucket_arn: str
    log_group: str
    log_retention_days: int
    region: str
    account_id: str
    stream_key_arn: str | None  # SSE with this customer-managed key (None: Firehose's AWS-owned key)
    bucket_key_arn: str | None  # the bucket's key: objects written with it (None: the bucket's default, aws/s3)
    bucket_key_alias: str | None  # the alias the role's KMS grant is narrowed to
    log_key_arn: str | None  # the log group's key
    ignore_encryption_readback: bool = False  # locally: moto reports no encryption status back


def role_statements(stream: DeliveryStream, config: DeliveryConfig) -> tuple[Statement, ...]:
    """Least privilege: the bucket, the objects under the stream's two prefixes, its own log stream, and the
    bucket's key through S3 for this bucket only. SSE of the stream itself needs no grant: Firehose holds its own."""
    objects = tuple(f"{config.bucket_arn}/{prefix}*" for prefix in (stream.prefix, stream.error_prefix))
    log_group_arn = f"arn:aws:logs:{config.region}:{config.account_id}:log-group:{config.log_group}"
    statements = [
        Statement("FindTheBucket", "Allow", BUCKET_ACTIONS, (config.bucket_arn,)),
        Statement("WriteUnderItsPrefixes", "Allow", OBJECT_ACTIONS, objects),
        Statement("LogDeliveryErrors", "Allow", ("logs:PutLogEvents",), (f"{log_group_arn}:log-stream:{LOG_STREAM}",)),
    ]
    if config.bucket_key_alias:
        statements.append(
            Statement(
                sid="EncryptWithTheBucketKey",
                effect="Allow",
                actions=("kms:Decrypt", "kms:GenerateDataKey"),
                # the key lives in the platform stack (its id is not deterministic): keys of this account behind the
                # bucket's alias, used by S3 for this bucket (an S3 Bucket Key's context is the bucket's ARN)
                resources=(f"arn:aws:kms:{config.region}:{config.account_id}:key/*",),
                conditions={
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": config.bucket_key_alias},
                    "StringEquals": {"kms:ViaService": f"s3.{config.region}.amazonaws.com"},
                    # StringLike, as AWS documents it for Firehose (the context key is a string)
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [config.bucket_arn, *objects]},
                },
            )
        )
    return tuple(statements)


class ArchiveDeliveryStream(Construct):
    """One delivery stream with its log group, log stream and role."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stream: DeliveryStream,
        config: DeliveryConfig,
        after: list[ITerraformDependable],
        tags: dict[str, str],
    ) -> None:
        """``after``: the bucket (Firehose checks its destination when the stream is created)."""
        super().__init__(scope, id)
        self.log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=config.log_group,
            retention_in_days=config.log_retention_days,
            kms_key_id=config.log_key_arn,
            tags=tags,
        )
        self.log_stream = CloudwatchLogStream(self, "log-stream", name=LOG_STREAM, log_group_name=self.log_group.name)
        self.role = TargetRole(
            self,
            "role",
            name=config.role_name,
            service=FIREHOSE_SERVICE,
            account_id=config.account_id,
            source_arns=(config.arn,),
            statements=role_statements(stream, config),
            tags=tags,
        )
        sse = (
            {"enabled": True, "key_type": "CUSTOMER_MANAGED_CMK", "key_arn": config.stream_key_arn}
            if config.stream_key_arn
            else {"enabled": True, "key_type": "AWS_OWNED_CMK"}
        )
        self.stream = KinesisFirehoseDeliveryStream(
            self,
            "stream",
            name=config.name,
            destination="extended_s3",
            server_side_encryption=sse,
            extended_s3_configuration={
                "role_arn": self.role.role.arn,
                "bucket_arn": config.bucket_arn,
                "prefix": stream.s3_prefix,
                "error_output_prefix": stream.s3_error_prefix,
                "buffering_size": stream.buffer_mib,
                "buffering_interval": stream.buffer_interval,
                "compression_format": stream.compression,
                "kms_key_arn": config.bucket_key_arn,
                "cloudwatch_logging_options": {
                    "enabled": True,
                    "log_group_name": self.log_group.name,
                    "log_stream_name": self.log_stream.name,
                },
                "dynamic_partitioning_configuration": {"enabled": True, "retry_duration": RETRY_SECONDS},
                "processing_configuration": Processing(
                    enabled=True,
                    processors=[
                        Processor(
                            type="MetadataExtraction",
                            parameters=[
                                Parameter(parameter_name="JsonParsingEngine", parameter_value=JQ_ENGINE),
                                Parameter(parameter_name="MetadataExtractionQuery", parameter_value=TYPE_QUERY),
                            ],
                        ),
                        # one envelope per line: the archive reads as JSON Lines (Athena, jq, pandas)
                        Processor(type="AppendDelimiterToRecord"),
                    ],
                ),
            },
            tags=tags,
            depends_on=[self.role.policy, *after],  # Firehose checks the role's access when it creates the stream
            lifecycle=TerraformResourceLifecycle(ignore_changes=["server_side_encryption"])
            if config.ignore_encryption_readback
            else None,
        )
