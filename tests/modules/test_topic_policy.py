"""Who may subscribe to a topic (issue 16, finding 7): event topics carry personal data and feed only queues and
functions, so the account may subscribe only those protocols (never an e-mail address or an HTTP endpoint); the
alarm topic reaches people. And SSM locators keep the id suffix the CKV2_AWS_34 waiver is narrowed to."""

from __future__ import annotations

import json

import pytest
from cdktn import App, TerraformStack
from cdktn_provider_aws.sns_topic_policy import SnsTopicPolicy

from modules.parameters import locator


def statements(configuration) -> dict[str, dict]:
    policy = configuration.only(SnsTopicPolicy.TF_RESOURCE_TYPE)["policy"]
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


def test_event_topics_admit_only_queue_and_function_subscriptions(stack) -> None:
    users = statements(stack("prod-users"))
    subscribe = users["AccountSubscribesEndpointsOfTheseProtocols"]
    assert subscribe["Action"] == "sns:Subscribe"
    assert subscribe["Condition"] == {"StringEquals": {"sns:Protocol": ["lambda", "sqs"]}}
    assert "sns:Subscribe" not in json.dumps(users["AccountPublishes"])


def test_the_alarm_topic_reaches_people(stack) -> None:
    platform = statements(stack("prod-platform"))
    protocols = platform["AccountSubscribesEndpointsOfTheseProtocols"]["Condition"]["StringEquals"]["sns:Protocol"]
    assert {"email", "https"} <= set(protocols)


def test_a_locator_must_keep_the_waived_id_suffix() -> None:
    scope = TerraformStack(App(), "s")
    locator(scope, "topic-parameter", name="/eventform/x/topic_arn", value="arn", description="d", tags={})
    with pytest.raises(ValueError, match="-parameter"):
        locator(scope, "crm-password", name="/eventform/x/crm", value="v", description="d", tags={})
