"""A domain's custom EventBridge bus with its archive and its resource policy."""

from __future__ import annotations

import json
from typing import Any

from cdktn_provider_aws.cloudwatch_event_archive import CloudwatchEventArchive
from cdktn_provider_aws.cloudwatch_event_bus import CloudwatchEventBus
from cdktn_provider_aws.cloudwatch_event_bus_policy import CloudwatchEventBusPolicy
from constructs import Construct

from modules.policies import Statement, document


def put_events_statements(bus_arn: str, accounts: tuple[str, ...], organization: str | None) -> list[Statement]:
    """Other accounts (by root ARN) and/or the organisation (``aws:PrincipalOrgID``) may PutEvents; nothing else.

    The organisation statement is the documented form: principal ``*`` narrowed by the org condition. A ``*``
    without that condition cannot be written in the catalog (the loader refuses it).
    """
    statements = []
    if accounts:
        statements.append(
            Statement(
                sid="AccountsPutEvents",
                effect="Allow",
                principal={"AWS": [f"arn:aws:iam::{account}:root" for account in sorted(accounts)]},
                actions=("events:PutEvents",),
                resources=(bus_arn,),
            )
        )
    if organization:
        statements.append(
            Statement(
                sid="OrganizationPutsEvents",
                effect="Allow",
                principal="*",
                actions=("events:PutEvents",),
                resources=(bus_arn,),
                conditions={"StringEquals": {"aws:PrincipalOrgID": organization}},
            )
        )
    return statements


class EventBus(Construct):
    """``<env>-<domain>`` bus, an archive of (optionally filtered) events, and who else may put events on it."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        arn: str,
        archive_name: str,
        archive_days: int,
        archive_pattern: dict[str, Any] | None,
        accounts: tuple[str, ...],
        organization: str | None,
        tags: dict[str, str],
    ) -> None:
        super().__init__(scope, id)
        self.bus = CloudwatchEventBus(self, "bus", name=name, tags=tags)
        self.archive = CloudwatchEventArchive(
            self,
            "archive",
            name=archive_name,
            description=f"Every event of {name}{' matching the archive pattern' if archive_pattern else ''}; "
            "replay with aws events start-replay",
            event_source_arn=self.bus.arn,
            retention_days=archive_days,
            event_pattern=json.dumps(archive_pattern, sort_keys=True) if archive_pattern else None,
        )
        statements = put_events_statements(arn, accounts, organization)
        self.policy = (
            CloudwatchEventBusPolicy(self, "policy", event_bus_name=self.bus.name, policy=document(*statements))
            if statements
            else None
        )
