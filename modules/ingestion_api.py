"""An HTTP ingestion endpoint: an API Gateway REST API whose methods validate a request body against the event's
model, wrap it in the CloudEvents envelope (a mapping template) and put it on a bus with API Gateway's own
PutEvents call (an AWS service integration: no Lambda in the path).

Per method: authorization (AWS_IAM, or a Cognito user pool authorizer with scopes), the body validator and model,
the integration with its role, and responses (202 accepted, 502 refused by the bus, 500 PutEvents failed). Per
endpoint: one stage with JSON access logs to an encrypted log group, X-Ray tracing, throttling and execution
logging (errors) on every method, a deployment redeployed whenever what it serves changes, and a web ACL that
refuses bodies over the limit and known-bad inputs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle
from cdktn_provider_aws.api_gateway_authorizer import ApiGatewayAuthorizer
from cdktn_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktn_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktn_provider_aws.api_gateway_integration_response import ApiGatewayIntegrationResponse
from cdktn_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktn_provider_aws.api_gateway_method_response import ApiGatewayMethodResponse
from cdktn_provider_aws.api_gateway_method_settings import ApiGatewayMethodSettings
from cdktn_provider_aws.api_gateway_model import ApiGatewayModel
from cdktn_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktn_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktn_provider_aws.api_gateway_rest_api import ApiGatewayRestApi
from cdktn_provider_aws.api_gateway_rest_api_policy import ApiGatewayRestApiPolicy
from cdktn_provider_aws.api_gateway_stage import ApiGatewayStage
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from eventform.catalog.ingestion_model import EVENTS_PATH
from modules.ingestion_firewall import BodyFirewall
from modules.ingestion_templates import (
    ACCESS_LOG_FORMAT,
    EVENTS_CONTENT_TYPE,
    EVENTS_TARGET,
    accepted_template,
    failed_template,
)
from modules.policies import Statement, document

JSON = "application/json"


@dataclass(frozen=True)
class IngestedMethod:
    """``POST /events/<event>``: its request model (draft 4) and the template that builds the PutEvents call."""

    event: str
    model_name: str
    model: str  # JSON
    request_template: str


@dataclass(frozen=True)
class ApiAuth:
    """AWS_IAM with a resource policy naming the accounts that may call, or a Cognito authorizer with scopes."""

    kind: str  # iam | jwt
    caller_accounts: tuple[str, ...] = ()
    user_pool_arns: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiConfig:
    name: str
    description: str
    stage: str
    region: str
    account_id: str
    role_arn: str  # the role API Gateway assumes for PutEvents
    auth: ApiAuth
    throttle_rate: float
    throttle_burst: int
    max_body: int
    inspection_limit: str  # KB_16..KB_64
    access_log_group: str
    log_retention_days: int
    kms_key: str | None
    local: bool  # the embedded AWS: no X-Ray, no web ACL, no resource policy, no account logging role


class IngestionApi(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: ApiConfig,
        methods: tuple[IngestedMethod, ...],
        tags: dict[str, str],
    ) -> None:
        super().__init__(scope, id)
        self.config = config
        api = self.api = ApiGatewayRestApi(
            self,
            "api",
            name=config.name,
            description=config.description,
            endpoint_configuration={"types": ["REGIONAL"]},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            tags=tags,
        )
        if config.auth.kind == "iam" and not config.local:  # moto returns a policy the provider cannot read back
            self._resource_policy(config)
        authorizer = None
        if config.auth.kind == "jwt":
            authorizer = ApiGatewayAuthorizer(
                self,
                "authorizer",
                name=f"{config.name}-tokens",
                rest_api_id=api.id,
                type="COGNITO_USER_POOLS",
                provider_arns=list(config.auth.user_pool_arns),
                identity_source="method.request.header.Authorization",
            )
        validator = ApiGatewayRequestValidator(
            self, "validator", name="body", rest_api_id=api.id, validate_request_body=True
        )
        events = ApiGatewayResource(
            self, "events", rest_api_id=api.id, parent_id=api.root_resource_id, path_part=EVENTS_PATH
        )
        built: list[object] = []
        for method in methods:
            built.extend(self._method(method, events.id, validator.id, authorizer))
        self.deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=api.id,
            # a new deployment whenever what the API serves changes; the stage moves to it before the old one goes
            triggers={"redeployment": _digest(methods, config.auth)},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=built,  # type: ignore[arg-type]
        )
        self.access_logs = CloudwatchLogGroup(
            self,
            "access-logs",
            name=config.access_log_group,
            retention_in_days=config.log_retention_days,
            kms_key_id=config.kms_key,
            tags=tags,
        )
        self.stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=api.id,
            deployment_id=self.deployment.id,
            stage_name=config.stage,
            xray_tracing_enabled=not config.local,  # the embedded AWS has no X-Ray
            access_log_settings={"destination_arn": self.access_logs.arn, "format": ACCESS_LOG_FORMAT},
            tags=tags,
        )
        # API Gateway writes execution logs to this group: created here so that it is encrypted and expires
        self.execution_logs = CloudwatchLogGroup(
            self,
            "execution-logs",
            name=f"API-Gateway-Execution-Logs_{api.id}/{config.stage}",
            retention_in_days=config.log_retention_days,
            kms_key_id=config.kms_key,
            tags=tags,
        )
        ApiGatewayMethodSettings(
            self,
            "settings",
            rest_api_id=api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings={
                "metrics_enabled": True,
                "logging_level": "ERROR",
                "data_trace_enabled": False,  # full request logging would write payloads (PII) to the logs
                "throttling_rate_limit": config.throttle_rate,
                "throttling_burst_limit": config.throttle_burst,
                "caching_enabled": False,
                "cache_data_encrypted": True,
            },
            depends_on=[self.execution_logs],
        )
        self.firewall = None
        if not config.local:
            self.firewall = BodyFirewall(
                self,
                "firewall",
                name=config.name,
                stage_arn=self.stage.arn,
                max_body=config.max_body,
                inspection_limit=config.inspection_limit,
                log_retention_days=config.log_retention_days,
                kms_key=config.kms_key,
                tags=tags,
            )

    def _resource_policy(self, config: ApiConfig) -> None:
        """AWS_IAM: principals of these accounts may invoke the API's methods (identity policies still decide
        which of them do); nobody else, whatever their own policies say."""
        invoke = Statement(
            sid="AccountsMayInvoke",
            effect="Allow",
            principal={"AWS": [f"arn:aws:iam::{a}:root" for a in sorted(config.auth.caller_accounts)]},
            actions=("execute-api:Invoke",),
            resources=(
                f"arn:aws:execute-api:{config.region}:{config.account_id}:{self.api.id}/*/POST/{EVENTS_PATH}/*",
            ),
        )
        ApiGatewayRestApiPolicy(self, "policy", rest_api_id=self.api.id, policy=document(invoke))

    def _method(
        self, method: IngestedMethod, parent_id: str, validator_id: str, authorizer: ApiGatewayAuthorizer | None
    ) -> list[object]:
        config, api = self.config, self.api
        key = method.event.replace(".", "-")
        resource = ApiGatewayResource(
            self, f"{key}-resource", rest_api_id=api.id, parent_id=parent_id, path_part=method.event
        )
        model = ApiGatewayModel(
            self,
            f"{key}-model",
            rest_api_id=api.id,
            name=method.model_name,
            content_type=JSON,
            schema=method.model,
        )
        made = ApiGatewayMethod(
            self,
            f"{key}-method",
            rest_api_id=api.id,
            resource_id=resource.id,
            http_method="POST",
            authorization="AWS_IAM" if authorizer is None else "COGNITO_USER_POOLS",
            authorizer_id=authorizer.id if authorizer else None,
            authorization_scopes=list(config.auth.scopes) if authorizer else None,
            request_validator_id=validator_id,
            request_models={JSON: model.name},
        )
        integration = ApiGatewayIntegration(
            self,
            f"{key}-integration",
            rest_api_id=api.id,
            resource_id=resource.id,
            http_method=made.http_method,
            type="AWS",
            integration_http_method="POST",
            uri=f"arn:aws:apigateway:{config.region}:events:action/PutEvents",
            credentials=config.role_arn,
            passthrough_behavior="NEVER",  # a body of another content type is refused (415), never passed on raw
            request_parameters={
                "integration.request.header.X-Amz-Target": f"'{EVENTS_TARGET}'",
                "integration.request.header.Content-Type": f"'{EVENTS_CONTENT_TYPE}'",
            },
            request_templates={JSON: method.request_template},
        )
        responses: list[object] = [made, integration]
        for status, pattern, template in (("202", None, accepted_template()), ("500", "[45]\\d{2}", failed_template())):
            answer = ApiGatewayMethodResponse(
                self,
                f"{key}-response-{status}",
                rest_api_id=api.id,
                resource_id=resource.id,
                http_method=made.http_method,
                status_code=status,
                response_models={JSON: "Empty"},
            )
            responses.append(
                ApiGatewayIntegrationResponse(
                    self,
                    f"{key}-integration-{status}",
                    rest_api_id=api.id,
                    resource_id=resource.id,
                    http_method=made.http_method,
                    status_code=answer.status_code,
                    selection_pattern=pattern,
                    response_templates={JSON: template},
                    depends_on=[integration],
                )
            )
        return responses


def _digest(methods: tuple[IngestedMethod, ...], auth: ApiAuth) -> str:
    """What a deployment serves, hashed: models, templates and authorization (deterministic for one catalog)."""
    text = json.dumps([[m.event, m.model, m.request_template] for m in methods] + [repr(auth)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
