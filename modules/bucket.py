"""A domain's S3 bucket and its event notifications: private, encrypted, versioned, TLS only; S3 notifies exactly
the destinations the catalog's consumers declare (their queues, functions, the bucket's topic, EventBridge)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import ITerraformDependable, TerraformResourceLifecycle
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktn_provider_aws.s3_bucket_notification import (
    S3BucketNotification,
    S3BucketNotificationLambdaFunction,
    S3BucketNotificationQueue,
    S3BucketNotificationTopic,
)
from cdktn_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls
from cdktn_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktn_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktn_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from constructs import Construct

from eventform.catalog.model import ObjectSource
from modules.policies import Statement, document

INCOMPLETE_UPLOAD_DAYS = 7


@dataclass(frozen=True)
class BucketConfig:
    name: str
    arn: str
    versioning: bool
    kms_key: str | None  # None: SSE-KMS with the AWS-managed aws/s3 key
    noncurrent_days: int  # older versions expire after this many days
    force_destroy: bool  # locally only: `local down` empties the bucket instead of failing
    tls_only: bool  # not locally: the embedded AWS speaks plain HTTP, and moto enforces bucket policies


@dataclass(frozen=True)
class Destination:
    """One notification configuration: which object events go to which queue, function or topic."""

    kind: str  # queue | function | topic
    id: str
    arn: str
    objects: ObjectSource
    after: ITerraformDependable  # the policy or permission that admits this bucket: S3 checks it when configured


class ObjectBucket(Construct):
    def __init__(self, scope: Construct, id: str, *, config: BucketConfig, tags: dict[str, str]) -> None:
        super().__init__(scope, id)
        self.config = config
        self.bucket = S3Bucket(self, "bucket", bucket=config.name, force_destroy=config.force_destroy, tags=tags)
        S3BucketOwnershipControls(
            self, "ownership", bucket=self.bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}
        )
        S3BucketPublicAccessBlock(
            self,
            "public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=self.bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="aws:kms", kms_master_key_id=config.kms_key
                        )
                    ),
                    bucket_key_enabled=True,  # one data key per bucket and period: far fewer KMS calls
                )
            ],
        )
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled" if config.versioning else "Suspended"},
        )
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=self.bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="housekeeping",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=INCOMPLETE_UPLOAD_DAYS
                        )
                    ],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=config.noncurrent_days
                        )
                    ],
                )
            ],
        )
        if config.tls_only:
            S3BucketPolicy(
                self,
                "policy",
                bucket=self.bucket.id,
                policy=document(
                    Statement(
                        sid="DenyInsecureTransport",
                        effect="Deny",
                        principal="*",
                        actions=("s3:*",),
                        resources=(config.arn, f"{config.arn}/*"),
                        conditions={"Bool": {"aws:SecureTransport": "false"}},
                    )
                ),
            )

    def notify(
        self, destinations: list[Destination], *, eventbridge: bool, eventbridge_read_back: bool = True
    ) -> S3BucketNotification | None:
        """The bucket's one notification configuration (S3 holds one per bucket, so it is built once, last).

        ``eventbridge_read_back=False`` (local): the embedded AWS sends to EventBridge but never reports the
        setting back, so Terraform ignores that attribute after creation instead of planning it again forever."""
        if not destinations and not eventbridge:
            return None

        def key_filter(objects: ObjectSource) -> dict[str, str | None]:
            return {"filter_prefix": objects.prefix or None, "filter_suffix": objects.suffix or None}

        def of(kind: str) -> list[Destination]:
            return [d for d in destinations if d.kind == kind]

        return S3BucketNotification(
            self,
            "notification",
            bucket=self.bucket.id,
            eventbridge=eventbridge or None,
            queue=[
                S3BucketNotificationQueue(
                    id=d.id, queue_arn=d.arn, events=list(d.objects.s3_types), **key_filter(d.objects)
                )
                for d in of("queue")
            ]
            or None,
            lambda_function=[
                S3BucketNotificationLambdaFunction(
                    id=d.id, lambda_function_arn=d.arn, events=list(d.objects.s3_types), **key_filter(d.objects)
                )
                for d in of("function")
            ]
            or None,
            topic=[
                S3BucketNotificationTopic(
                    id=d.id, topic_arn=d.arn, events=list(d.objects.s3_types), **key_filter(d.objects)
                )
                for d in of("topic")
            ]
            or None,
            depends_on=[d.after for d in destinations] or None,
            lifecycle=None if eventbridge_read_back else TerraformResourceLifecycle(ignore_changes=["eventbridge"]),
        )
