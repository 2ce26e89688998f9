"""The domain stack: one per (environment, domain), with its topic, queues, functions, bus, buckets and pipes.

Stacks receive frozen model objects and never read files or the process environment. Cross-stack references are
deterministic names and ARNs (:class:`eventform.catalog.naming.Names`), not remote state.
"""

from __future__ import annotations

from cdktn import Fn, TerraformOutput
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from eventform.catalog import filters, table_streams
from eventform.catalog.model import Bucket, Catalog, Consumer, Domain, Environment
from eventform.catalog.naming import Names
from eventform.synthesis.packaging import Package
from modules.bucket import BucketConfig, Destination, ObjectBucket
from modules.dead_letter import DeliveryDlq
from modules.function import (
    DEFAULT_PUSHED_CONCURRENCY,
    DEFAULT_QUEUE_CONCURRENCY,
    ConsumerFunction,
    FunctionConfig,
    Grants,
)
from modules.parameters import locator
from modules.policies import Statement, service_may_send
from modules.queue import ConsumerQueue, QueueConfig, QueueNames, tap_queue
from modules.stacks import (
    bus_wiring,
    delivery_wiring,
    ingestion_wiring,
    monitoring,
    pipe_wiring,
    stream_wiring,
    workflow_wiring,
)
from modules.stacks.base import IDEMPOTENCY_KEY, DomainParts, output_id
from modules.subscription import function_subscription, queue_subscription
from modules.topic import EventTopic


def _function_environment(consumer: Consumer, environment: Environment, names: Names) -> dict[str, str]:
    return {
        **dict(consumer.function.environment),
        "EVENTFORM_ENV": environment.name,
        "EVENTFORM_FIFO": "true" if consumer.fifo else "false",
        "IDEMPOTENCY_TABLE": names.idempotency_table,
        "POWERTOOLS_SERVICE_NAME": consumer.qualified_name,
        "TIMEOUT_GUARD_MS": str(min(2000, consumer.function.timeout * 200)),
    }


class DomainStack(DomainParts):
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
        self.own_topic: EventTopic | None = None
        if domain.topic is not None:
            topic = self.own_topic = EventTopic(
                self,
                "topic",
                name=names.topic(domain.name, domain.topic.fifo),
                arn=names.topic_arn(domain.name, domain.topic.fifo),
                account_id=environment.account_id,
                fifo=domain.topic.fifo,
                content_based_deduplication=domain.topic.content_based_deduplication,
                kms_key=self.kms_key_for(domain.name),
                tags=tags,
                tracing=not environment.is_local,  # the embedded AWS has no X-Ray
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
        self.bus = bus_wiring.build_bus(self, domain, tags)
        self.bucket_destinations: dict[str, list[Destination]] = {b.name: [] for b in domain.buckets}
        self.bucket_topics: dict[str, EventTopic] = {}
        self.built_alarms: dict[str, CloudwatchMetricAlarm] = {}
        buckets = {bucket.name: self._bucket(bucket, tags) for bucket in domain.buckets}
        self.streams = stream_wiring.build_streams(self, domain, tags)
        self.delivery_streams = delivery_wiring.build_delivery_streams(self, domain, buckets, tags)
        self.workflows = workflow_wiring.build_workflows(self, domain, tags)  # before their starters
        for consumer in domain.consumers:
            self._consumer(consumer, tags)
        for consumer in domain.consumers:  # after the tables' owners: they read their tables' streams
            if consumer.stream is not None and consumer.stream.kind == "table":
                stream_wiring.build_stream_consumer(self, consumer, self.streams, tags)
        for bucket in domain.buckets:  # last: S3 checks every destination's policy when it takes the configuration
            consumers = self.catalog.bucket_consumers(domain.name, bucket.name)
            buckets[bucket.name].notify(
                self.bucket_destinations[bucket.name],
                eventbridge=any(c.objects and c.objects.path == "bus" for c in consumers),
                eventbridge_read_back=not self.environment.is_local,
            )
        bus_wiring.build_schedules(self, domain, tags)
        bus_wiring.build_api_call_alerts(self, domain, tags)
        pipe_wiring.build_pipes(self, domain, tags)  # after the consumers: pipes read their queues and tables
        ingestion_wiring.build_ingestion(self, domain, tags)  # HTTP endpoints onto the domain's bus
        monitoring.build_monitoring(self, domain, tags)  # last: composites name the alarms built above

    def subscribable(self, domain: str, topic_arn: str) -> str:
        """What a subscription names: a reference when the topic is in this stack, so Terraform creates the
        subscription after the topic (other domains' topics are in stacks applied before this one)."""
        if domain == self.domain.name and self.own_topic is not None:
            return self.own_topic.topic.arn
        return topic_arn

    def _consumer(self, consumer: Consumer, tags: dict[str, str]) -> None:
        if consumer.route is not None:  # subscribes through EventBridge buses
            bus_wiring.build_bus_consumer(self, consumer, tags)
            return
        if consumer.tasks:  # via: workflow: workflows' task states send to its queue
            workflow_wiring.build_task_consumer(self, consumer, tags)
            return
        if consumer.objects is not None:  # a bucket's object events
            self._object_consumer(consumer, tags)
            return
        if consumer.stream is not None:  # Lambda reads a catalog stream (a table's: after every consumer)
            if consumer.stream.kind == "kinesis":
                stream_wiring.build_stream_consumer(self, consumer, self.streams, tags)
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
                f"consumer-{consumer.physical_name}-from-{source}",
                topic_arn=self.subscribable(source, topic_arn),
                queue_arn=queue.arn_ref,
                filter_policy=filters.subscription_policy(list(consumer.events_from(source)), consumer.filter),
                filter_scope=consumer.filter_scope,
            )
        if consumer.handler:
            self.consumer_function(consumer, queue, tags)
        self.consumer_locator(consumer, queue, tags)

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
        """A DLQ for what a service could not deliver (rules, schedules, pipes, Lambda's async retries), with the
        environment's retention, the domain key and a depth alarm; only ``rule_arns`` get a resource policy. A
        consumer's DLQ alarm is a member of the consumer's composite alarm (modules/stacks/monitoring.py)."""
        names, environment = self.names, self.environment
        dlq = DeliveryDlq(
            self,
            id,
            name=name,
            arn=names.queue_arn(name),
            alarm_name=names.alarm(name, "visible-messages"),
            rule_arns=rule_arns,
            retention=environment.dlq_retention,
            kms_key=self.kms_key_for(domain),
            alarms=self.consumer_alarm_settings(consumer) if consumer else self.alarm_settings(),
            tags=tags,
        )
        self.built_alarms[names.alarm(name, "visible-messages")] = dlq.alarm
        return dlq

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
        queue_name = names.queue(consumer.domain, consumer.physical_name, fifo)
        dlq_name = names.dlq(consumer.domain, consumer.physical_name, fifo)
        queue = ConsumerQueue(
            self,
            f"consumer-{consumer.physical_name}",
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
                ignore_redrive_readback=environment.is_local,
            ),
            sender_topic_arns=sender_topic_arns,
            alarms=self.consumer_alarm_settings(consumer),
            tags=tags,
            extra_sender_statements=extra_sender_statements,
        )
        self.built_alarms[queue.names.dlq_alarm] = queue.dlq_alarm
        self.built_alarms[queue.names.age_alarm] = queue.age_alarm
        return queue

    def consumer_locator(self, consumer: Consumer, queue: ConsumerQueue, tags: dict[str, str]) -> None:
        """Outputs and the consumer's JSON SSM locator (queue and DLQ URL and ARN)."""
        for attribute, value in (("queue_url", queue.url_ref), ("queue_arn", queue.arn_ref)):
            TerraformOutput(self, output_id(consumer.name, attribute), value=value)
        # One parameter per consumer (JSON): services make one call, and synthesis stays fast at 1,000s of consumers.
        locator(
            self,
            f"consumer-{consumer.physical_name}-parameter",
            name=self.names.parameter(consumer.domain, "consumers", consumer.physical_name),
            value=Fn.jsonencode(
                {
                    "queue_url": queue.url_ref,
                    "queue_arn": queue.arn_ref,
                    "dlq_url": queue.dlq_url_ref,
                    "dlq_arn": queue.dlq_arn_ref,
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
        names = self.names
        sources = {d: self.catalog.domain(d) for d in consumer.source_domains()}
        topic_arns = {d: names.topic_arn(d, False) for d in sources}
        function, dlq = self.pushed_function(consumer, tags)
        tap = self.tap(consumer, tags)
        for source, topic_arn in topic_arns.items():
            policy = filters.subscription_policy(list(consumer.events_from(source)), consumer.filter)
            if tap is None:
                permission = function.invoked_by_topic(f"from-{source}", topic_arn)
                function_subscription(
                    self,
                    f"consumer-{consumer.physical_name}-from-{source}",
                    topic_arn=self.subscribable(source, topic_arn),
                    function_arn=function.function.arn,
                    filter_policy=policy,
                    filter_scope=consumer.filter_scope,
                    depends_on=[permission],
                )
            else:
                queue_subscription(
                    self,
                    f"consumer-{consumer.physical_name}-from-{source}",
                    topic_arn=self.subscribable(source, topic_arn),
                    queue_arn=tap.arn,
                    filter_policy=policy,
                    filter_scope=consumer.filter_scope,
                    raw=False,
                )
        self.push_locator(consumer, function, dlq, tap, tags)

    def pushed_function(self, consumer: Consumer, tags: dict[str, str]) -> tuple[ConsumerFunction, DeliveryDlq]:
        """A function a service invokes asynchronously (SNS, S3): its on-failure DLQ with alarm, Lambda's retries."""
        names = self.names
        dlq_name = names.dlq(consumer.domain, consumer.physical_name, False)
        dlq = self.delivery_dlq(
            f"consumer-{consumer.physical_name}-dlq", dlq_name, domain=consumer.domain, tags=tags, consumer=consumer
        )
        function = self.consumer_function(consumer, None, tags, failure_queue_arn=dlq.arn_value)
        function.asynchronous_invocations(
            retries=consumer.push.retries, max_event_age=consumer.push.max_event_age, on_failure=dlq.queue.arn
        )
        return function, dlq

    def tap(self, consumer: Consumer, tags: dict[str, str], *, bucket_arn: str | None = None) -> SqsQueue | None:
        """Locally, where the pushes to the consumer's function land instead (None elsewhere): its topics' SNS
        notifications, or its bucket's S3 notifications."""
        if not self.environment.is_local:
            return None
        names = self.names
        tap_name = names.queue(consumer.domain, consumer.physical_name, False)
        arn = names.queue_arn(tap_name)
        if bucket_arn is not None:
            account = self.environment.account_id
            sender = service_may_send("BucketSends", "s3.amazonaws.com", arn, (bucket_arn,), source_account=account)
        else:
            topic_arns = tuple(names.topic_arn(d, False) for d in consumer.source_domains())
            sender = service_may_send("SubscribedTopicsSend", "sns.amazonaws.com", arn, topic_arns)
        return tap_queue(
            self, f"consumer-{consumer.physical_name}-tap", name=tap_name, arn=arn, sender=sender, tags=tags
        )

    def push_locator(
        self,
        consumer: Consumer,
        function: ConsumerFunction,
        dlq: DeliveryDlq,
        tap: SqsQueue | None,
        tags: dict[str, str],
    ) -> None:
        names = self.names
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
            f"consumer-{consumer.physical_name}-parameter",
            name=names.parameter(consumer.domain, "consumers", consumer.physical_name),
            value=Fn.jsonencode(located),
            description=f"function_arn, dlq_url, dlq_arn of push consumer {consumer.qualified_name} (JSON)",
            tags=tags,
        )

    # S3 ---------------------------------------------------------------------------------------------------
    def _bucket(self, bucket: Bucket, tags: dict[str, str]) -> ObjectBucket:
        """The bucket, its locator, and the topic S3 notifies when consumers fan out (``via: topic``)."""
        names, environment = self.names, self.environment
        arn = names.bucket_arn(bucket.domain, bucket.name)
        made = ObjectBucket(
            self,
            f"bucket-{bucket.name}",
            config=BucketConfig(
                name=names.bucket(bucket.domain, bucket.name),
                arn=arn,
                versioning=bucket.versioning,
                kms_key=self.kms_key_for(bucket.domain),
                noncurrent_days=max(1, environment.dlq_retention // 86400),
                force_destroy=environment.is_local,
                tls_only=not environment.is_local,
            ),
            tags=tags,
        )
        TerraformOutput(self, output_id(bucket.name, "bucket_name"), value=made.bucket.bucket)
        locator(
            self,
            f"bucket-{bucket.name}-parameter",
            name=names.parameter(bucket.domain, "buckets", bucket.name),
            value=made.bucket.bucket,
            description=f"name of the {bucket.qualified_name} bucket",
            tags=tags,
        )
        fanned = [
            c
            for c in self.catalog.bucket_consumers(bucket.domain, bucket.name)
            if c.objects is not None and c.objects.path == "topic"
        ]
        if fanned:
            topic_arn = names.bucket_topic_arn(bucket.domain, bucket.name)
            topic = EventTopic(
                self,
                f"bucket-{bucket.name}-topic",
                name=names.bucket_topic(bucket.domain, bucket.name),
                arn=topic_arn,
                account_id=environment.account_id,
                fifo=False,
                content_based_deduplication=False,
                # S3 cannot publish to a topic under the AWS-managed SNS key: the domain's key, in every environment
                kms_key=names.key_alias(bucket.domain),
                tags=tags,
                tracing=not environment.is_local,
                extra_statements=(
                    service_may_send(
                        "BucketPublishes",
                        "s3.amazonaws.com",
                        topic_arn,
                        (arn,),
                        source_account=environment.account_id,
                        action="sns:Publish",
                    ),
                ),
            )
            self.bucket_topics[bucket.name] = topic
            self.bucket_destinations[bucket.name].append(
                Destination("topic", "topic", topic_arn, fanned[0].objects, topic.policy)  # type: ignore[arg-type]
            )
        return made

    def _object_consumer(self, consumer: Consumer, tags: dict[str, str]) -> None:
        """S3 notifies the consumer's queue or function, or the bucket's topic does; ``via: bus`` is a rule."""
        objects = consumer.objects
        assert objects is not None  # only consumers of object events come here
        names, environment = self.names, self.environment
        bucket_arn = names.bucket_arn(objects.domain, objects.bucket)
        destinations = self.bucket_destinations[objects.bucket]
        if objects.path == "topic":
            topic_arn = names.bucket_topic_arn(objects.domain, objects.bucket)
            queue = self.consumer_queue(consumer, tags, fifo=False, sender_topic_arns=(topic_arn,))
            queue_subscription(
                self,
                f"consumer-{consumer.physical_name}-from-{objects.bucket}",
                topic_arn=self.bucket_topics[objects.bucket].topic.arn,  # a reference: created after the topic
                queue_arn=queue.arn_ref,
                filter_policy=None,  # the topic carries exactly the selection every subscriber asked for
                filter_scope="attributes",
            )
        elif consumer.delivery == "push":
            function, dlq = self.pushed_function(consumer, tags)
            tap = self.tap(consumer, tags, bucket_arn=bucket_arn)
            if tap is None:
                permission = function.invoked_by_bucket(f"from-{objects.bucket}", bucket_arn, environment.account_id)
                destinations.append(
                    Destination("function", consumer.physical_name, function.function.arn, objects, permission)
                )
            else:
                destinations.append(Destination("queue", consumer.physical_name, tap.arn, objects, tap))
            self.push_locator(consumer, function, dlq, tap, tags)
            return
        else:
            queue_arn = names.queue_arn(names.queue(consumer.domain, consumer.physical_name, False))
            sender = service_may_send(
                "BucketSends", "s3.amazonaws.com", queue_arn, (bucket_arn,), source_account=environment.account_id
            )
            queue = self.consumer_queue(consumer, tags, fifo=False, extra_sender_statements=(sender,))
            destinations.append(Destination("queue", consumer.physical_name, queue_arn, objects, queue.queue))
        if consumer.handler:
            self.consumer_function(consumer, queue, tags)
        self.consumer_locator(consumer, queue, tags)

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
        function_name = names.function(consumer.domain, consumer.physical_name)
        publish = sorted(
            {
                names.topic_arn(e.domain, bool(t.fifo))
                for q in consumer.emits
                for e in [self.catalog.event(q)]
                if (t := self.catalog.domain(e.domain).topic)
            }
        )
        # Only the keys it uses: its own domain's (queue, DLQ, tables), the domains' whose topics it publishes to
        # (emits), the bucket's domain whose objects it reads, the stream's domain whose records it reads. Never its
        # source topics': SNS re-encrypts what it delivers under the queue's key.
        keys = sorted(
            {
                names.key_alias(consumer.domain),
                *(names.key_alias(q.split("/", 1)[0]) for q in consumer.emits),
                *((names.key_alias(consumer.objects.domain),) if consumer.objects else ()),
                *((names.key_alias(consumer.stream.domain),) if consumer.stream else ()),
                *((names.key_alias(IDEMPOTENCY_KEY),) if environment.customer_managed_keys else ()),
            }
        )
        objects = consumer.objects
        return ConsumerFunction(
            self,
            f"consumer-{consumer.physical_name}-function",
            queue=queue.queue if queue else None,
            config=FunctionConfig(
                name=function_name,
                role_name=names.role(consumer.domain, consumer.physical_name),
                handler=package.handler,
                package_path=str(package.path),
                package_hash=package.sha256_base64,
                memory=settings.memory,
                timeout=settings.timeout,
                # every function has a concurrency bound: pushed ones (reachable by SNS, EventBridge, S3) reserve
                # it, queue-fed ones cap their event source mapping (unless they reserve it themselves)
                reserved_concurrency=settings.reserved_concurrency
                or (None if queue else DEFAULT_PUSHED_CONCURRENCY),
                batch_size=settings.batch_size,
                batching_window=settings.batching_window,
                max_concurrency=settings.max_concurrency
                or (DEFAULT_QUEUE_CONCURRENCY if queue and not settings.reserved_concurrency else None),
                environment={
                    **_function_environment(consumer, environment, names),
                    **table_streams.function_variables(self.catalog, consumer),
                },
                log_retention_days=environment.log_retention_days,
                region=environment.region,
                account_id=environment.account_id,
                fifo=consumer.fifo,
                mapping_enabled=not environment.is_local,
                email_senders=settings.email_senders,
                layers=self.powertools_layers(),
            ),
            grants=Grants(
                queue_arn=queue.names.queue_arn if queue else None,
                failure_queue_arn=failure_queue_arn,
                tables={t: names.table(consumer.domain, consumer.physical_name, t) for t in settings.tables},
                idempotency_table_arn=names.table_arn(names.idempotency_table),
                idempotency_key_prefix=consumer.qualified_name,  # the runtime's key_prefix: <domain>/<consumer>#
                publish_topic_arns=tuple(publish),
                parameter_arns=tuple(map(names.parameter_arn, settings.parameters)),
                secret_arns=tuple(map(names.secret_arn, settings.secrets)),
                # SES authorizes the sending address's identity, or its domain's when only the domain is verified.
                email_identity_arns=tuple(
                    names.email_identity_arn(identity)
                    for sender in settings.email_senders
                    for identity in (sender, sender.split("@", 1)[1])
                ),
                kms_key_aliases=tuple(keys) if environment.customer_managed_keys else (),
                object_arns=(f"{names.bucket_arn(objects.domain, objects.bucket)}/{objects.prefix}*",)
                if objects
                else (),
            ),
            kms_key=self.kms_key_arn_for(consumer.domain),  # the log group and the function's variables
            tags=tags,
        )
