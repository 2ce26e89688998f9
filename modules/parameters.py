"""SSM parameters under /eventform/<env>/... so services find their topic or queue at run time."""

from __future__ import annotations

from cdktn_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct


def locator(
    scope: Construct, id: str, *, name: str, value: str, description: str, tags: dict[str, str]
) -> SsmParameter:
    """A plain String parameter holding resource identifiers (ARNs, URLs, never a secret)."""
    return SsmParameter(scope, id, name=name, type="String", value=value, description=description, tags=tags)
