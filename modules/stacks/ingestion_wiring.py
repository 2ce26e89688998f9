"""The HTTP ingestion endpoints of a domain stack: per endpoint the REST API (:class:`modules.ingestion_api.
IngestionApi`), the role API Gateway assumes to put exactly the endpoint's events on the domain's bus, the stack
outputs and the SSM locator; and, in the platform stack, API Gateway's account-level logging role.

Called from :class:`modules.stacks.domain.DomainStack` through :class:`modules.stacks.base.DomainParts`.
"""

from __future__ import annotations

import json

from cdktn import Fn, TerraformOutput
from cdktn_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment

from eventform.catalog.ingestion import draft4_model, model_name
from eventform.catalog.ingestion_model import STAGE, Ingestion
from eventform.catalog.model import Domain
from modules.ingestion_api import ApiAuth, ApiConfig, IngestedMethod, IngestionApi
from modules.ingestion_templates import put_events_template
from modules.parameters import locator
from modules.policies import Statement, document
from modules.stacks.base import DomainParts, EventformStack, output_id

API_GATEWAY = "apigateway.amazonaws.com"
# AWS's managed policy for API Gateway's logging role (CloudWatch Logs only); the account setting takes one role.
PUSH_TO_LOGS = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def build_ingestion(stack: DomainParts, domain: Domain, tags: dict[str, str]) -> None:
    for endpoint in domain.ingestion:
        _endpoint(stack, domain, endpoint, tags)


def _trust(account_id: str) -> str:
    """API Gateway may assume the role for APIs of this account only (aws:SourceAccount: the confused deputy)."""
    statement = Statement(
        sid="ApiGatewayOfThisAccount",
        effect="Allow",
        principal={"Service": API_GATEWAY},
        actions=("sts:AssumeRole",),
        resources=(),
        conditions={"StringEquals": {"aws:SourceAccount": account_id}},
    )
    return json.dumps({"Version": "2012-10-17", "Statement": [statement.render()]}, sort_keys=True)


def _endpoint(stack: DomainParts, domain: Domain, endpoint: Ingestion, tags: dict[str, str]) -> None:
    names, environment, catalog = stack.names, stack.environment, stack.catalog
    bus = names.bus(domain.name)
    role = IamRole(
        stack,
        f"ingestion-{endpoint.name}-role",
        name=names.ingestion_role(domain.name, endpoint.name),
        assume_role_policy=_trust(environment.account_id),
        tags=tags,
    )
    IamRolePolicy(
        stack,
        f"ingestion-{endpoint.name}-policy",
        name="put-events",
        role=role.id,
        policy=document(
            Statement(
                sid="PutTheEndpointsEventsOnTheBus",
                effect="Allow",
                actions=("events:PutEvents",),
                resources=(names.bus_arn(domain.name),),
                conditions={
                    "StringEquals": {
                        "events:source": [domain.source],
                        "events:detail-type": sorted(endpoint.events),
                    }
                },
            )
        ),
    )
    methods = []
    for name in endpoint.events:
        event = catalog.event(f"{domain.name}/{name}")
        version = event.latest
        methods.append(
            IngestedMethod(
                event=name,
                model_name=model_name(name, version.number),
                model=json.dumps(draft4_model(version.schema), sort_keys=True),
                request_template=put_events_template(
                    bus=bus,
                    source=domain.source,
                    event=name,
                    version=version.number,
                    dataschema=event.dataschema(version.number),
                ),
            )
        )
    auth = endpoint.auth
    partners = tuple(environment.partners[p] for p in auth.partners)
    api = IngestionApi(
        stack,
        f"ingestion-{endpoint.name}",
        config=ApiConfig(
            name=names.ingestion_api(domain.name, endpoint.name),
            description=endpoint.description,
            stage=STAGE,
            region=environment.region,
            account_id=environment.account_id,
            role_arn=role.arn,
            auth=ApiAuth(
                kind=auth.kind,
                caller_accounts=(environment.account_id, *partners),
                user_pool_arns=(auth.user_pool_arn(environment),) if auth.kind == "jwt" else (),
                scopes=auth.scopes,
            ),
            throttle_rate=endpoint.throttle.rate,
            throttle_burst=endpoint.throttle.burst,
            max_body=endpoint.max_body,
            inspection_limit=endpoint.inspection_limit,
            access_log_group=names.ingestion_log_group(domain.name, endpoint.name),
            log_retention_days=environment.log_retention_days,
            kms_key=stack.kms_key_arn_for(domain.name),
            local=environment.is_local,
        ),
        methods=tuple(methods),
        tags=tags,
    )
    TerraformOutput(stack, output_id(endpoint.name, "invoke_url"), value=api.stage.invoke_url)
    locator(
        stack,
        f"ingestion-{endpoint.name}-parameter",
        name=names.parameter(domain.name, "ingestion", endpoint.name),
        value=Fn.jsonencode(
            {
                "rest_api_id": api.api.id,
                "stage": STAGE,
                "invoke_url": api.stage.invoke_url,
                "paths": [Ingestion.path_of(e) for e in endpoint.events],
                "auth": auth.kind,
            }
        ),
        description=f"rest_api_id, stage, invoke_url, paths, auth of the {endpoint.qualified_name} endpoint (JSON)",
        tags=tags,
    )


def build_account_logging(stack: EventformStack, tags: dict[str, str]) -> None:
    """API Gateway writes a REST API's access and execution logs through the account's logging role: without it a
    stage with access logs cannot be created. Not locally (the embedded AWS has no account settings)."""
    if stack.environment.is_local:
        return
    names = stack.names
    role = IamRole(
        stack,
        "apigateway-logging-role",
        name=f"{names.env}-platform-apigateway-logs",
        assume_role_policy=_trust(stack.environment.account_id),
        tags=tags,
    )
    IamRolePolicyAttachment(stack, "apigateway-logging-policy", role=role.name, policy_arn=PUSH_TO_LOGS)
    ApiGatewayAccount(stack, "apigateway-account", cloudwatch_role_arn=role.arn)
