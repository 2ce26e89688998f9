"""SSM parameters under /eventform/<env>/... so services find their topic or queue at run time."""

from __future__ import annotations

from cdktn_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct


class Locator(Construct):
    """A plain String parameter holding a resource identifier (an ARN or URL, never a secret)."""

    def __init__(
        self, scope: Construct, id: str, *, name: str, value: str, description: str, tags: dict[str, str]
    ) -> None:
        super().__init__(scope, id)
        self.parameter = SsmParameter(
            self, "parameter", name=name, type="String", value=value, description=description, tags=tags
        )
