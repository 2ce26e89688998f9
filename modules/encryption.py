"""Customer-managed KMS keys: one per domain (and one for the platform's alarm topic).

A key policy names only the services that use that key, each scoped to this account and to its own resources of
this environment (``aws:SourceArn``; CloudWatch Logs by its encryption context, which is what it supports). Roles
(consumers, pipes, schedules) are not in the key policy: the account statement lets IAM policies grant them the key,
and each role's policy names only the keys it needs. With a key-admin role (``kms.admin_role`` of the environment)
administration and use are split: the admin role manages the key, the account statement only delegates use.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules.policies import Statement, account_root, document

# What a key administrator may do, and nothing that reads or writes data (AWS's default key policy, key admins).
ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
)
# What IAM policies of the account may grant on the key when a key-admin role administers it.
USE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")


@dataclass(frozen=True)
class ServiceUse:
    """One AWS service that encrypts or decrypts with the key, and the resources it does it for."""

    principal: str
    actions: tuple[str, ...]
    source_arns: tuple[str, ...] = ()  # aws:SourceArn (ArnLike)
    log_groups: tuple[str, ...] = ()  # CloudWatch Logs: kms:EncryptionContext:aws:logs:arn (ArnLike)

    def statement(self, account_id: str) -> Statement:
        name = self.principal.split(".")[0].title()
        conditions: dict[str, dict[str, object]] = {}
        if self.source_arns:
            conditions["ArnLike"] = {"aws:SourceArn": sorted(self.source_arns)}
            conditions["StringEquals"] = {"aws:SourceAccount": account_id}
        if self.log_groups:
            conditions["ArnLike"] = {"kms:EncryptionContext:aws:logs:arn": sorted(self.log_groups)}
        return Statement(
            sid=f"{name}UsesTheKey",
            effect="Allow",
            principal={"Service": self.principal},
            actions=self.actions,
            resources=("*",),  # in a key policy "*" means this key
            conditions=conditions,
        )


def domain_key_services(
    *, region: str, account_id: str, env: str, buckets: bool, alarms: bool = False, apis: bool = False
) -> tuple[ServiceUse, ...]:
    """The services that use a domain key of ``env``: SNS (delivering to encrypted queues, encrypting its topics),
    EventBridge (its buses and archives, rules delivering to encrypted queues and topics), CloudWatch Logs (log
    groups of the functions, pipes and delivery streams), S3 where the domain has buckets that notify encrypted
    topics and queues, and CloudWatch alarms for the platform's alarm topic. Never SQS or Lambda: they use the key
    as the caller."""
    arn = f"arn:aws:{{}}:{region}:{account_id}:{{}}"
    uses = [
        ServiceUse("sns.amazonaws.com", ("kms:Decrypt", "kms:GenerateDataKey*"), (arn.format("sns", f"{env}-*"),)),
        ServiceUse(
            "events.amazonaws.com",
            ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"),
            (
                arn.format("events", f"event-bus/{env}-*"),
                arn.format("events", f"archive/{env}-*"),
                arn.format("events", f"rule/{env}-*"),
            ),
        ),
        ServiceUse(
            f"logs.{region}.amazonaws.com",
            ("kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"),
            log_groups=(
                arn.format("logs", f"log-group:/aws/lambda/{env}-*"),
                arn.format("logs", f"log-group:/aws/vendedlogs/pipes/{env}-*"),
                arn.format("logs", f"log-group:/aws/kinesisfirehose/{env}-*"),  # delivery streams' errors
                *(_api_log_groups(arn, env) if apis else ()),
            ),
        ),
    ]
    if buckets:
        uses.append(
            ServiceUse(
                "s3.amazonaws.com",
                ("kms:Decrypt", "kms:GenerateDataKey*"),
                (f"arn:aws:s3:::{env}-*",),  # bucket ARNs name no account: aws:SourceAccount is added
            )
        )
    if alarms:
        uses.append(
            ServiceUse(
                "cloudwatch.amazonaws.com",
                ("kms:Decrypt", "kms:GenerateDataKey*"),
                (arn.format("cloudwatch", "alarm:*"),),
            )
        )
    return tuple(sorted(uses, key=lambda u: u.principal))


def _api_log_groups(arn: str, env: str) -> tuple[str, ...]:
    """Ingestion endpoints' log groups (modules/ingestion_api.py): access logs, API Gateway's execution logs (named
    after the API's generated id) and the web ACL's."""
    return (
        arn.format("logs", f"log-group:/aws/apigateway/{env}-*"),
        arn.format("logs", "log-group:API-Gateway-Execution-Logs_*"),
        arn.format("logs", f"log-group:aws-waf-logs-{env}-*"),
    )


class DomainKey(Construct):
    """A rotating KMS key with an alias; its policy lets exactly ``services`` use it, for this account's resources
    of this environment."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        account_id: str,
        description: str,
        services: tuple[ServiceUse, ...],
        admin_role: str | None,
        tags: dict[str, str],
    ) -> None:
        super().__init__(scope, id)
        if admin_role:
            account = [
                Statement(
                    sid="KeyAdministration",
                    effect="Allow",
                    principal={"AWS": admin_role},
                    actions=ADMIN_ACTIONS,
                    resources=("*",),
                ),
                Statement(
                    sid="AccountPoliciesGrantUse",
                    effect="Allow",
                    principal=account_root(account_id),
                    actions=USE_ACTIONS,  # IAM policies of the account may grant use, never administration
                    resources=("*",),
                ),
            ]
        else:
            account = [
                Statement(
                    sid="AccountAdministers",
                    effect="Allow",
                    principal=account_root(account_id),
                    actions=("kms:*",),  # key policies must let the account manage the key, or it becomes unmanageable
                    resources=("*",),  # in a key policy "*" means this key
                )
            ]
        policy = document(*account, *(service.statement(account_id) for service in services))
        self.key = KmsKey(
            self,
            "key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy,
            tags=tags,
        )
        self.alias = KmsAlias(self, "alias", name=alias, target_key_id=self.key.key_id)
