"""A Kinesis data stream of the catalog: on-demand or provisioned, KMS-encrypted, with its retention."""

from __future__ import annotations

from cdktn import TerraformResourceLifecycle
from cdktn_provider_aws.kinesis_stream import KinesisStream
from constructs import Construct

# Kinesis's AWS-managed key: what a stream uses where the environment keeps service-managed encryption.
KINESIS_MANAGED_KEY = "alias/aws/kinesis"


class EventStream(Construct):
    """One stream. Encrypted at rest in every environment (the domain key where customer-managed); records are
    CloudEvents envelopes, so the stream is as sensitive as the events it carries."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        mode: str,
        shards: int | None,
        retention_hours: int,
        kms_key: str | None,
        tags: dict[str, str],
        ignore_tag_readback: bool = False,
    ) -> None:
        super().__init__(scope, id)
        provisioned = mode == "provisioned"
        self.stream = KinesisStream(
            self,
            "stream",
            name=name,
            stream_mode_details={"stream_mode": "PROVISIONED" if provisioned else "ON_DEMAND"},
            shard_count=shards if provisioned else None,
            retention_period=retention_hours,
            encryption_type="KMS",
            kms_key_id=kms_key or KINESIS_MANAGED_KEY,
            tags=tags,
            # the embedded AWS (moto) drops CreateStream's Tags: locally the plan would re-tag forever
            lifecycle=TerraformResourceLifecycle(ignore_changes=["tags", "tags_all"]) if ignore_tag_readback else None,
        )
