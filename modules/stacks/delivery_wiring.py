"""The Firehose delivery streams of a domain stack, and what rule targets need to reach a catalog stream by name.

Per delivery stream: the ``aws_kinesis_firehose_delivery_stream`` into its bucket (built before it, in the same
stack), its log group and role (:class:`modules.delivery_stream.ArchiveDeliveryStream`), an output and an SSM
locator. Called from :class:`modules.stacks.domain.DomainStack` after the buckets; :func:`catalog_target` from
:mod:`modules.stacks.bus_wiring` for targets that name a catalog stream. Names and ARNs come from
:class:`eventform.catalog.naming.Names`.
"""

from __future__ import annotations

from cdktn import TerraformOutput

from eventform.catalog.model import Domain, Target
from modules.bucket import ObjectBucket
from modules.delivery_stream import ArchiveDeliveryStream, DeliveryConfig
from modules.parameters import locator
from modules.policies import Statement
from modules.stacks.base import DomainParts, output_id


def build_delivery_streams(
    stack: DomainParts, domain: Domain, buckets: dict[str, ObjectBucket], tags: dict[str, str]
) -> dict[str, ArchiveDeliveryStream]:
    names, environment = stack.names, stack.environment
    built = {}
    for stream in domain.delivery_streams:
        name = names.delivery_stream(domain.name, stream.name)
        key_arn = stack.kms_key_arn_for(domain.name)  # the domain key's ARN (Firehose and Logs take no alias)
        made = built[stream.name] = ArchiveDeliveryStream(
            stack,
            f"delivery-stream-{stream.name}",
            stream=stream,
            config=DeliveryConfig(
                name=name,
                arn=names.delivery_stream_arn(name),
                role_name=names.delivery_role(domain.name, stream.name),
                bucket_arn=names.bucket_arn(domain.name, stream.bucket),
                log_group=names.delivery_log_group(name),
                log_retention_days=environment.log_retention_days,
                region=environment.region,
                account_id=environment.account_id,
                stream_key_arn=key_arn,
                bucket_key_arn=key_arn,  # the bucket's default key is the domain key too (modules/bucket.py)
                bucket_key_alias=names.key_alias(domain.name) if key_arn else None,
                log_key_arn=key_arn,
                ignore_encryption_readback=environment.is_local,
            ),
            after=[buckets[stream.bucket].bucket],
            tags=tags,
        )
        TerraformOutput(stack, output_id(stream.name, "delivery_stream_arn"), value=made.stream.arn)
        locator(
            stack,
            f"delivery-stream-{stream.name}-parameter",
            name=names.parameter(domain.name, "delivery_streams", stream.name),
            value=made.stream.name,
            description=f"name of the {stream.qualified_name} Firehose delivery stream (records: CloudEvents "
            "envelopes)",
            tags=tags,
        )
    return built


def catalog_target(stack: DomainParts, target: Target) -> tuple[str, tuple[Statement, ...]]:
    """The ARN of the catalog stream a rule target names, and what its role needs beyond PutRecord(s) /
    PutRecordBatch: a Kinesis stream under a customer-managed key takes records only from callers that may
    generate data keys with it (Firehose's SSE key is Firehose's own business: it holds a grant)."""
    assert target.stream is not None
    names, environment = stack.names, stack.environment
    domain, _, name = target.stream.partition("/")
    if target.kind == "firehose":
        return names.delivery_stream_arn(names.delivery_stream(domain, name)), ()
    arn = names.stream_arn(names.catalog_stream(domain, name))
    if not environment.customer_managed_keys:
        return arn, ()  # alias/aws/kinesis: its key policy admits the account's callers through Kinesis
    return arn, (
        Statement(
            sid="EncryptWithTheStreamKey",
            effect="Allow",
            actions=("kms:GenerateDataKey",),
            resources=(f"arn:aws:kms:{environment.region}:{environment.account_id}:key/*",),
            conditions={
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": names.key_alias(domain)},
                "StringEquals": {"kms:ViaService": f"kinesis.{environment.region}.amazonaws.com"},
            },
        ),
    )
