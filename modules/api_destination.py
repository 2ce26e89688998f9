"""An EventBridge API destination (HTTP endpoint, rate limit) and its connection.

The connection's credentials are read from Secrets Manager at plan time (the catalog only holds the secret's ARN,
never the secret). EventBridge then keeps them in its own managed secret. They also pass through Terraform state,
which is why staging and prod keep state in an encrypted S3 backend.
"""

from __future__ import annotations

from cdktn import Fn
from cdktn_provider_aws.cloudwatch_event_api_destination import CloudwatchEventApiDestination
from cdktn_provider_aws.cloudwatch_event_connection import (
    CloudwatchEventConnection,
    CloudwatchEventConnectionAuthParameters,
    CloudwatchEventConnectionAuthParametersApiKey,
    CloudwatchEventConnectionAuthParametersBasic,
)
from cdktn_provider_aws.data_aws_secretsmanager_secret_version import DataAwsSecretsmanagerSecretVersion
from constructs import Construct

from eventform.catalog.model import ApiDestination


class HttpDestination(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        connection_name: str,
        spec: ApiDestination,
        secret_id: str,
        description: str,
    ) -> None:
        """``secret_id``: the environment's own secret (ARN, or name resolved in its account and region)."""
        super().__init__(scope, id)
        secret = DataAwsSecretsmanagerSecretVersion(self, "credentials", secret_id=secret_id)
        fields = Fn.jsondecode(secret.secret_string)
        if spec.auth == "api_key":
            auth = CloudwatchEventConnectionAuthParameters(
                api_key=CloudwatchEventConnectionAuthParametersApiKey(key=spec.header, value=Fn.lookup(fields, "value"))
            )
            authorization_type = "API_KEY"
        else:
            auth = CloudwatchEventConnectionAuthParameters(
                basic=CloudwatchEventConnectionAuthParametersBasic(
                    username=Fn.lookup(fields, "username"), password=Fn.lookup(fields, "password")
                )
            )
            authorization_type = "BASIC"
        self.connection = CloudwatchEventConnection(
            self,
            "connection",
            name=connection_name,
            description=description,
            authorization_type=authorization_type,
            auth_parameters=auth,
        )
        self.destination = CloudwatchEventApiDestination(
            self,
            "destination",
            name=name,
            description=description,
            invocation_endpoint=spec.endpoint,
            http_method=spec.method,
            invocation_rate_limit_per_second=spec.rate,
            connection_arn=self.connection.arn,
        )
