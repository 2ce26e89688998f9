"""What every eventform stack shares: provider, backend, tags, alarm settings and keys; and the small interface the
per-feature wiring (buses, pipes) builds on, so that no wiring module imports the domain stack back."""

from __future__ import annotations

from dataclasses import replace

from cdktn import LocalBackend, S3Backend, TerraformStack
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.data_aws_kms_key import DataAwsKmsKey
from cdktn_provider_aws.data_aws_ssm_parameter import DataAwsSsmParameter
from cdktn_provider_aws.provider import AwsProvider, AwsProviderEndpoints
from constructs import Construct

from eventform.catalog.model import Catalog, Consumer, Domain, Environment
from eventform.catalog.naming import Names
from eventform.synthesis.packaging import Package
from modules.alarms import AlarmSettings
from modules.bus import EventBus
from modules.dead_letter import DeliveryDlq
from modules.function import POWERTOOLS_LAYER_PARAMETER, ConsumerFunction
from modules.policies import Statement
from modules.queue import ConsumerQueue

REQUIRED_TERRAFORM = ">= 1.10.0"  # S3-native state locking


PLATFORM = "platform"


PLATFORM_OWNER = "platform"

# The idempotency table's own key (alias/eventform/<env>/platform-idempotency): every consumer role may use it; no
# role may use the alarm topic's key.
IDEMPOTENCY_KEY = "platform-idempotency"


# Services the local environment reaches on the embedded AWS (all exist in provider 5.100 and 6.x).
LOCAL_SERVICES = (
    "apigateway",
    "cloudwatch",
    "dynamodb",
    "events",
    "firehose",
    "iam",
    "kinesis",
    "kms",
    "lambda",
    "logs",
    "pipes",
    "s3",
    "scheduler",
    "ses",
    "secretsmanager",
    "sns",
    "sfn",
    "sqs",
    "ssm",
    "sts",
)


def _python_keyword(service: str) -> str:
    """jsii renames provider arguments that are Python keywords (``lambda`` -> ``lambda_``)."""
    return "lambda_" if service == "lambda" else service


def output_id(*parts: str) -> str:
    """Terraform identifiers cannot hold '-': ``send-email``, ``queue_url`` -> ``send_email_queue_url``."""
    return "_".join(parts).replace("-", "_").replace(".", "_")


def domain_has_bucket_topic(catalog: Catalog, domain: Domain) -> bool:
    consumers = (c for b in domain.buckets for c in catalog.bucket_consumers(domain.name, b.name))
    return any(c.objects is not None and c.objects.path == "topic" for c in consumers)


class EventformStack(TerraformStack):
    """Provider, backend and provider version constraint from the environment."""

    def __init__(self, scope: Construct, id: str, *, environment: Environment) -> None:
        super().__init__(scope, id)
        self.environment = environment
        self.names = Names(env=environment.name, region=environment.region, account_id=environment.account_id)
        self._key_lookups: dict[str, DataAwsKmsKey] = {}
        self._powertools_layer: DataAwsSsmParameter | None = None
        if environment.is_local:
            AwsProvider(
                self,
                "aws",
                region=environment.region,
                skip_credentials_validation=True,
                skip_metadata_api_check="true",
                skip_requesting_account_id=True,
                skip_region_validation=True,
                s3_use_path_style=True,
                endpoints=[AwsProviderEndpoints(**{_python_keyword(s): environment.endpoint for s in LOCAL_SERVICES})],
            )
        else:
            AwsProvider(self, "aws", region=environment.region, allowed_account_ids=[environment.account_id])
        if environment.backend.type == "s3":
            S3Backend(
                self,
                bucket=environment.backend.bucket or "",
                key=f"{environment.backend.key_prefix}/{id}.tfstate",
                region=environment.backend.region,
                encrypt=True,
                kms_key_id=environment.backend.kms_key,  # the environment's own key: state holds secrets read at plan
                use_lockfile=True,  # S3-native locking (Terraform >= 1.10), no DynamoDB table
            )
        else:
            # Relative to cdktf.out/stacks/<stack>: the state lives at the project root and survives re-synthesis.
            LocalBackend(self, path=f"../../../terraform.{id}.tfstate")
        self.add_override("terraform.required_providers.aws.version", environment.provider_version)
        self.add_override("terraform.required_version", REQUIRED_TERRAFORM)

    def tags(self, domain: str, owner: str, classification: str) -> dict[str, str]:
        return {
            **self.environment.tags,
            "env": self.environment.name,
            "domain": domain,
            "owner": owner,
            "data-classification": classification,
            "managed-by": "eventform",
        }

    def alarm_settings(self) -> AlarmSettings:
        alarms = self.environment.alarms
        return AlarmSettings(
            alarm_topic_arn=self.names.alarm_topic_arn,
            dlq_messages=alarms.dlq_messages,
            oldest_message_age=alarms.oldest_message_age,
            period=alarms.period,
            evaluation_periods=alarms.evaluation_periods,
        )

    def consumer_alarm_settings(self, consumer: Consumer) -> AlarmSettings:
        """A consumer's queue alarms: the lag threshold from its service level; outside ``local`` they notify
        through the consumer's composite alarm only (the embedded AWS has no composite alarms)."""
        return replace(
            self.alarm_settings(),
            oldest_message_age=consumer.slo_for(self.environment).max_lag,
            notify=self.environment.is_local,
        )

    def kms_key_for(self, domain: str) -> str | None:
        """The domain key by alias ARN: what SNS, SQS and S3 accept."""
        return self.names.key_alias_arn(domain) if self.environment.customer_managed_keys else None

    def powertools_layers(self) -> tuple[str, ...]:
        """AWS's Powertools layer of the locked release for every function, looked up once per stack in the
        environment's region; none locally (the embedded AWS has no AWS-owned layers)."""
        if self.environment.is_local:
            return ()
        if self._powertools_layer is None:
            self._powertools_layer = DataAwsSsmParameter(self, "powertools-layer", name=POWERTOOLS_LAYER_PARAMETER)
        return (self._powertools_layer.insecure_value,)

    def kms_key_arn_for(self, domain: str) -> str | None:
        """The domain key's own ARN, looked up by alias: Lambda, CloudWatch Logs and Scheduler accept no alias."""
        if not self.environment.customer_managed_keys:
            return None
        if domain not in self._key_lookups:
            self._key_lookups[domain] = DataAwsKmsKey(self, f"key-{domain}", key_id=self.names.key_alias(domain))
        return self._key_lookups[domain].arn


class DomainParts(EventformStack):
    """What the per-feature wiring (:mod:`modules.stacks.bus_wiring`, :mod:`modules.stacks.pipe_wiring`) may use of
    a domain stack: the model it builds from and the shared building blocks every delivery path needs. The wiring
    imports this interface, never :class:`modules.stacks.domain.DomainStack` itself."""

    catalog: Catalog
    packages: dict[str, Package]
    bus: EventBus | None
    built_alarms: dict[str, CloudwatchMetricAlarm]  # by alarm name: the queue and DLQ alarms built so far

    def delivery_dlq(
        self,
        id: str,
        name: str,
        *,
        domain: str,
        tags: dict[str, str],
        rule_arns: tuple[str, ...] = (),
        consumer: Consumer | None = None,
    ) -> DeliveryDlq:
        """The DLQ of a delivery path (rule targets, schedules, pipes, pushed functions), with its alarm."""
        raise NotImplementedError

    def consumer_queue(
        self,
        consumer: Consumer,
        tags: dict[str, str],
        *,
        fifo: bool,
        sender_topic_arns: tuple[str, ...] = (),
        extra_sender_statements: tuple[Statement, ...] = (),
    ) -> ConsumerQueue:
        """A consumer's queue and DLQ, open to exactly the senders named."""
        raise NotImplementedError

    def consumer_locator(self, consumer: Consumer, queue: ConsumerQueue, tags: dict[str, str]) -> None:
        """Outputs and the SSM parameter that tell services where a consumer's queue is."""
        raise NotImplementedError

    def consumer_function(
        self,
        consumer: Consumer,
        queue: ConsumerQueue | None,
        tags: dict[str, str],
        *,
        failure_queue_arn: str | None = None,
    ) -> ConsumerFunction:
        """A consumer's function, fed by ``queue`` or pushed to (``queue=None``)."""
        raise NotImplementedError
