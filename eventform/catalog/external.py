"""References to what lives outside eventform's stacks (targets, secrets) and exceptions on personal data: part of
the catalog model (:mod:`eventform.catalog.model` re-exports them), kept apart to keep that module small."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventform.catalog.model import Environment


# How a resource's name becomes its ARN, per ARN service (``Reference.name``).
RESOURCE_FORMATS: dict[str, str] = {
    "sns": "{name}",
    "sqs": "{name}",
    "states": "stateMachine:{name}",
    "kinesis": "stream/{name}",
    "firehose": "deliverystream/{name}",
    "events": "event-bus/{name}",
    "lambda": "function:{name}",
    "secretsmanager": "secret:{name}",
}


@dataclass(frozen=True)
class Reference:
    """A resource outside eventform's stacks (a target, a secret), named per environment so that prod never points
    at dev: an ARN per environment (``environments:``), or a name resolved in the environment's own account and
    region (or in a partner's account, ``partner:``), or one ARN for every environment (checked against each)."""

    service: str  # the ARN's service: states, sns, kinesis, firehose, events, lambda, sqs, secretsmanager
    arn: str | None = None
    name: str | None = None
    partner: str | None = None  # with name: the partner account the environment declares under partners:
    per_environment: tuple[tuple[str, str], ...] = ()  # environment name -> ARN
    cross_region: bool = False  # another region than the environment's, on purpose

    def arn_in(self, environment: Environment) -> str:
        """The ARN in ``environment`` (the loader has checked that each environment gets one)."""
        for name, arn in self.per_environment:
            if name == environment.name:
                return arn
        if self.arn is not None:
            return self.arn
        account = environment.partners.get(self.partner, "") if self.partner else environment.account_id
        resource = RESOURCE_FORMATS[self.service].format(name=self.name)
        return f"arn:aws:{self.service}:{environment.region}:{account}:{resource}"



@dataclass(frozen=True)
class PiiException:
    """Personal data reaches another account or a stream unminimised on purpose: who decided, and why."""

    owner: str
    reason: str


__all__ = ["RESOURCE_FORMATS", "PiiException", "Reference"]
