"""SSM parameters under /eventform/<env>/... so services find their topic or queue at run time."""

from __future__ import annotations

from cdktn_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct


def locator(
    scope: Construct, id: str, *, name: str, value: str, description: str, tags: dict[str, str]
) -> SsmParameter:
    """A plain String parameter holding resource identifiers (ARNs, URLs, never a secret). Its construct id ends in
    ``-parameter``: the environments' CKV2_AWS_34 waiver covers ``aws_ssm_parameter.*-parameter`` only, so any
    other SSM parameter (a real secret some day) is not waived by it."""
    if not id.endswith("-parameter"):
        raise ValueError(f"locator ids end in -parameter (the waiver's glob), not {id!r}")
    return SsmParameter(scope, id, name=name, type="String", value=value, description=description, tags=tags)
