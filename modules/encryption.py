"""Customer-managed KMS keys: one per domain (and one for the platform's alarm topic)."""

from __future__ import annotations

from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules.policies import Statement, account_root, document

# Services that encrypt or decrypt messages of eventform's topics, queues, buses and functions.
SERVICE_PRINCIPALS = (
    "cloudwatch.amazonaws.com",
    "events.amazonaws.com",
    "lambda.amazonaws.com",
    "s3.amazonaws.com",  # S3 sends object events to encrypted queues and topics
    "sns.amazonaws.com",
    "sqs.amazonaws.com",
)


class DomainKey(Construct):
    """A rotating KMS key with an alias; its policy lets the messaging services use it for this account only."""

    def __init__(
        self, scope: Construct, id: str, *, alias: str, account_id: str, description: str, tags: dict[str, str]
    ) -> None:
        super().__init__(scope, id)
        policy = document(
            Statement(
                sid="AccountAdministers",
                effect="Allow",
                principal=account_root(account_id),
                actions=("kms:*",),  # key policies must let the account manage the key, or it becomes unmanageable
                resources=("*",),  # in a key policy "*" means this key
            ),
            Statement(
                sid="MessagingServicesUseTheKey",
                effect="Allow",
                principal={"Service": list(SERVICE_PRINCIPALS)},
                actions=("kms:Decrypt", "kms:GenerateDataKey*"),
                resources=("*",),
                conditions={"StringEquals": {"aws:SourceAccount": account_id}},
            ),
        )
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
