"""Two domains may define the same event name: lint, synthesis (subscription filters, the Lambda package) and the
handler runtime keep ``orders/order.created`` and ``users/order.created`` apart by the domain's source."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription

from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.runtime.handler import CloudEvent, EventHandler, EventValidationError
from eventform.synthesis.app import synthesize
from tests.conftest import StackJson, copy_project

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["user_id", "country"],
    "properties": {"user_id": {"type": "string"}, "country": {"type": "string", "pattern": "^[A-Z]{2}$"}},
}
USERS_ORDER = {"user_id": "cus_1", "country": "DE"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with ``users/order.created`` (a user's first order) beside ``orders/order.created``, both consumed
    by notifications/send-email."""
    root = copy_project(tmp_path_factory.mktemp("identity"))
    folder = root / "catalog/users/order.created"
    folder.mkdir(parents=True)
    (folder / "v1.schema.json").write_text(json.dumps(SCHEMA))
    (folder / "v1.examples.json").write_text(json.dumps([USERS_ORDER]))
    users = root / "catalog/users.yaml"
    users.write_text(
        users.read_text().replace(
            "events:\n",
            "events:\n  order.created:\n    description: A customer placed their first order.\n"
            "    versions: [1]\n    attributes: [country]\n",
            1,
        )
    )
    notifications = root / "catalog/notifications.yaml"
    text = notifications.read_text()
    old = "events: [orders/order.created, users/user.registered]"
    assert old in text
    new = "events: [orders/order.created, users/order.created, users/user.registered]"
    notifications.write_text(text.replace(old, new))
    return root


def test_two_domains_sharing_an_event_name_load(project: Path) -> None:
    catalog, _ = load(project)
    assert {e.qualified_name for e in catalog.events} >= {"orders/order.created", "users/order.created"}
    consumers = {c.qualified_name for c in catalog.consumers_of("users/order.created")}
    assert consumers == {"notifications/send-email"}


def test_each_topic_subscription_filters_its_own_domain_and_the_package_carries_both(project: Path) -> None:
    result = synthesize(project, project / "cdktf.out", stacks=["dev-notifications"])
    stack = StackJson(result.outdir / "stacks" / "dev-notifications" / "cdk.tf.json")
    policies = {
        s["topic_arn"].split(":")[-1]: json.loads(s["filter_policy"])["type"]
        for s in stack.resources(SnsTopicSubscription.TF_RESOURCE_TYPE).values()
    }
    assert policies == {
        "dev-orders-events": ["order.created"],
        "dev-users-events": ["order.created", "user.registered"],
    }
    (package,) = sorted(result.outdir.rglob("send_email-*.zip"))
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        sources = {
            domain: json.loads(archive.read(f"handlers/send_email/schemas/{domain}/domain.json"))["source"]
            for domain in ("orders", "users")
        }
    assert {
        "handlers/send_email/schemas/orders/order.created/v1.schema.json",
        "handlers/send_email/schemas/users/order.created/v1.schema.json",
        "eventform/runtime/declared.py",
        "eventform/runtime/validation.py",
        "eventform/runtime/envelope.py",
    } <= names
    assert sources == {"orders": "com.example.orders", "users": "com.example.users"}


def test_the_runtime_keeps_them_apart(project: Path) -> None:
    app = EventHandler("notifications/send-email", project / "catalog", idempotency_table="")
    seen: list[str] = []
    app.on("orders/order.created")(lambda event: seen.append("orders"))
    app.on("users/order.created")(lambda event: seen.append("users"))
    base = {"specversion": "1.0", "id": "e", "type": "order.created", "dataversion": 1}
    app.handle(CloudEvent.from_dict({**base, "source": "com.example.users", "data": USERS_ORDER}))
    with pytest.raises(EventValidationError, match=r"orders/order\.created"):  # the orders schema, not the users one
        app.handle(CloudEvent.from_dict({**base, "source": "com.example.orders", "data": USERS_ORDER}))
    assert seen == ["users"]


@pytest.mark.parametrize(
    ("source", "message"),
    [("com.example.orders", "already the source of domain 'orders'"), ("aws.users", "AWS reserves")],
)
def test_a_source_must_be_the_domain_s_own(tmp_path: Path, source: str, message: str) -> None:
    root = copy_project(tmp_path)
    users = root / "catalog/users.yaml"
    users.write_text(users.read_text().replace("source: com.example.users\n", f"source: {source}\n", 1))
    with pytest.raises(CatalogError) as caught:
        load(root)
    (problem,) = [p for p in caught.value.problems if p.location == "source"]
    assert problem.file.name == "users.yaml" and message in problem.message and problem.line == 5
    assert "com.example.users" in problem.fix
