"""A domain's custom EventBridge bus with its archive and its resource policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cdktn_provider_aws.cloudwatch_event_archive import CloudwatchEventArchive
from cdktn_provider_aws.cloudwatch_event_bus import CloudwatchEventBus
from cdktn_provider_aws.cloudwatch_event_bus_policy import CloudwatchEventBusPolicy
from constructs import Construct

from modules.policies import Statement, document


@dataclass(frozen=True)
class Senders:
    """Who else may put events on a bus, and which: other accounts (by root ARN), the organisation (optionally
    narrowed to organisational units), each only with the domain's ``source`` and the listed ``detail_types``."""

    accounts: tuple[str, ...] = ()
    organization: str | None = None
    organizational_units: tuple[str, ...] = ()
    source: str = ""
    detail_types: tuple[str, ...] = ()


def put_events_statements(bus_arn: str, senders: Senders) -> list[Statement]:
    """Other accounts (by root ARN) and/or the organisation (``aws:PrincipalOrgID``, narrowed to organisational units
    with ``aws:PrincipalOrgPaths``) may PutEvents, and only the domain's events that the catalog lets them put
    (``events:source`` + ``events:detail-type``); nothing else.

    The organisation statement is the documented form: principal ``*`` narrowed by the org condition. A ``*``
    without that condition cannot be written in the catalog (the loader refuses it).
    """
    what = {"events:source": senders.source, "events:detail-type": sorted(senders.detail_types)}
    statements = []
    if senders.accounts:
        statements.append(
            Statement(
                sid="AccountsPutEvents",
                effect="Allow",
                principal={"AWS": [f"arn:aws:iam::{account}:root" for account in sorted(senders.accounts)]},
                actions=("events:PutEvents",),
                resources=(bus_arn,),
                conditions={"StringEquals": what},
            )
        )
    if senders.organization:
        conditions: dict[str, dict[str, Any]] = {"StringEquals": {"aws:PrincipalOrgID": senders.organization, **what}}
        if senders.organizational_units:
            conditions["ForAnyValue:StringLike"] = {
                "aws:PrincipalOrgPaths": [f"{unit}/*" for unit in senders.organizational_units]
            }
        statements.append(
            Statement(
                sid="OrganizationPutsEvents",
                effect="Allow",
                principal="*",
                actions=("events:PutEvents",),
                resources=(bus_arn,),
                conditions=conditions,
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
        senders: Senders,
        kms_key: str | None,
        tags: dict[str, str],
    ) -> None:
        """``kms_key``: the domain key's ARN for the bus (customer-managed environments)."""
        super().__init__(scope, id)
        self.bus = CloudwatchEventBus(self, "bus", name=name, kms_key_identifier=kms_key, tags=tags)
        self.archive = CloudwatchEventArchive(
            self,
            "archive",
            name=archive_name,
            description=f"Every event of {name}{' matching the archive pattern' if archive_pattern else ''}; "
            "replay with aws events start-replay",
            event_source_arn=self.bus.arn,
            retention_days=archive_days,
            event_pattern=json.dumps(archive_pattern, sort_keys=True) if archive_pattern else None,
            # kms_key_identifier on archives exists from hashicorp/aws 6.x only; the generated configuration must
            # stay valid on the mirrored 5.100.0 (README, "terraform validate and the prod constraint")
        )
        statements = put_events_statements(arn, senders)
        self.policy = (
            CloudwatchEventBusPolicy(self, "policy", event_bus_name=self.bus.name, policy=document(*statements))
            if statements
            else None
        )
