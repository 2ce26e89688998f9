"""Catalog workflows: what the sample declares, the definition Step Functions gets, and the bad-input corpus of the
workflows: section, its definition files and its starters (each mistake stops with file, line and fix)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.catalog import asl, workflows
from eventform.catalog.loader import load
from eventform.catalog.naming import Names
from eventform.cli.main import app
from tests.eventform.catalog.section_cases import Case as SectionCase
from tests.eventform.catalog.section_cases import assert_reported
from tests.eventform.catalog.test_bad_input import edit, line_containing, project  # noqa: F401 (fixture)

PAYMENTS = "catalog/payments.yaml"
DEFINITION = "catalog/payments/workflows/authorize-payment.asl.json"
PROD = Names(env="prod", region="eu-west-1", account_id="333333333333")


def test_the_sample_workflow(project_root: Path) -> None:
    catalog = load(project_root)[0]
    workflow = catalog.domain("payments").workflows[0]
    assert (workflow.name, workflow.type, workflow.timeout, workflow.emits) == (
        "authorize-payment",
        "STANDARD",
        7200,
        ("payments/payment.authorized",),
    )
    assert (workflow.logging.level, workflow.logging.execution_data) == ("ALL", False)
    assert workflow.task_queues == workflow.queues == ("payments/payment-authorizer",)
    assert workflow.functions == ()
    assert [p.text for p in workflow.placeholders] == ["${queue:payments/payment-authorizer}", "${bus}"]
    authorizer = next(c for c in catalog.consumers if c.name == "payment-authorizer")
    assert authorizer.tasks and not authorizer.fifo  # the payments topic is FIFO; a task queue never is
    starter = next(c for c in catalog.consumers if c.name == "authorize-orders")
    assert starter.route is not None
    assert [(t.kind, t.workflow) for t in starter.route.targets] == [("workflow", "authorize-payment")]


def test_the_definition_is_resolved_per_environment_and_byte_identical(project_root: Path) -> None:
    catalog = load(project_root)[0]
    workflow = catalog.domain("payments").workflows[0]
    text = workflows.definition_text(catalog, PROD, workflow)
    assert text == workflows.definition_text(load(project_root)[0], PROD, workflow)
    definition = json.loads(text)
    assert definition["TimeoutSeconds"] == 7200
    request = definition["States"]["RequestAuthorization"]["Parameters"]
    assert request["QueueUrl"] == "https://sqs.eu-west-1.amazonaws.com/333333333333/prod-payments-payment-authorizer"
    entry = definition["States"]["EmitAuthorized"]["Parameters"]["Entries"][0]
    assert entry["EventBusName"] == "prod-payments"
    assert "${" not in text and "%{" not in text  # nothing Terraform would read as a template
    assert workflows.state_machine_arn(PROD, workflow) == (
        "arn:aws:states:eu-west-1:333333333333:stateMachine:prod-payments-authorize-payment"
    )


def test_a_lambda_task_names_the_consumers_function(project_root: Path, project: Path) -> None:  # noqa: F811
    edit(
        project,
        DEFINITION,
        '"Resource": "arn:aws:states:::events:putEvents",',
        '"Resource": "arn:aws:states:::events:putEvents",\n      "Comment": "put",',
    )
    path = project / DEFINITION
    data = json.loads(path.read_text())
    data["States"]["Book"] = {"Type": "Task", "Resource": "${consumer:payments/ledger}", "End": True}
    data["States"]["EmitAuthorized"].pop("End")
    data["States"]["EmitAuthorized"]["Next"] = "Book"
    path.write_text(json.dumps(data, indent=2))
    catalog = load(project)[0]
    workflow = catalog.domain("payments").workflows[0]
    assert workflow.functions == ("payments/ledger",)
    resolved = json.loads(workflows.definition_text(catalog, PROD, workflow))
    assert (
        resolved["States"]["Book"]["Resource"] == "arn:aws:lambda:eu-west-1:333333333333:function:prod-payments-ledger"
    )


def test_json_paths_name_nested_places() -> None:
    assert asl.json_path(["States", "Pay", "Catch", 0, "Next"]) == "States.Pay.Catch[0].Next"
    assert workflows._keys_of("States.Pay.Catch[0].Next") == ["States", "Pay", "Catch", 0, "Next"]


def test_branches_are_machines_of_their_own() -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Both"}}}],
                "End": True,
            }
        },
    }
    problems = asl.problems(definition)
    assert [(asl.json_path(k), m) for k, m, _ in problems] == [
        ("States.Both.Branches[0].States.A.Next", "'Both' is not a state of this machine")
    ]


# --------------------------------------------------------------------------------------------------------------
# The bad-input corpus of workflows:
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case(SectionCase):
    file: str = "payments.yaml"  # workflows live in the payments domain


def payments(old: str, new: str) -> Callable[[Path], object]:
    return lambda root: edit(root, PAYMENTS, old, new)


def definition(old: str, new: str) -> Callable[[Path], object]:
    return lambda root: edit(root, DEFINITION, old, new)


ASL = "authorize-payment.asl.json"
CASES = [
    Case(
        "definition-not-json",
        definition('"StartAt": "RequestAuthorization",', '"StartAt": "RequestAuthorization"'),
        "not JSON: Expecting ',' delimiter",
        "fix the JSON",
        '"States": {',
        ASL,
    ),
    Case(
        "definition-missing",
        payments("    type: STANDARD\n", "    definition: workflows/authorize.asl.json\n    type: STANDARD\n"),
        "the definition file workflows/authorize.asl.json does not exist",
        "create authorize.asl.json",
        "definition: workflows/authorize.asl.json",
    ),
    Case(
        "next-names-an-unknown-state",
        definition('"Next": "EmitAuthorized"', '"Next": "EmitAuthorised"'),
        "'EmitAuthorised' is not a state of this machine",
        "point Next at one of: RequestAuthorization, EmitAuthorized, AuthorizationFailed",
        '"Next": "EmitAuthorised"',
        ASL,
    ),
    Case(
        "catch-names-an-unknown-state",
        definition('"Next": "AuthorizationFailed"', '"Next": "Declined"'),
        "'Declined' is not a state of this machine",
        "point Next at one of",
        '"Next": "Declined"',
        ASL,
    ),
    Case(
        "start-at-unknown",
        definition('"StartAt": "RequestAuthorization"', '"StartAt": "Authorize"'),
        "StartAt names 'Authorize', which is not a state",
        "point StartAt at one of",
        '"StartAt": "Authorize"',
        ASL,
    ),
    Case(
        "next-and-end",
        definition(
            '"ResultPath": null,\n      "End": true',
            '"ResultPath": null,\n      "Next": "AuthorizationFailed",\n      "End": true',
        ),
        "a Task state has exactly one of Next and End: true (it has both)",
        'keep "Next"',
        '"EmitAuthorized": {',
        ASL,
    ),
    Case(
        "unknown-state-type",
        definition('"Type": "Fail"', '"Type": "Failure"'),
        "unknown state Type 'Failure'",
        "use one of: Task, Pass, Choice",
        '"Type": "Failure"',
        ASL,
    ),
    Case(
        "unreachable-state",
        definition('"Next": "EmitAuthorized"', '"Next": "AuthorizationFailed"'),
        "state 'EmitAuthorized' is not reachable from StartAt",
        "or delete it",
        '"EmitAuthorized": {',
        ASL,
    ),
    Case(
        "unknown-placeholder-kind",
        definition(
            '"QueueUrl": "${queue:payments/payment-authorizer}"', '"QueueUrl": "${sqs:payments/payment-authorizer}"'
        ),
        "unknown placeholder '${sqs:payments/payment-authorizer}'",
        "use ${consumer:<domain>/<consumer>}",
        '"QueueUrl"',
        ASL,
    ),
    Case(
        "unknown-placeholder-target",
        definition("${queue:payments/payment-authorizer}", "${queue:payments/authorizer}"),
        "${queue:payments/authorizer}: no via: workflow consumer 'payments/authorizer'",
        "or use one of: payments/payment-authorizer",
        '"QueueUrl"',
        ASL,
    ),
    Case(
        "queue-placeholder-names-a-topic-consumer",
        definition("${queue:payments/payment-authorizer}", "${queue:payments/ledger}"),
        "${queue:payments/ledger}: no via: workflow consumer 'payments/ledger'",
        "declare the consumer with via: workflow",
        '"QueueUrl"',
        ASL,
    ),
    Case(
        "task-resource-outside-the-catalog",
        definition('"arn:aws:states:::events:putEvents"', '"arn:aws:states:::dynamodb:putItem"'),
        "'arn:aws:states:::dynamodb:putItem' is not a task eventform derives a role for",
        "use a catalog placeholder",
        '"arn:aws:states:::dynamodb:putItem"',
        ASL,
    ),
    Case(
        "token-never-sent",
        definition('"tasktoken.$": "$$.Task.Token"', '"tasktoken": "none"'),
        "the task waits for a token but never sends $$.Task.Token",
        '"tasktoken.$": "$$.Task.Token"',
        ('"RequestAuthorization": {', '"Parameters"'),
        ASL,
    ),
    Case(
        "express-waits-for-a-token",
        payments("    type: STANDARD\n    timeout: 2h\n", "    type: EXPRESS\n    timeout: 5m\n"),
        "an EXPRESS workflow cannot wait for a task token",
        "use type: STANDARD",
        '"arn:aws:states:::sqs:sendMessage.waitForTaskToken"',
        ASL,
    ),
    Case(
        "express-timeout-too-long",
        payments("    type: STANDARD\n", "    type: EXPRESS\n"),
        "a timeout of 2h is outside what EXPRESS executions may run",
        "1s..5m for EXPRESS",
        "timeout: 2h",
    ),
    Case(
        "emits-an-unknown-event",
        payments("emits: [payment.authorized]", "emits: [payment.authorized, payment.refunded]"),
        "payments/payment.refunded is not an event of payments",
        "emit one of:",
        "emits: [payment.authorized, payment.refunded]",
    ),
    Case(
        "emits-an-event-off-the-bus",
        payments("emits: [payment.authorized]", "emits: [payment.authorized, payment.captured]"),
        "payments/payment.captured does not travel on payments's bus",
        "add bus to events.payment.captured.via",
        "emits: [payment.authorized, payment.captured]",
    ),
    Case(
        "puts-an-event-it-does-not-emit",
        payments("    emits: [payment.authorized]\n", ""),
        "'payment.authorized' is not an event the workflow emits (none)",
        "add payment.authorized to workflows.authorize-payment.emits",
        '"DetailType": "payment.authorized"',
        ASL,
    ),
    Case(
        "puts-on-another-bus",
        definition('"EventBusName": "${bus}"', '"EventBusName": "default"'),
        "an entry puts on another bus than the domain's",
        'set "EventBusName": "${bus}"',
        ('"Entries": [', "{"),
        ASL,
    ),
    Case(
        "task-message-not-an-envelope",
        definition('"type": "payment.authorization_requested"', '"type": "payment.requested"'),
        "the message to payments/payment-authorizer is the CloudEvents envelope of an event it takes",
        '"tasktoken.$": "$$.Task.Token"',
        '"MessageBody": {',
        ASL,
    ),
    Case(
        "execution-data-in-a-restricted-domain",
        payments(
            "    emits: [payment.authorized]\n",
            "    emits: [payment.authorized]\n    logging: {execution_data: true}\n",
        ),
        "execution data (every state's input and output) would put payloads in the logs",
        "remove execution_data",
        "logging: {execution_data: true}",
    ),
    Case(
        "target-names-an-unknown-workflow",
        payments("workflow: authorize-payment", "workflow: authorise-payment"),
        "payments has no workflow 'authorise-payment'",
        "use one of: authorize-payment",
        "workflow: authorise-payment",
    ),
    Case(
        "workflow-target-without-workflow",
        payments("        workflow: authorize-payment\n", ""),
        "a workflow target names the workflow it starts",
        "add workflow: <a workflow of payments: authorize-payment>",
        ("authorize-orders:", "authorize:"),
    ),
    Case(
        "schedule-starts-an-unknown-workflow",
        payments(
            "aws_api_calls:",
            "schedules:\n  nightly:\n    description: Re-checks.\n    expression: cron(0 2 * * ? *)\n"
            "    workflow: recheck\n\naws_api_calls:",
        ),
        "payments has no workflow 'recheck'",
        "use one of: authorize-payment",
        "workflow: recheck",
    ),
    Case(
        "task-consumer-nobody-serves",
        definition("${queue:payments/payment-authorizer}", "${queue:payments/payment-authorizer-2}"),
        "a via: workflow consumer receives only what workflows' task states send it",
        "send it a task from a workflow",
        "via: workflow  # its queue",
    ),
    Case(
        "template-sequence-in-a-string",
        definition('"Error": "PaymentNotAuthorized"', '"Error": "Payment%{declined}"'),
        "'${' or '%{' outside a placeholder",
        "States.Format uses {} alone",
        '"Error": "Payment%{declined}"',
        ASL,
    ),
]


def test_the_corpus_is_distinct() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_workflow_input_is_reported_with_file_place_and_fix(case: Case, project: Path) -> None:  # noqa: F811
    assert_reported(case, project)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.id in ("next-names-an-unknown-state", "emits-an-unknown-event")], ids=lambda c: c.id
)
def test_the_cli_prints_workflow_problems_without_a_traceback(case: Case, project: Path) -> None:  # noqa: F811
    case.change(project)
    result = CliRunner().invoke(app, ["lint", "--root", str(project)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert case.message in " ".join(result.output.split())
