"""The sample's HTTP ingestion endpoint (orders/partner-webhook) in the synthesized stacks: the REST API with its
authorization, model, validator and PutEvents integration, the stage's logs, tracing and throttle, the web ACL with
the body limit, the least-privilege integration role, the alarms, and what the local environment leaves out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cdktn_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktn_provider_aws.api_gateway_authorizer import ApiGatewayAuthorizer
from cdktn_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktn_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktn_provider_aws.api_gateway_method_settings import ApiGatewayMethodSettings
from cdktn_provider_aws.api_gateway_model import ApiGatewayModel
from cdktn_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktn_provider_aws.api_gateway_rest_api import ApiGatewayRestApi
from cdktn_provider_aws.api_gateway_rest_api_policy import ApiGatewayRestApiPolicy
from cdktn_provider_aws.api_gateway_stage import ApiGatewayStage
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.ssm_parameter import SsmParameter
from cdktn_provider_aws.wafv2_web_acl import Wafv2WebAcl
from cdktn_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from jsonschema import Draft4Validator

from eventform.catalog.loader import load
from eventform.synthesis.app import synthesize
from tests.conftest import copy_project
from tests.eventform.catalog.test_ingestion import IAM, JWT

PROD = "333333333333"
KEY = f"arn:aws:kms:eu-west-1:{PROD}:alias/eventform/prod/orders"


def test_the_method_is_iam_authorized_validates_the_body_and_puts_on_the_orders_bus(stack, project_root) -> None:
    orders = stack("prod-orders")
    api = orders.only(ApiGatewayRestApi.TF_RESOURCE_TYPE)
    assert api["name"] == "prod-orders-partner-webhook"
    assert api["endpoint_configuration"] == {"types": ["REGIONAL"]}
    method = orders.only(ApiGatewayMethod.TF_RESOURCE_TYPE)
    assert (method["http_method"], method["authorization"]) == ("POST", "AWS_IAM")
    assert method["request_validator_id"].startswith("${aws_api_gateway_request_validator.")
    assert orders.only(ApiGatewayRequestValidator.TF_RESOURCE_TYPE)["validate_request_body"] is True
    model = orders.only(ApiGatewayModel.TF_RESOURCE_TYPE)
    assert (model["name"], model["content_type"]) == ("OrderCreatedV1", "application/json")
    assert method["request_models"]["application/json"].startswith("${aws_api_gateway_model.")
    schema = json.loads(model["schema"])
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    catalog = load(project_root)[0]
    for example in catalog.event("orders/order.created").latest.examples:
        assert Draft4Validator(schema).is_valid(example)
    assert not Draft4Validator(schema).is_valid({"order_id": "ord_1"})  # required fields missing: 400

    integration = orders.only(ApiGatewayIntegration.TF_RESOURCE_TYPE)
    assert (integration["type"], integration["integration_http_method"], integration["uri"]) == (
        "AWS",
        "POST",
        "arn:aws:apigateway:eu-west-1:events:action/PutEvents",
    )
    assert integration["passthrough_behavior"] == "NEVER"
    assert integration["request_parameters"] == {
        "integration.request.header.X-Amz-Target": "'AWSEvents.PutEvents'",
        "integration.request.header.Content-Type": "'application/x-amz-json-1.1'",
    }
    template = integration["request_templates"]["application/json"]
    assert '"EventBusName": "prod-orders", "Source": "com.example.orders", "DetailType": "order.created"' in template
    assert "$context.requestId" in template and "X-Correlation-Id" in template
    assert "${" not in template and "%{" not in template  # Terraform would interpolate them
    assert integration["credentials"].startswith("${aws_iam_role.")


def test_only_this_account_and_the_marketplace_may_invoke(stack) -> None:
    policy = json.loads(stack("prod-orders").only(ApiGatewayRestApiPolicy.TF_RESOURCE_TYPE)["policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{PROD}:root", "arn:aws:iam::555555555555:root"]}
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"].endswith("/*/POST/events/*")


def test_the_integration_role_may_put_only_the_endpoints_events_on_the_orders_bus(stack) -> None:
    orders = stack("prod-orders")
    role = orders.only(IamRole.TF_RESOURCE_TYPE, name="prod-orders-partner-webhook-ingest-role")
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": PROD}}
    policy = orders.only(IamRolePolicy.TF_RESOURCE_TYPE, name="put-events")
    (statement,) = json.loads(policy["policy"])["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == f"arn:aws:events:eu-west-1:{PROD}:event-bus/prod-orders"
    assert statement["Condition"] == {
        "StringEquals": {"events:source": ["com.example.orders"], "events:detail-type": ["order.created"]}
    }


def test_the_stage_logs_traces_and_throttles(stack) -> None:
    orders = stack("prod-orders")
    stage = orders.only(ApiGatewayStage.TF_RESOURCE_TYPE)
    assert stage["stage_name"] == "v1" and stage["xray_tracing_enabled"] is True
    log_format = json.loads(stage["access_log_settings"]["format"])
    assert {"requestId", "status", "userArn", "validationError", "wafStatus"} <= set(log_format)
    access = orders.only(CloudwatchLogGroup.TF_RESOURCE_TYPE, name="/aws/apigateway/prod-orders-partner-webhook/access")
    assert access["retention_in_days"] == 365 and access["kms_key_id"].startswith("${data.aws_kms_key.")
    groups = [g["name"] for g in orders.resources(CloudwatchLogGroup.TF_RESOURCE_TYPE).values()]
    assert any(g.startswith("API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.") for g in groups)
    settings = orders.only(ApiGatewayMethodSettings.TF_RESOURCE_TYPE)
    assert settings["method_path"] == "*/*"
    assert {k: settings["settings"][k] for k in ("throttling_rate_limit", "throttling_burst_limit")} == {
        "throttling_rate_limit": 25,
        "throttling_burst_limit": 50,
    }
    assert (settings["settings"]["logging_level"], settings["settings"]["data_trace_enabled"]) == ("ERROR", False)
    located = orders.only(SsmParameter.TF_RESOURCE_TYPE, name="/eventform/prod/orders/ingestion/partner-webhook")
    assert "rest_api_id" in located["value"] and "partner_webhook_invoke_url" in orders.config["output"]


def test_the_web_acl_refuses_bodies_over_the_limit(stack) -> None:
    orders = stack("prod-orders")
    acl = orders.only(Wafv2WebAcl.TF_RESOURCE_TYPE)
    assert acl["scope"] == "REGIONAL" and acl["default_action"] == {"allow": {}}
    size = next(r for r in acl["rule"] if r["name"] == "body-size")
    statement = size["statement"]["size_constraint_statement"]
    assert (statement["comparison_operator"], statement["size"]) == ("GT", 32 * 1024)
    assert statement["field_to_match"] == {"body": {"oversize_handling": "MATCH"}}
    assert size["action"]["block"]["custom_response"]["response_code"] == 413
    assert acl["association_config"]["request_body"][0]["api_gateway"]["default_size_inspection_limit"] == "KB_32"
    association = orders.only(Wafv2WebAclAssociation.TF_RESOURCE_TYPE)
    assert association["resource_arn"].startswith("${aws_api_gateway_stage.")


def test_the_endpoint_has_its_alarms(stack) -> None:
    alarms = stack("prod-orders").resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
    names = {a["alarm_name"] for a in alarms}
    assert {
        "prod-orders-partner-webhook-server-errors",
        "prod-orders-partner-webhook-refused",
        "prod-orders-partner-webhook-latency",
    } <= names


def test_the_platform_sets_api_gateways_logging_role_outside_local(stack) -> None:
    account = stack("prod-platform").only(ApiGatewayAccount.TF_RESOURCE_TYPE)
    assert account["cloudwatch_role_arn"].startswith("${aws_iam_role.")
    assert stack("local-platform").resources(ApiGatewayAccount.TF_RESOURCE_TYPE) == {}


def test_locally_no_web_acl_and_no_tracing(stack) -> None:
    local = stack("local-orders")
    assert local.resources(Wafv2WebAcl.TF_RESOURCE_TYPE) == {}
    assert local.only(ApiGatewayStage.TF_RESOURCE_TYPE)["xray_tracing_enabled"] is False
    assert local.only(ApiGatewayMethod.TF_RESOURCE_TYPE)["authorization"] == "AWS_IAM"
    assert local.resources(ApiGatewayRestApiPolicy.TF_RESOURCE_TYPE) == {}  # moto's policy cannot be read back


@pytest.fixture(scope="module")
def jwt_orders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = copy_project(tmp_path_factory.mktemp("jwt-endpoint"))
    path = project / "catalog/orders.yaml"
    path.write_text(path.read_text().replace(IAM, JWT, 1))
    synthesize(project, project / "cdktf.out", stacks=["prod-orders"])
    return json.loads((project / "cdktf.out/stacks/prod-orders/cdk.tf.json").read_text())


def test_a_jwt_endpoint_has_a_cognito_authorizer_with_scopes_and_no_resource_policy(jwt_orders) -> None:
    resources = jwt_orders["resource"]
    (authorizer,) = resources[ApiGatewayAuthorizer.TF_RESOURCE_TYPE].values()
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["provider_arns"] == [f"arn:aws:cognito-idp:eu-west-1:{PROD}:userpool/eu-west-1_ProdPool1"]
    assert authorizer["identity_source"] == "method.request.header.Authorization"
    (method,) = resources[ApiGatewayMethod.TF_RESOURCE_TYPE].values()
    assert (method["authorization"], method["authorization_scopes"]) == ("COGNITO_USER_POOLS", ["orders/ingest"])
    assert method["authorizer_id"].startswith("${aws_api_gateway_authorizer.")
    assert ApiGatewayRestApiPolicy.TF_RESOURCE_TYPE not in resources
