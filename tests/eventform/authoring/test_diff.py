"""`eventform diff`: a removed required field is breaking; new consumers show as created resources; replacements."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.authoring.diff import compare_stacks
from eventform.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=test@example.com", "-c", "user.name=test", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture()
def repository(tmp_path: Path) -> Path:
    """A git repository holding a copy of the project's tracked files, committed once (the base)."""
    root = tmp_path / "repo"
    files = git(ROOT, "ls-files", "-z").split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def test_removed_required_field_is_breaking_and_new_consumer_is_created(repository: Path, tmp_path: Path):
    schema_path = repository / "catalog/orders/order.created/v1.schema.json"
    schema = json.loads(schema_path.read_text())
    schema["required"].remove("channel")
    del schema["properties"]["channel"]
    schema_path.write_text(json.dumps(schema, indent=2))
    examples_path = repository / "catalog/orders/order.created/v1.examples.json"
    examples = json.loads(examples_path.read_text())
    for example in examples:
        del example["channel"]
    examples_path.write_text(json.dumps(examples, indent=2))
    orders = repository / "catalog/orders.yaml"
    orders.write_text(orders.read_text().replace("attributes: [country, channel]", "attributes: [country]"))
    added = runner.invoke(
        app,
        [
            "add",
            "consumer",
            "inventory",
            "track-orders",
            "--events",
            "orders/order.cancelled",
            "--root",
            str(repository),
        ],
    )
    assert added.exit_code == 0, added.output

    report_path = tmp_path / "diff.md"
    result = runner.invoke(
        app,
        [
            "diff",
            "--base",
            "main",
            "--env",
            "dev",
            "--out",
            str(report_path),
            "--fail-on-breaking",
            "--root",
            str(repository),
        ],
    )
    assert result.exit_code == 3, result.output  # --fail-on-breaking
    markdown = report_path.read_text()
    assert "**1 breaking schema change**" in markdown
    assert (
        "| `orders/order.created` | v1 | `channel` | removed-field: field removed | publish version 2: "
        "`eventform add event orders order.created --version 2` |"
    ) in markdown
    assert "| added | consumer | `inventory/track-orders` | reads orders/order.cancelled |" in markdown
    terraform = markdown.split("### Terraform")[1]
    # The new consumer brings its queue, DLQ, alarms (its composite and the watch alarms of its SLOs), subscription,
    # locator and Lambda (role, policy, logs, mapping), and a place on the inventory dashboard and the environment's
    # overview; the consumers of order.created (send-email, reserve-stock, orders' own order-metrics) get new zips,
    # because the schema they validate against is bundled in them.
    assert "| `dev-inventory` | 16 | 2 | 0 | 0 |" in terraform, terraform
    assert "| `dev-notifications` | 0 | 1 | 0 | 0 |" in terraform, terraform
    assert "| update | `aws_lambda_function.consumer-send-email-function_" in terraform
    assert "| create | `aws_sqs_queue.consumer-track-orders_queue_" in terraform
    assert "| create | `aws_lambda_function.consumer-track-orders" in terraform
    assert "| create | `aws_cloudwatch_composite_alarm.watch-dev-inventory-track-orders-consumer` |" in terraform
    assert "| update | `aws_cloudwatch_dashboard.overview` | dashboard_body |" in terraform
    orders = terraform.split("<summary><code>dev-orders</code></summary>")[1].split("</details>")[0]
    rows = [line for line in orders.splitlines() if line.startswith("| update") or line.startswith("| create")]
    # besides the order-metrics zip, the partner webhook's request model is the new schema, and its deployment moves
    updated = sorted(row.split("`")[1].split(".")[0] for row in rows)
    assert updated == ["aws_api_gateway_deployment", "aws_api_gateway_model", "aws_lambda_function"], rows
    assert any("consumer-order-metrics-function" in r for r in rows), "message attributes are not infrastructure"


def test_unknown_revision_and_no_repository(repository: Path, tmp_path: Path):
    result = runner.invoke(app, ["diff", "--base", "no-such-branch", "--root", str(repository)])
    assert result.exit_code == 1 and "unknown git revision 'no-such-branch'" in result.output
    plain = tmp_path / "plain"
    shutil.copytree(repository / "catalog", plain / "catalog")
    shutil.copytree(repository / "environments", plain / "environments")
    result = runner.invoke(app, ["diff", "--base", "main", "--root", str(plain)])
    assert result.exit_code == 1 and "is not inside a git repository" in result.output


def write_stack(out: Path, stack: str, resources: dict) -> None:
    path = out / "stacks" / stack / "cdk.tf.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"resource": resources}))


def test_replacements_are_called_out(tmp_path: Path):
    base, head = tmp_path / "base", tmp_path / "head"
    queue = {"name": "dev-a-b", "visibility_timeout_seconds": 30, "//": {"metadata": {"path": "x"}}}
    topic = {"name": "dev-a-events"}
    write_stack(base, "dev-a", {"aws_sqs_queue": {"q": queue}, "aws_sns_topic": {"t": topic}})
    write_stack(base, "dev-gone", {"aws_sns_topic": {"t": topic}})
    write_stack(
        head,
        "dev-a",
        {
            "aws_sqs_queue": {"q": {**queue, "visibility_timeout_seconds": 60, "//": {"metadata": {"path": "y"}}}},
            "aws_sns_topic": {"t": {"name": "dev-a-events.fifo", "fifo_topic": True}},
        },
    )
    changes = {s.stack: [(c.action, c.address, c.attributes) for c in s.changes] for s in compare_stacks(base, head)}
    assert changes == {
        "dev-a": [
            ("replace", "aws_sns_topic.t", ("fifo_topic", "name")),
            ("update", "aws_sqs_queue.q", ("visibility_timeout_seconds",)),
        ],
        "dev-gone": [("destroy", "aws_sns_topic.t", ())],
    }


def test_realistic_change_pipe_added_target_changed_consumer_renamed(repository: Path, tmp_path: Path):
    """The change of the issue's closing note, end to end: both revisions synthesized, environments grouped."""
    from tests.eventform.authoring.realistic_change import pipe_target_rename

    pipe_target_rename(repository)
    report_path = tmp_path / "diff.md"
    result = runner.invoke(
        app,
        [
            "diff",
            "--base",
            "main",
            "--env",
            "dev",
            "--env",
            "prod",
            "--out",
            str(report_path),
            "--root",
            str(repository),
        ],
    )
    assert result.exit_code == 0, result.output
    markdown = report_path.read_text()
    print(markdown)  # pytest -s shows what a user pastes
    # 18 destroyed per environment (the consumer's queue, DLQ, function and its alarms); the overview dashboards of
    # both platform stacks follow the consumer's new name
    assert "3 catalog changes, no breaking schema change, 8 of 12 stacks change, **36 resources destroyed**" in markdown
    assert "> **Renamed** consumer `notifications/send-email -> notifications/customer-emails`" in markdown
    assert "| added | pipe | `users/signup-archive` | stream customer-events -> firehose" in markdown
    assert "| changed | target | `payments/large-orders -> risk-topic` | input_transformer.template:" in markdown
    assert "reference.name: risk-alerts -> risk-review" in markdown
    terraform = markdown.split("### Terraform")[1]
    assert "| `{dev, prod}-users` |" in terraform, "the same pipe in both environments: one row"
    assert "| create | `aws_pipes_pipe." in terraform
    assert "| update | `aws_cloudwatch_event_target.consumer-large-orders" in terraform
    assert "| **destroy** | `aws_sqs_queue.consumer-send-email_queue" in terraform
    assert not (tmp_path / "diff.full.md").exists(), "short enough for one comment"
    cost = markdown.split("### Cost")[1].split("### Catalog")[0]
    assert "| dev |" in cost and "| prod |" in cost and "| staging |" not in cost, "only the --env environments"


def test_a_consumer_renamed_with_renamed_from_keeps_every_resource(repository: Path, tmp_path: Path):
    """renamed_from: the queue, DLQ, function, role, alarms and locator keep their names and Terraform addresses, so
    the plan destroys and replaces nothing; diff says so and shows only in-place updates (names shown to people)."""
    notifications = repository / "catalog/notifications.yaml"
    text = notifications.read_text()
    notifications.write_text(text.replace("  send-email:\n", "  customer-emails:\n    renamed_from: send-email\n"))
    report_path = tmp_path / "diff.md"
    result = runner.invoke(
        app, ["diff", "--base", "main", "--env", "dev", "--out", str(report_path), "--root", str(repository)]
    )
    assert result.exit_code == 0, result.output
    markdown = report_path.read_text()
    assert (
        "| **renamed** | consumer | `notifications/send-email -> notifications/customer-emails` | renamed_from keeps "
        "its AWS names and Terraform addresses: nothing is destroyed, queued messages stay |"
    ) in markdown
    assert "> **Renamed**" not in markdown and "destroyed**" not in markdown
    terraform = markdown.split("### Terraform")[1]
    assert "| `dev-notifications` | 0 | " in terraform and "| 0 | 0 |" in terraform
    assert "| create | `" not in terraform and "**destroy**" not in terraform and "**replace**" not in terraform
    assert "| update | `aws_lambda_function.consumer-send-email-function_1554CDB3` | environment |" in terraform
