"""The per-environment platform stack: the alarm topic and its key, one KMS key per domain where the environment
asks for customer-managed encryption, shared tables and the schema registry."""

from __future__ import annotations

from cdktn import TerraformOutput
from cdktn_provider_aws.dynamodb_table import DynamodbTable
from constructs import Construct

from eventform.catalog.model import Catalog, Environment
from modules.encryption import DomainKey, domain_key_services
from modules.parameters import locator
from modules.policies import Statement, document
from modules.stacks import bus_wiring
from modules.stacks.base import (
    IDEMPOTENCY_KEY,
    PLATFORM,
    PLATFORM_OWNER,
    EventformStack,
    domain_has_bucket_topic,
    output_id,
)
from modules.topic import ALERT_PROTOCOLS, EventTopic


class PlatformStack(EventformStack):
    """Per environment: the alarm topic (always with its own key: CloudWatch cannot use the AWS-managed SNS key)
    and, where the environment asks for customer-managed encryption, one KMS key per domain."""

    def __init__(self, scope: Construct, id: str, *, environment: Environment, catalog: Catalog) -> None:
        super().__init__(scope, id, environment=environment)
        tags = self.tags(PLATFORM, PLATFORM_OWNER, "internal")
        names = self.names
        region, account = environment.region, environment.account_id
        alarm_key = DomainKey(
            self,
            "alarm-key",
            alias=names.key_alias(PLATFORM),
            account_id=account,
            description=f"eventform {environment.name}: alarm topic",
            # CloudWatch alarms and the API-call rules publish to the alarm topic; SNS delivers it
            services=tuple(
                s
                for s in domain_key_services(
                    region=region, account_id=account, env=environment.name, buckets=False, alarms=True
                )
                if not s.principal.startswith("logs.")
            ),
            admin_role=environment.key_admin_role,
            tags=tags,
        )
        alarm_topic = EventTopic(
            self,
            "alarm-topic",
            name=names.alarm_topic,
            arn=names.alarm_topic_arn,
            account_id=environment.account_id,
            fifo=False,
            content_based_deduplication=False,
            kms_key=alarm_key.alias.name,
            tags=tags,
            subscribe_protocols=ALERT_PROTOCOLS,  # alarms reach people: e-mail, chat (https), SMS
            extra_statements=(
                Statement(
                    sid="CloudWatchAlarmsPublish",
                    effect="Allow",
                    principal={"Service": "cloudwatch.amazonaws.com"},
                    actions=("sns:Publish",),
                    resources=(names.alarm_topic_arn,),
                    conditions={
                        "ArnLike": {
                            "aws:SourceArn": f"arn:aws:cloudwatch:{environment.region}:{environment.account_id}:alarm:*"
                        },
                        "StringEquals": {"aws:SourceAccount": environment.account_id},
                    },
                ),
                bus_wiring.alarm_topic_statement(
                    environment.region, environment.account_id, environment.name, names.alarm_topic_arn
                ),
            ),
        )
        TerraformOutput(self, "alarm_topic_arn", value=alarm_topic.topic.arn)
        locator(
            self,
            "alarm-topic-parameter",
            name=names.parameter(PLATFORM, "alarm_topic_arn"),
            value=alarm_topic.topic.arn,
            description="Topic every eventform alarm notifies",
            tags=tags,
        )
        idempotency_key = (
            DomainKey(
                self,
                "idempotency-key",
                alias=names.key_alias(IDEMPOTENCY_KEY),
                account_id=account,
                description=f"eventform {environment.name}: idempotency records",
                services=(),  # DynamoDB uses the key through the callers' permissions (consumer roles)
                admin_role=environment.key_admin_role,
                tags=tags,
            )
            if environment.customer_managed_keys
            else None
        )
        DynamodbTable(
            self,
            "idempotency",
            name=names.idempotency_table,
            billing_mode="PAY_PER_REQUEST",
            hash_key="id",
            attribute=[{"name": "id", "type": "S"}],
            ttl={"attribute_name": "expiration", "enabled": True},  # Powertools' expiry attribute
            point_in_time_recovery={"enabled": True},
            server_side_encryption={
                "enabled": True,
                **({"kms_key_arn": idempotency_key.key.arn} if idempotency_key else {}),
            },
            tags=tags,
        )
        for domain in catalog.domains:
            # S3 publishes to a bucket's topic only under a customer-managed key: such domains get theirs anyway.
            if environment.customer_managed_keys or domain_has_bucket_topic(catalog, domain):
                key = DomainKey(
                    self,
                    f"key-{domain.name}",
                    alias=names.key_alias(domain.name),
                    account_id=account,
                    description=f"eventform {environment.name}: {domain.name}",
                    services=domain_key_services(
                        region=region,
                        account_id=account,
                        env=environment.name,
                        buckets=bool(domain.buckets),
                        apis=bool(domain.ingestion),
                    ),
                    admin_role=environment.key_admin_role,
                    tags=self.tags(domain.name, domain.owner, domain.data_classification),
                )
                TerraformOutput(self, output_id(domain.name, "key_arn"), value=key.key.arn)
        if not environment.is_local:  # SNS's active tracing writes its segments to X-Ray: only this account's topics
            from cdktn_provider_aws.xray_resource_policy import XrayResourcePolicy

            XrayResourcePolicy(
                self,
                "xray-sns",
                policy_name=f"eventform-{environment.name}-sns",
                policy_document=document(
                    Statement(
                        sid="SnsActiveTracing",
                        effect="Allow",
                        principal={"Service": "sns.amazonaws.com"},
                        actions=("xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTraceSegments"),
                        resources=("*",),  # X-Ray's trace API has no resource-level permissions
                        conditions={
                            "StringEquals": {"aws:SourceAccount": account},
                            "ArnLike": {"aws:SourceArn": f"arn:aws:sns:{region}:{account}:{environment.name}-*"},
                        },
                    )
                ),
            )
        if not environment.is_local:  # the overview of every domain's dashboard (modules/dashboard.py)
            from modules.dashboard import dashboard, domain_pages, overview_pages
            from modules.observability import consumer_watch

            overview = []
            for domain in catalog.domains:
                watches = [consumer_watch(c, environment, names) for c in domain.consumers]
                overview.append((domain, watches, len(domain_pages(domain, environment, names, watches))))
            for number, page in enumerate(overview_pages(environment, overview), start=1):
                dashboard(self, "overview" if number == 1 else f"overview-{number}", page=page)
        if any(d.ingestion for d in catalog.domains):  # API Gateway's logging role (one per account and region)
            from modules.stacks.ingestion_wiring import build_account_logging

            build_account_logging(self, tags)
        if environment.eventbridge.schema_registry:
            from modules.schema_registry import SchemaRegistry

            SchemaRegistry(self, "schema-registry", name=names.schema_registry, catalog=catalog, tags=tags)
