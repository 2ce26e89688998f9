"""The stacks: one per (environment, domain) and one platform stack per environment.

Stacks receive frozen model objects and never read files or the process environment. Cross-stack references are
deterministic names and ARNs (:class:`eventform.naming.Names`), not remote state.
"""

from __future__ import annotations

from cdktn import Fn, LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktn_provider_aws.dynamodb_table import DynamodbTable
from cdktn_provider_aws.provider import AwsProvider, AwsProviderEndpoints
from constructs import Construct

from eventform import filters
from eventform.model import Catalog, Consumer, Domain, Environment
from eventform.naming import Names
from eventform.packaging import Package
from modules import eventbridge, pipes
from modules.alarms import AlarmSettings
from modules.dead_letter import DeliveryDlq
from modules.encryption import DomainKey
from modules.function import POWERTOOLS_LAYER, ConsumerFunction, FunctionConfig, Grants
from modules.parameters import locator
from modules.policies import Statement
from modules.queue import ConsumerQueue, QueueConfig, QueueNames, tap_queue
from modules.subscription import function_subscription, queue_subscription
from modules.topic import EventTopic

REQUIRED_TERRAFORM = ">= 1.10.0"  # S3-native state locking
PLATFORM = "platform"
PLATFORM_OWNER = "platform"
# Services the local environment reaches on the embedded AWS (all exist in provider 5.100 and 6.x).
LOCAL_SERVICES = (
    "cloudwatch",
    "dynamodb",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "pipes",
    "s3",
    "scheduler",
    "ses",
    "secretsmanager",
    "sns",
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


class EventformStack(TerraformStack):
    """Provider, backend and provider version constraint from the environment."""

    def __init__(self, scope: Construct, id: str, *, environment: Environment) -> None:
        super().__init__(scope, id)
        self.environment = environment
        self.names = Names(env=environment.name, region=environment.region, account_id=environment.account_id)
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

    def kms_key_for(self, domain: str) -> str | None:
        return self.names.key_alias_arn(domain) if self.environment.customer_managed_keys else None


class PlatformStack(EventformStack):
    """Per environment: the alarm topic (always with its own key: CloudWatch cannot use the AWS-managed SNS key)
    and, where the environment asks for customer-managed encryption, one KMS key per domain."""

    def __init__(self, scope: Construct, id: str, *, environment: Environment, catalog: Catalog) -> None:
        super().__init__(scope, id, environment=environment)
        tags = self.tags(PLATFORM, PLATFORM_OWNER, "internal")
        names = self.names
        alarm_key = DomainKey(
            self,
            "alarm-key",
            alias=names.key_alias(PLATFORM),
            account_id=environment.account_id,
            description=f"eventform {environment.name}: alarm topic",
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
                eventbridge.alarm_topic_statement(
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
                **({"kms_key_arn": alarm_key.key.arn} if environment.customer_managed_keys else {}),
            },
            tags=tags,
        )
        if environment.customer_managed_keys:
            for domain in catalog.domains:
                key = DomainKey(
                    self,
                    f"key-{domain.name}",
                    alias=names.key_alias(domain.name),
                    account_id=environment.account_id,
                    description=f"eventform {environment.name}: {domain.name}",
                    tags=self.tags(domain.name, domain.owner, domain.data_classification),
                )
                TerraformOutput(self, output_id(domain.name, "key_arn"), value=key.key.arn)
        if environment.eventbridge.schema_registry:
            from modules.schema_registry import SchemaRegistry

            SchemaRegistry(self, "schema-registry", name=names.schema_registry, catalog=catalog, tags=tags)


def _function_environment(consumer: Consumer, environment: Environment, names: Names) -> dict[str, str]:
    return {
        **dict(consumer.function.environment),
        "EVENTFORM_ENV": environment.name,
        "EVENTFORM_FIFO": "true" if consumer.fifo else "false",
        "IDEMPOTENCY_TABLE": names.idempotency_table,
        "POWERTOOLS_SERVICE_NAME": consumer.qualified_name,
        "TIMEOUT_GUARD_MS": str(min(2000, consumer.function.timeout * 200)),
    }


class DomainStack(EventformStack):
    """A domain's topic (if it publishes) and the queues and subscriptions of the consumers it owns."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment: Environment,
        catalog: Catalog,
        domain: Domain,
        packages: dict[str, Package] | None = None,
    ) -> None:
        super().__init__(scope, id, environment=environment)
        self.catalog = catalog
        self.packages = packages or {}
        self.domain = domain
        tags = self.tags(domain.name, domain.owner, domain.data_classification)
        names = self.names
        if domain.topic is not None:
            topic = EventTopic(
                self,
                "topic",
                name=names.topic(domain.name, domain.topic.fifo),
                arn=names.topic_arn(domain.name, domain.topic.fifo),
                account_id=environment.account_id,
                fifo=domain.topic.fifo,
                content_based_deduplication=domain.topic.content_based_deduplication,
                kms_key=self.kms_key_for(domain.name),
                tags=tags,
            )
            TerraformOutput(self, "topic_arn", value=topic.topic.arn)
            locator(
                self,
                "topic-parameter",
                name=names.parameter(domain.name, "topic_arn"),
                value=topic.topic.arn,
                description=f"SNS topic of the {domain.name} domain's events",
                tags=tags,
            )
        self.bus = eventbridge.build_bus(self, domain, tags)
        for consumer in domain.consumers:
            self._consumer(consumer, tags)
        eventbridge.build_schedules(self, domain, tags)
        eventbridge.build_api_call_alerts(self, domain, tags)
        pipes.build_pipes(self, domain, tags)  # after the consumers: pipes read their queues and tables

    def _consumer(self, consumer: Consumer, tags: dict[str, str]) -> None:
        if consumer.route is not None:  # subscribes through EventBridge buses
            eventbridge.build_bus_consumer(self, consumer, tags)
            return
        if consumer.delivery == "push":  # SNS invokes the function
            self._push_consumer(consumer, tags)
            return
        names = self.names
        sources = {d: self.catalog.domain(d) for d in consumer.source_domains()}
        topic_arns = {d: names.topic_arn(d, bool(s.topic and s.topic.fifo)) for d, s in sources.items()}
        queue = self.consumer_queue(consumer, tags, fifo=consumer.fifo, sender_topic_arns=tuple(topic_arns.values()))
        for source, topic_arn in topic_arns.items():
            queue_subscription(
                self,
                f"consumer-{consumer.name}-from-{source}",
                topic_arn=topic_arn,
                queue_arn=queue.queue.arn,
                filter_policy=filters.subscription_policy(list(consumer.events_from(source)), consumer.filter),
                filter_scope=consumer.filter_scope,
            )
        if consumer.handler:
            self.consumer_function(consumer, queue, tags)
        self.consumer_locator(consumer, queue, tags)

    def consumer_queue(
        self,
        consumer: Consumer,
        tags: dict[str, str],
        *,
        fifo: bool,
        sender_topic_arns: tuple[str, ...] = (),
        extra_sender_statements: tuple[Statement, ...] = (),
    ) -> ConsumerQueue:
        """The consumer's queue and DLQ with the environment's settings, whether topics or rules send to it."""
        names, environment = self.names, self.environment
        settings = consumer.queue_for(environment)
        queue_name = names.queue(consumer.domain, consumer.name, fifo)
        dlq_name = names.dlq(consumer.domain, consumer.name, fifo)
        return ConsumerQueue(
            self,
            f"consumer-{consumer.name}",
            names=QueueNames(
                queue=queue_name,
                queue_arn=names.queue_arn(queue_name),
                dlq=dlq_name,
                dlq_arn=names.queue_arn(dlq_name),
                dlq_alarm=names.alarm(dlq_name, "visible-messages"),
                age_alarm=names.alarm(queue_name, "oldest-message-age"),
            ),
            config=QueueConfig(
                fifo=fifo,
                max_receive_count=settings.max_receive_count,
                visibility_timeout=settings.visibility_timeout,
                retention=settings.retention,
                delay=settings.delay,
                dlq_retention=environment.dlq_retention,
                kms_key=self.kms_key_for(consumer.domain),
                redrive_allow_policy=not environment.is_local,
            ),
            sender_topic_arns=sender_topic_arns,
            alarms=self.alarm_settings(),
            tags=tags,
            extra_sender_statements=extra_sender_statements,
        )

    def consumer_locator(self, consumer: Consumer, queue: ConsumerQueue, tags: dict[str, str]) -> None:
        """Outputs and the consumer's JSON SSM locator (queue and DLQ URL and ARN)."""
        for attribute, value in (("queue_url", queue.queue.url), ("queue_arn", queue.queue.arn)):
            TerraformOutput(self, output_id(consumer.name, attribute), value=value)
        # One parameter per consumer (JSON): services make one call, and synthesis stays fast at 1,000s of consumers.
        locator(
            self,
            f"consumer-{consumer.name}-parameter",
            name=self.names.parameter(consumer.domain, "consumers", consumer.name),
            value=Fn.jsonencode(
                {
                    "queue_url": queue.queue.url,
                    "queue_arn": queue.queue.arn,
                    "dlq_url": queue.dlq.url,
                    "dlq_arn": queue.dlq.arn,
                }
            ),
            description=f"queue_url, queue_arn, dlq_url, dlq_arn of consumer {consumer.qualified_name} (JSON)",
            tags=tags,
        )

    def _push_consumer(self, consumer: Consumer, tags: dict[str, str]) -> None:
        """SNS invokes the function (asynchronously): a permission per topic, Lambda's retries, then the DLQ.

        The embedded AWS cannot run functions, so locally each topic delivers to a tap queue instead (same filter
        policy) from which the local runner replays SNS's invocations, retries and on-failure destination.
        """
        names, environment = self.names, self.environment
        sources = {d: self.catalog.domain(d) for d in consumer.source_domains()}
        topic_arns = {d: names.topic_arn(d, False) for d in sources}
        dlq_name = names.dlq(consumer.domain, consumer.name, False)
        dlq = DeliveryDlq(
            self,
            f"consumer-{consumer.name}-dlq",
            name=dlq_name,
            arn=names.queue_arn(dlq_name),
            alarm_name=names.alarm(dlq_name, "visible-messages"),
            rule_arns=(),
            retention=environment.dlq_retention,
            kms_key=self.kms_key_for(consumer.domain),
            alarms=self.alarm_settings(),
            tags=tags,
        )
        function = self.consumer_function(consumer, None, tags, failure_queue_arn=dlq.arn_value)
        function.asynchronous_invocations(
            retries=consumer.push.retries, max_event_age=consumer.push.max_event_age, on_failure=dlq.queue.arn
        )
        tap = None
        if environment.is_local:
            tap_name = names.queue(consumer.domain, consumer.name, False)
            tap = tap_queue(
                self,
                f"consumer-{consumer.name}-tap",
                name=tap_name,
                arn=names.queue_arn(tap_name),
                sender_topic_arns=tuple(topic_arns.values()),
                tags=tags,
            )
        for source, topic_arn in topic_arns.items():
            policy = filters.subscription_policy(list(consumer.events_from(source)), consumer.filter)
            if tap is None:
                permission = function.invoked_by_topic(f"from-{source}", topic_arn)
                function_subscription(
                    self,
                    f"consumer-{consumer.name}-from-{source}",
                    topic_arn=topic_arn,
                    function_arn=function.function.arn,
                    filter_policy=policy,
                    filter_scope=consumer.filter_scope,
                    depends_on=[permission],
                )
            else:
                queue_subscription(
                    self,
                    f"consumer-{consumer.name}-from-{source}",
                    topic_arn=topic_arn,
                    queue_arn=tap.arn,
                    filter_policy=policy,
                    filter_scope=consumer.filter_scope,
                    raw=False,
                )
        TerraformOutput(self, output_id(consumer.name, "function_arn"), value=function.function.arn)
        located = {
            "delivery": "push",
            "function_arn": function.function.arn,
            "dlq_url": dlq.queue.url,
            "dlq_arn": dlq.queue.arn,
        }
        if tap is not None:
            located |= {"queue_url": tap.url, "queue_arn": tap.arn}
        locator(
            self,
            f"consumer-{consumer.name}-parameter",
            name=names.parameter(consumer.domain, "consumers", consumer.name),
            value=Fn.jsonencode(located),
            description=f"function_arn, dlq_url, dlq_arn of push consumer {consumer.qualified_name} (JSON)",
            tags=tags,
        )

    def consumer_function(
        self,
        consumer: Consumer,
        queue: ConsumerQueue | None,
        tags: dict[str, str],
        *,
        failure_queue_arn: str | None = None,
    ) -> ConsumerFunction:
        """The one way to build a consumer's handler as a Lambda function: fed by its queue (SNS and EventBridge
        queue consumers alike, with an event source mapping), or pushed (``queue=None``: SNS push consumers and
        EventBridge Lambda targets), whose Lambda on-failure destination is ``failure_queue_arn``. The caller adds
        the invoke permissions and :meth:`ConsumerFunction.asynchronous_invocations`."""
        names, environment, settings = self.names, self.environment, consumer.function
        package = self.packages[consumer.qualified_name]
        function_name = names.function(consumer.domain, consumer.name)
        prefix = f"arn:aws:{{}}:{environment.region}:{environment.account_id}:"
        publish = sorted(
            {
                names.topic_arn(e.domain, bool(t.fifo))
                for q in consumer.emits
                for e in [self.catalog.event(q)]
                if (t := self.catalog.domain(e.domain).topic)
            }
        )
        keys = sorted(
            {names.key_alias_arn(consumer.domain), *(names.key_alias_arn(d) for d in consumer.source_domains())}
        )
        return ConsumerFunction(
            self,
            f"consumer-{consumer.name}-function",
            queue=queue.queue if queue else None,
            config=FunctionConfig(
                name=function_name,
                role_name=names.role(consumer.domain, consumer.name),
                handler=package.handler,
                package_path=str(package.path),
                package_hash=package.sha256_base64,
                memory=settings.memory,
                timeout=settings.timeout,
                reserved_concurrency=settings.reserved_concurrency,
                batch_size=settings.batch_size,
                batching_window=settings.batching_window,
                max_concurrency=settings.max_concurrency,
                environment=_function_environment(consumer, environment, names),
                log_retention_days=environment.log_retention_days,
                region=environment.region,
                account_id=environment.account_id,
                fifo=consumer.fifo,
                mapping_enabled=not environment.is_local,
                email_senders=settings.email_senders,
                layers=() if environment.is_local else (POWERTOOLS_LAYER.format(region=environment.region),),
            ),
            grants=Grants(
                queue_arn=queue.names.queue_arn if queue else None,
                failure_queue_arn=failure_queue_arn,
                tables={t: names.table(consumer.domain, consumer.name, t) for t in settings.tables},
                idempotency_table_arn=names.table_arn(names.idempotency_table),
                publish_topic_arns=tuple(publish),
                parameter_arns=tuple(prefix.format("ssm") + f"parameter{p}" for p in settings.parameters),
                secret_arns=tuple(prefix.format("secretsmanager") + f"secret:{s}-*" for s in settings.secrets),
                # SES authorizes the sending address's identity, or its domain's when only the domain is verified.
                email_identity_arns=tuple(
                    prefix.format("ses") + f"identity/{identity}"
                    for sender in settings.email_senders
                    for identity in (sender, sender.split("@", 1)[1])
                ),
                kms_key_arns=tuple(keys) if environment.customer_managed_keys else (),
            ),
            kms_key=self.kms_key_for(consumer.domain),
            tags=tags,
        )
