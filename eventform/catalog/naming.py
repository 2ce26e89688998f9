"""Deterministic AWS resource names and ARNs, within AWS limits by construction.

Every name is ``<env>-<domain>-<name>[suffix]``. When that is longer than the service allows, the readable part is
cut and an 8-character hash of the *full* name is appended, so two different long names never collide and the same
catalog always yields the same names. Cross-stack references are computed here, never read from remote state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# AWS limits (characters). SQS counts the ".fifo" suffix; CloudWatch alarm names allow 255.
LIMITS: dict[str, int] = {
    "sqs": 80,
    "sns": 256,
    "alarm": 255,
    "kms_alias": 256,
    "lambda": 64,
    "iam_role": 64,
    "rule": 64,
    "ssm": 1011,
    "dynamodb": 255,
    # EventBridge
    "bus": 256,
    "archive": 48,
    "connection": 64,
    "api_destination": 64,
    "schedule": 64,
    "schedule_group": 64,
    "schema_registry": 64,
    "target_id": 64,
    "s3": 63,
    "pipe": 64,
    "kinesis": 128,  # stream names
    "firehose": 64,  # delivery stream names
    "web_acl": 128,  # WAF web ACLs (REST API names allow 1,024: bounded by the same 128)
    "statement_id": 100,  # Lambda permission
    "ssm_arn": 1011,  # an SSM parameter's name counts its whole ARN
    "file_name": 255,  # bytes of one path component (docs pages, stack folders)
}
HASH_LENGTH = 8

# The longest ARN prefix of an SSM parameter in any region the provider knows (aws-iso-f, us-isof-south-1).
LONGEST_SSM_ARN_PREFIX = "arn:aws-iso-f:ssm:us-isof-south-1:123456789012:parameter"
LONGEST_ENV = 10  # environment names: 2..10 characters


def statement_id(construct_id: str) -> str:
    """A Lambda permission's statement id from its construct id (``from-rule-orders`` -> ``InvokeFromRuleOrders``);
    kept readable, not hashed: it bounds the domain name (see ``max_domain_length``)."""
    return f"Invoke{construct_id.title().replace('-', '')}"


def max_domain_length() -> int:
    """Longest domain name whose every derived name fits AWS. All resource names are hashed into their limits
    (``fit``); what keeps the domain whole is the permission a pushed consumer gives the rule of a source domain,
    ``InvokeFromRule<Domain>`` (100 characters; hyphens dropped, so a domain without hyphens is the longest)."""
    return LIMITS["statement_id"] - len(statement_id("from-rule-"))


def max_consumer_length() -> int:
    """Longest consumer name: its SSM locator ``/eventform/<env>/<domain>/consumers/<consumer>`` must fit the
    1,011 characters SSM allows for the whole ARN, and its documentation page ``<consumer>.html`` one file name."""
    ssm_prefix = f"{LONGEST_SSM_ARN_PREFIX}/eventform/{'x' * LONGEST_ENV}/{'x' * max_domain_length()}/consumers/"
    return min(LIMITS["ssm_arn"] - len(ssm_prefix), LIMITS["file_name"] - len(".html"))


def fit(full_name: str, limit: int, suffix: str = "") -> str:
    """Return ``full_name + suffix`` if it fits in ``limit``; otherwise cut it and insert a hash of the whole."""
    if len(full_name) + len(suffix) <= limit:
        return full_name + suffix
    digest = hashlib.sha256((full_name + suffix).encode()).hexdigest()[:HASH_LENGTH]
    keep = limit - len(suffix) - HASH_LENGTH - 1
    if keep < 1:
        raise ValueError(f"limit {limit} leaves no room for a readable name with suffix {suffix!r}")
    return f"{full_name[:keep].rstrip('-')}-{digest}{suffix}"


@dataclass(frozen=True)
class Names:
    """Names and ARNs of one environment."""

    env: str
    region: str
    account_id: str

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    # Stacks ---------------------------------------------------------------------------------------------
    def stack(self, domain: str) -> str:
        return f"{self.env}-{domain}"

    @property
    def platform_stack(self) -> str:
        return f"{self.env}-platform"

    # SNS ------------------------------------------------------------------------------------------------
    def topic(self, domain: str, fifo: bool) -> str:
        return fit(f"{self.env}-{domain}-events", LIMITS["sns"], ".fifo" if fifo else "")

    def topic_arn(self, domain: str, fifo: bool) -> str:
        return self._arn("sns", self.topic(domain, fifo))

    @property
    def alarm_topic(self) -> str:
        return f"{self.env}-platform-alarms"

    @property
    def alarm_topic_arn(self) -> str:
        return self._arn("sns", self.alarm_topic)

    # SQS ------------------------------------------------------------------------------------------------
    def queue(self, domain: str, consumer: str, fifo: bool) -> str:
        return fit(f"{self.env}-{domain}-{consumer}", LIMITS["sqs"], ".fifo" if fifo else "")

    def dlq(self, domain: str, consumer: str, fifo: bool) -> str:
        return fit(f"{self.env}-{domain}-{consumer}", LIMITS["sqs"], "-dlq.fifo" if fifo else "-dlq")

    def queue_arn(self, name: str) -> str:
        return self._arn("sqs", name)

    def target_tap(self, domain: str, consumer: str, target: str) -> str:
        """Local environment only: the queue a rule target the embedded AWS cannot reach delivers to instead."""
        return fit(f"{self.env}-{domain}-{consumer}-{target}", LIMITS["sqs"], "-tap")

    # CloudWatch -----------------------------------------------------------------------------------------
    def alarm(self, queue_name: str, what: str) -> str:
        return fit(queue_name, LIMITS["alarm"], f"-{what}")

    # Lambda, IAM, DynamoDB -------------------------------------------------------------------------------
    def function(self, domain: str, consumer: str) -> str:
        return fit(f"{self.env}-{domain}-{consumer}", LIMITS["lambda"])

    def role(self, domain: str, consumer: str) -> str:
        return fit(f"{self.env}-{domain}-{consumer}", LIMITS["iam_role"], "-role")

    def function_arn(self, function: str) -> str:
        return self._arn("lambda", f"function:{function}")

    def log_group(self, function: str) -> str:
        return f"/aws/lambda/{function}"

    def table(self, domain: str, consumer: str, table: str) -> str:
        return fit(f"{self.env}-{domain}-{consumer}-{table}", LIMITS["dynamodb"])

    @property
    def idempotency_table(self) -> str:
        return f"{self.env}-platform-idempotency"

    def table_arn(self, name: str) -> str:
        return self._arn("dynamodb", f"table/{name}")

    # KMS ------------------------------------------------------------------------------------------------
    def key_alias(self, domain: str) -> str:
        return fit(f"alias/eventform/{self.env}/{domain}", LIMITS["kms_alias"])

    def key_alias_arn(self, domain: str) -> str:
        return self._arn("kms", self.key_alias(domain))

    # SSM ------------------------------------------------------------------------------------------------
    def parameter(self, *parts: str) -> str:
        return "/".join(["", "eventform", self.env, *parts])

    # EventBridge ----------------------------------------------------------------------------------------
    def bus(self, domain: str) -> str:
        """One custom bus per domain per environment: ``<env>-<domain>``."""
        return fit(f"{self.env}-{domain}", LIMITS["bus"])

    def bus_arn(self, domain: str) -> str:
        return self._arn("events", f"event-bus/{self.bus(domain)}")

    def archive(self, domain: str) -> str:
        return fit(f"{self.env}-{domain}", LIMITS["archive"], "-archive")

    def rule(self, domain: str, consumer: str, source: str) -> str:
        """The rule of consumer ``domain/consumer`` on the bus of ``source`` (64 characters at most)."""
        return fit(f"{self.env}-{domain}-{consumer}-from-{source}", LIMITS["rule"])

    def rule_arn(self, bus: str | None, rule: str) -> str:
        """ARN of a rule; ``bus=None`` is the account's default bus."""
        return self._arn("events", f"rule/{bus}/{rule}" if bus else f"rule/{rule}")

    def event_role(self, domain: str, owner: str, target: str) -> str:
        """IAM role an EventBridge rule, schedule or pipe assumes to reach one target."""
        return fit(f"{self.env}-{domain}-{owner}-{target}", LIMITS["iam_role"])

    def delivery_dlq(self, domain: str, owner: str) -> str:
        """SQS DLQ for events EventBridge (or Scheduler) could not deliver to a target of ``owner``."""
        return fit(f"{self.env}-{domain}-{owner}", LIMITS["sqs"], "-delivery-dlq")

    def connection(self, domain: str, consumer: str, target: str) -> str:
        return fit(f"{self.env}-{domain}-{consumer}-{target}", LIMITS["connection"])

    def api_destination(self, domain: str, consumer: str, target: str) -> str:
        return fit(f"{self.env}-{domain}-{consumer}-{target}", LIMITS["api_destination"])

    def api_destination_arn(self, name: str) -> str:
        return self._arn("events", f"api-destination/{name}/*")

    def schedule_group(self, domain: str) -> str:
        return fit(f"{self.env}-{domain}", LIMITS["schedule_group"])

    def schedule(self, domain: str, schedule: str) -> str:
        return fit(f"{self.env}-{domain}-{schedule}", LIMITS["schedule"])

    def schedule_arn(self, domain: str, schedule: str) -> str:
        return self._arn("scheduler", f"schedule/{self.schedule_group(domain)}/{self.schedule(domain, schedule)}")

    def api_call_rule(self, domain: str, name: str) -> str:
        return fit(f"{self.env}-{domain}-{name}", LIMITS["rule"])

    # Grants of a function ------------------------------------------------------------------------------
    def parameter_arn(self, parameter: str) -> str:
        """A declared SSM parameter (``/team/x``)."""
        return self._arn("ssm", f"parameter{parameter}")

    def secret_arn(self, secret: str) -> str:
        """A declared Secrets Manager secret by name: AWS appends 6 random characters to a secret's ARN."""
        return self._arn("secretsmanager", f"secret:{secret}-*")

    def email_identity_arn(self, identity: str) -> str:
        return self._arn("ses", f"identity/{identity}")

    # S3 --------------------------------------------------------------------------------------------------
    def bucket(self, domain: str, bucket: str) -> str:
        """Bucket names are global: ``<env>-<domain>-<bucket>-<account>-<region>`` (63 characters at most)."""
        return fit(f"{self.env}-{domain}-{bucket}", LIMITS["s3"], f"-{self.account_id}-{self.region}")

    def bucket_arn(self, domain: str, bucket: str) -> str:
        return f"arn:aws:s3:::{self.bucket(domain, bucket)}"

    def bucket_topic(self, domain: str, bucket: str) -> str:
        """The SNS topic S3 notifies for a bucket's ``via: topic`` consumers."""
        return fit(f"{self.env}-{domain}-{bucket}-objects", LIMITS["sns"])

    def bucket_topic_arn(self, domain: str, bucket: str) -> str:
        return self._arn("sns", self.bucket_topic(domain, bucket))

    @property
    def schema_registry(self) -> str:
        return fit(f"eventform-{self.env}", LIMITS["schema_registry"])

    # EventBridge Pipes ----------------------------------------------------------------------------------
    def pipe(self, domain: str, pipe: str) -> str:
        return fit(f"{self.env}-{domain}-{pipe}", LIMITS["pipe"])

    def pipe_arn(self, name: str) -> str:
        return self._arn("pipes", f"pipe/{name}")

    def pipe_role(self, domain: str, pipe: str) -> str:
        """The role the pipe assumes to read its source and reach its enrichment and target."""
        return fit(f"{self.env}-{domain}-{pipe}", LIMITS["iam_role"], "-pipe-role")

    def pipe_dlq(self, domain: str, pipe: str) -> str:
        """SQS DLQ of a stream-sourced pipe: batches that exhausted the pipe's retries."""
        return fit(f"{self.env}-{domain}-{pipe}", LIMITS["sqs"], "-pipe-dlq")

    def pipe_log_group(self, name: str) -> str:
        return f"/aws/vendedlogs/pipes/{name}"

    def enrichment_function(self, domain: str, pipe: str) -> str:
        return fit(f"{self.env}-{domain}-{pipe}", LIMITS["lambda"], "-enrichment")

    def enrichment_role(self, domain: str, pipe: str) -> str:
        return fit(f"{self.env}-{domain}-{pipe}", LIMITS["iam_role"], "-enrichment-role")

    def catalog_stream(self, domain: str, stream: str) -> str:
        """A Kinesis stream the catalog declares (``streams:``)."""
        return fit(f"{self.env}-{domain}-{stream}", LIMITS["kinesis"])

    def stream_arn(self, name: str) -> str:
        return self._arn("kinesis", f"stream/{name}")

    # Firehose ------------------------------------------------------------------------------------------------
    def delivery_stream(self, domain: str, stream: str) -> str:
        """A Firehose delivery stream the catalog declares (``delivery_streams:``)."""
        return fit(f"{self.env}-{domain}-{stream}", LIMITS["firehose"])

    def delivery_stream_arn(self, name: str) -> str:
        return self._arn("firehose", f"deliverystream/{name}")

    def delivery_role(self, domain: str, stream: str) -> str:
        """The role Firehose assumes to write the stream's objects and log its delivery errors."""
        return fit(f"{self.env}-{domain}-{stream}", LIMITS["iam_role"], "-firehose")

    def delivery_log_group(self, name: str) -> str:
        return f"/aws/kinesisfirehose/{name}"
    # API Gateway (HTTP ingestion) ------------------------------------------------------------------------
    def ingestion_api(self, domain: str, endpoint: str) -> str:
        """A REST API of ``ingestion:``; its web ACL carries the same name."""
        return fit(f"{self.env}-{domain}-{endpoint}", LIMITS["web_acl"])

    def ingestion_role(self, domain: str, endpoint: str) -> str:
        """The role API Gateway assumes to put the endpoint's events on the bus."""
        return fit(f"{self.env}-{domain}-{endpoint}", LIMITS["iam_role"], "-ingest-role")

    def ingestion_log_group(self, domain: str, endpoint: str) -> str:
        return f"/aws/apigateway/{self.ingestion_api(domain, endpoint)}/access"
