"""A consumer's Lambda function: package, role with a catalog-derived policy, log group, tables, SQS mapping."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import AssetType, ITerraformDependable, TerraformAsset
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.dynamodb_table import DynamodbTable
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from cdktn_provider_aws.lambda_function import LambdaFunction
from cdktn_provider_aws.lambda_function_event_invoke_config import LambdaFunctionEventInvokeConfig
from cdktn_provider_aws.lambda_permission import LambdaPermission
from cdktn_provider_aws.ses_email_identity import SesEmailIdentity
from constructs import Construct

from eventform.catalog.naming import statement_id
from modules.concurrency import DEFAULT_PUSHED_CONCURRENCY, DEFAULT_QUEUE_CONCURRENCY  # noqa: F401 (re-exported)
from modules.policies import Statement, document

# What runs is what was tested: the runtime is the venv's Python (.python-version, pyproject's requires-python) and
# the Powertools layer is the release uv.lock pins, resolved through the public SSM parameter AWS publishes for
# every Powertools release and Python version (immutable per release, so a plan never changes by itself).
# tests/modules/test_function.py ties all three together. (Vendoring Powertools would add ~20 MB to every package.)
RUNTIME = "python3.12"
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/x86_64/{RUNTIME}/{POWERTOOLS_VERSION}"


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    role_name: str
    handler: str  # package name under handlers/
    package_path: str
    package_hash: str
    memory: int
    timeout: int
    reserved_concurrency: int | None
    batch_size: int
    batching_window: int
    max_concurrency: int | None
    environment: dict[str, str]
    log_retention_days: int
    region: str
    account_id: str
    fifo: bool
    mapping_enabled: bool  # False locally: the local runner plays the event source mapping
    email_senders: tuple[str, ...]
    layers: tuple[str, ...]  # none locally: the embedded AWS has no AWS-owned layers; the runner runs in process


@dataclass(frozen=True)
class Grants:
    """What the catalog says this function may touch, as ARNs (never wildcards)."""

    queue_arn: str | None  # None: pushed (SNS or EventBridge invokes the function; no event source mapping)
    tables: dict[str, str]  # logical name -> table name
    idempotency_table_arn: str | None  # None: a pipe's enrichment (it must answer every time it is asked)
    publish_topic_arns: tuple[str, ...]
    parameter_arns: tuple[str, ...]
    secret_arns: tuple[str, ...]
    email_identity_arns: tuple[str, ...]
    kms_key_aliases: tuple[str, ...]  # alias/... of the domain keys it reads and writes with
    failure_queue_arn: str | None = None  # pushed: the SQS on-failure destination after Lambda's async retries
    object_arns: tuple[str, ...] = ()  # objects it is notified about (bucket/prefix*): it may read them
    idempotency_key_prefix: str = ""  # its records' key prefix in the shared table (dynamodb:LeadingKeys)


IDEMPOTENCY_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")


def idempotency_statement(table_arn: str, key_prefix: str) -> Statement:
    """Its own records of the shared idempotency table only: the runtime keys them ``<domain>/<consumer>#<hash>``
    (Powertools' ``key_prefix``), so ``dynamodb:LeadingKeys`` keeps each consumer off the others' records. Every
    action granted here names a key (no Scan, no Query), so ``ForAllValues`` is never satisfied by an empty set."""
    return Statement(
        "Idempotency",
        "Allow",
        IDEMPOTENCY_ACTIONS,
        (table_arn,),
        conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{key_prefix}#*"]}} if key_prefix else {},
    )


class ConsumerFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: FunctionConfig,
        grants: Grants,
        queue: ITerraformDependable | None,
        kms_key: str | None,
        tags: dict[str, str],
    ) -> None:
        super().__init__(scope, id)
        table_arns = []
        table_variables = {}
        for logical, table_name in sorted(grants.tables.items()):
            table = DynamodbTable(
                self,
                f"table-{logical}",
                name=table_name,
                billing_mode="PAY_PER_REQUEST",
                hash_key="pk",
                attribute=[{"name": "pk", "type": "S"}],
                point_in_time_recovery={"enabled": True},
                server_side_encryption={"enabled": True, **({"kms_key_arn": kms_key} if kms_key else {})},
                tags=tags,
            )
            table_arns.append(f"arn:aws:dynamodb:{config.region}:{config.account_id}:table/{table_name}")
            table_variables[f"{logical.upper().replace('-', '_')}_TABLE"] = table.name
        log_group_name = f"/aws/lambda/{config.name}"
        log_group_arn = f"arn:aws:logs:{config.region}:{config.account_id}:log-group:{log_group_name}"
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=log_group_name,
            retention_in_days=config.log_retention_days,
            kms_key_id=kms_key,
            tags=tags,
        )
        statements = [
            Statement(
                "ConsumeOwnQueue",
                "Allow",
                ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"),
                (grants.queue_arn,),
            )
            if grants.queue_arn
            # A pushed function has no queue; Lambda's on-failure destination sends with the function's own role.
            else Statement("SendFailuresToOwnDlq", "Allow", ("sqs:SendMessage",), (grants.failure_queue_arn or "",)),
            idempotency_statement(grants.idempotency_table_arn or "", grants.idempotency_key_prefix),
            Statement("WriteOwnLogs", "Allow", ("logs:CreateLogStream", "logs:PutLogEvents"), (f"{log_group_arn}:*",)),
            # X-Ray accepts no resource-level permissions: "*" is the only resource AWS allows here.
            Statement("Tracing", "Allow", ("xray:PutTelemetryRecords", "xray:PutTraceSegments"), ("*",)),
        ]
        # A pipe's enrichment has no queue, no on-failure queue and no idempotency table: no grant on nothing.
        statements = [s for s in statements if "" not in s.resources]
        if table_arns:
            statements.append(
                Statement(
                    "OwnTables",
                    "Allow",
                    (
                        "dynamodb:DeleteItem",
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:Query",
                        "dynamodb:UpdateItem",
                    ),
                    tuple(table_arns),
                )
            )
        if grants.publish_topic_arns:
            statements.append(Statement("PublishDeclaredEvents", "Allow", ("sns:Publish",), grants.publish_topic_arns))
        if grants.parameter_arns:
            statements.append(
                Statement("ReadDeclaredParameters", "Allow", ("ssm:GetParameter",), grants.parameter_arns)
            )
        if grants.secret_arns:
            statements.append(
                Statement("ReadDeclaredSecrets", "Allow", ("secretsmanager:GetSecretValue",), grants.secret_arns)
            )
        if grants.email_identity_arns:
            statements.append(
                Statement("SendAsDeclaredSenders", "Allow", ("ses:SendEmail",), grants.email_identity_arns)
            )
        if grants.object_arns:
            statements.append(
                Statement(
                    "ReadNotifiedObjects",
                    "Allow",
                    ("s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion"),
                    grants.object_arns,
                )
            )
        if grants.kms_key_aliases:
            # IAM does not authorize a key through an alias ARN in Resource: keys of this account, narrowed to those
            # behind the domains' aliases (the keys live in the platform stack; their ids are not deterministic).
            statements.append(
                Statement(
                    "UseDomainKeys",
                    "Allow",
                    ("kms:Decrypt", "kms:GenerateDataKey"),
                    (f"arn:aws:kms:{config.region}:{config.account_id}:key/*",),
                    conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": sorted(grants.kms_key_aliases)}},
                )
            )
        self.role = IamRole(
            self,
            "role",
            name=config.role_name,
            tags=tags,
            assume_role_policy=document(
                Statement(
                    "LambdaAssumes", "Allow", ("sts:AssumeRole",), (), principal={"Service": "lambda.amazonaws.com"}
                )
            ),
        )
        IamRolePolicy(self, "policy", name="catalog-grants", role=self.role.id, policy=document(*statements))
        for index, sender in enumerate(config.email_senders):
            # AWS e-mails the address once to verify it; until then SES refuses to send as it.
            SesEmailIdentity(self, f"sender-{index}", email=sender)
        asset = TerraformAsset(self, "package", path=config.package_path, type=AssetType.FILE)
        self.function = LambdaFunction(
            self,
            "function",
            function_name=config.name,
            role=self.role.arn,
            runtime=RUNTIME,
            handler=f"handlers.{config.handler}.handler.lambda_handler",
            filename=asset.path,
            source_code_hash=config.package_hash,
            memory_size=config.memory,
            timeout=config.timeout,
            reserved_concurrent_executions=config.reserved_concurrency,
            layers=list(config.layers) or None,
            tracing_config={"mode": "Active"},
            environment={"variables": {**config.environment, **table_variables}},
            kms_key_arn=kms_key,
            tags=tags,
            depends_on=[self.log_group],
        )
        if queue is None:
            return
        LambdaEventSourceMapping(
            self,
            "mapping",
            event_source_arn=grants.queue_arn,
            function_name=self.function.arn,
            batch_size=config.batch_size,
            maximum_batching_window_in_seconds=None if config.fifo else config.batching_window,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": config.max_concurrency} if config.max_concurrency else None,
            enabled=config.mapping_enabled,
            depends_on=[queue],  # the ARN is computed from the name: order the mapping after the queue exists
        )

    def invoked_by_topic(self, id: str, topic_arn: str) -> LambdaPermission:
        """SNS may invoke this function for this one topic only (``source_arn``)."""
        return self._invoked_by(id, "sns.amazonaws.com", topic_arn)

    def invoked_by_rule(self, id: str, rule_arn: str) -> LambdaPermission:
        """EventBridge may invoke this function for this one rule only (``source_arn``)."""
        return self._invoked_by(id, "events.amazonaws.com", rule_arn)

    def invoked_by_bucket(self, id: str, bucket_arn: str, account_id: str) -> LambdaPermission:
        """S3 may invoke this function for this one bucket of this account (bucket ARNs name no account)."""
        return self._invoked_by(id, "s3.amazonaws.com", bucket_arn, source_account=account_id)

    def _invoked_by(
        self, id: str, principal: str, source_arn: str, source_account: str | None = None
    ) -> LambdaPermission:
        return LambdaPermission(
            self,
            id,
            statement_id=statement_id(id),
            action="lambda:InvokeFunction",
            function_name=self.function.function_name,
            principal=principal,
            source_arn=source_arn,
            source_account=source_account,
        )

    def asynchronous_invocations(self, *, retries: int, max_event_age: int | None, on_failure: str) -> None:
        """Lambda's retries for pushed events (SNS or EventBridge invoke asynchronously), then the event (with the
        error) goes to the on-failure destination (an SQS ARN) instead of being dropped. ``max_event_age=None``:
        Lambda's default (6 h)."""
        LambdaFunctionEventInvokeConfig(
            self,
            "async",
            function_name=self.function.function_name,
            maximum_retry_attempts=retries,
            maximum_event_age_in_seconds=max_event_age,
            destination_config={"on_failure": {"destination": on_failure}},
        )
