"""The bad-input corpus: every mistake a user can write stops with file, place and fix, and writes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.cli.main import app
from eventform.synthesis.app import synthesize
from tests.conftest import copy_project


@pytest.fixture
def project(project_root: Path, tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def edit(project: Path, relative: str, old: str, new: str) -> None:
    path = project / relative
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1))


def edit_json(project: Path, relative: str, change) -> None:
    path = project / relative
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def line_containing(text: str, at: str | tuple[str, ...]) -> int:
    """1-based line of ``at`` in ``text`` (a tuple: each part searched for after the line of the previous one)."""
    lines, index = text.splitlines(), 0
    for step, part in enumerate((at,) if isinstance(at, str) else at):
        if step:
            index += 1
        while index < len(lines) and part not in lines[index]:
            index += 1
        assert index < len(lines), f"test setup: {part!r} not found"
    return index + 1


@dataclass(frozen=True)
class Case:
    id: str
    file: str  # file named in the problem
    message: str  # substring of the problem
    fix: str  # substring of the fix
    # where the problem must point: the first line of the mutated file that contains this text, or for a tuple,
    # each text searched for after the previous one (a key, then a field under it); never a pinned line number
    at: str | tuple[str, ...] | None = None

    def apply(self, project: Path) -> None:
        MUTATIONS[self.id](project)


PAYMENTS, INVENTORY, USERS = "catalog/payments.yaml", "catalog/inventory.yaml", "catalog/users.yaml"

MUTATIONS = {
    "yaml-syntax": lambda p: edit(p, "catalog/orders.yaml", "topic: {}", "topic: {\n  oops"),
    "renamed-from-itself": lambda p: edit(
        p, INVENTORY, "  reserve-stock:\n", "  reserve-stock:\n    renamed_from: reserve-stock\n"
    ),
    "renamed-from-a-current-consumer": lambda p: edit(
        p, INVENTORY, "  reserve-stock:\n", "  reserve-stock:\n    renamed_from: release-stock\n"
    ),
    "renamed-from-twice": lambda p: (
        edit(p, PAYMENTS, "  ledger:\n", "  ledger:\n    renamed_from: bookings\n"),
        edit(p, PAYMENTS, "  settlement:\n", "  settlement:\n    renamed_from: bookings\n"),
    ),
    "unknown-key": lambda p: edit(p, "catalog/orders.yaml", "owner: team-checkout", "ownr: team-checkout"),
    "not-past-tense": lambda p: edit(p, "catalog/orders.yaml", "order.cancelled:", "cancel.order:"),
    "not-a-known-fact": lambda p: edit(p, "catalog/orders.yaml", "order.cancelled:", "order.amiss:"),
    "bad-event-characters": lambda p: edit(p, "catalog/orders.yaml", "order.cancelled:", "Order.Cancelled:"),
    "missing-schema": lambda p: edit(p, "catalog/orders.yaml", "versions: [1]", "versions: [1, 2]"),
    "wrong-dialect": lambda p: edit_json(
        p,
        "catalog/users/user.registered/v1.schema.json",
        lambda s: s.update({"$schema": "http://json-schema.org/draft-07/schema#"}),
    ),
    "schema-not-json": lambda p: (p / "catalog/users/user.registered/v1.schema.json").write_text('{"type": "object",}'),
    "invalid-schema": lambda p: edit_json(
        p, "catalog/users/user.registered/v1.schema.json", lambda s: s["properties"]["email"].update(type="strnig")
    ),
    "source-of-another-domain": lambda p: edit(p, USERS, "source: com.example.users\n", "source: com.example.orders\n"),
    "aws-source": lambda p: edit(p, USERS, "source: com.example.users\n", "source: aws.users\n"),
    "schema-keyword-not-enforced": lambda p: edit_json(
        p, "catalog/users/user.registered/v1.schema.json", lambda s: s.update(unevaluatedProperties=False)
    ),
    "example-fails-schema": lambda p: edit_json(
        p, "catalog/users/user.registered/v1.examples.json", lambda e: e[0].update(country="Germany")
    ),
    "unknown-event": lambda p: edit(p, "catalog/inventory.yaml", "[orders/order.created]", "[orders/order.shipped]"),
    "unknown-domain": lambda p: edit(p, "catalog/inventory.yaml", "[orders/order.created]", "[shop/order.created]"),
    "fifo-mismatch": lambda p: edit(
        p,
        "catalog/payments.yaml",
        "[payments/payment.authorized, payments/payment.captured]",
        "[payments/payment.authorized, orders/order.created]",
    ),
    "fifo-without-group": lambda p: edit(p, "catalog/payments.yaml", "    message_group: order_id  # one", "    # one"),
    "group-on-standard-topic": lambda p: edit(
        p,
        "catalog/orders.yaml",
        "    attributes: [country, reason]",
        "    attributes: [country, reason]\n    message_group: order_id",
    ),
    "filter-attribute-not-published": lambda p: edit(
        p, "catalog/notifications.yaml", "country: [DE, AT, FR, NL, ES, IT]", "tier: [gold]"
    ),
    "filter-unknown-operator": lambda p: edit(
        p, "catalog/notifications.yaml", "country: [DE, AT, FR, NL, ES, IT]", "country: [{startswith: D}]"
    ),
    "filter-body-field-not-in-schema": lambda p: edit(p, "catalog/inventory.yaml", "method:", "carrier:"),
    "duplicate-key": lambda p: edit(
        p, "catalog/users.yaml", "events:\n", "events:\n  user.registered:\n    description: twice\n    versions: [1]\n"
    ),
    "domain-file-mismatch": lambda p: edit(p, "catalog/users.yaml", "domain: users", "domain: user"),
    "account-id": lambda p: edit(p, "environments/dev.yaml", 'account_id: "111111111111"', "account_id: 1111"),
    "missing-handler": lambda p: edit(p, "catalog/inventory.yaml", "handler: reserve_stock", "handler: reserve"),
    "orphan-handler": lambda p: (
        (p / "handlers/old_mailer").mkdir() or (p / "handlers/old_mailer/handler.py").write_text("")
    ),
    "alarm-period": lambda p: edit(p, "environments/dev.yaml", "period: 5m", "period: 45s"),
    "dlq-retention": lambda p: edit(p, "environments/dev.yaml", "dlq: 14d", "dlq: 1d"),
    "unknown-override-environment": lambda p: edit(p, "catalog/notifications.yaml", "      prod:\n", "      qa:\n"),
    "max-receive-count": lambda p: edit(p, "catalog/inventory.yaml", "max_receive_count: 3", "max_receive_count: 0"),
    "visibility-too-long": lambda p: edit(
        p, "catalog/inventory.yaml", "visibility_timeout: 2m", "visibility_timeout: 13h"
    ),
    "queue-retention-over-dlq": lambda p: (
        edit(
            p,
            "catalog/inventory.yaml",
            "visibility_timeout: 2m",
            "visibility_timeout: 2m\n      retention: 14d\n      delay: 0s",
        )
        or edit(p, "environments/prod.yaml", "dlq: 14d", "dlq: 10d")
    ),
    "pii-not-in-schema": lambda p: edit(p, "catalog/users.yaml", "pii: [email, name]", "pii: [email, phone]"),
    "group-not-required": lambda p: edit_json(
        p, "catalog/payments/payment.captured/v1.schema.json", lambda s: s["required"].remove("order_id")
    ),
    # EventBridge (issue 4)
    "bus-principal-star": lambda p: edit(p, "catalog/orders.yaml", "partners: [marketplace]", 'accounts: ["*"]'),
    "bus-bad-organization": lambda p: edit(p, "catalog/orders.yaml", "o-exampleorg01", '"*"'),
    "pattern-unknown-operator": lambda p: edit(
        p, "catalog/inventory.yaml", "[{anything-but: [fraud_suspected]}]", "[{startswith: fraud}]"
    ),
    "pattern-bad-numeric": lambda p: edit(p, "catalog/payments.yaml", '[">=", 1000]', '[">=", "1000"]'),
    "pattern-field-not-in-schema": lambda p: edit(
        p, "catalog/inventory.yaml", "          reason: [{any", "          motive: [{any"
    ),
    "pattern-on-source": lambda p: edit(
        p,
        "catalog/inventory.yaml",
        "      detail:\n        data:\n",
        "      source: [x]\n      detail:\n        data:\n",
    ),
    "pattern-on-sns-consumer": lambda p: edit(
        p, "catalog/notifications.yaml", "    queue:\n", "    pattern: {detail: {country: [DE]}}\n    queue:\n"
    ),
    "event-not-on-bus": lambda p: edit(
        p,
        "catalog/orders.yaml",
        "    via: [topic, bus]\n    attributes: [country, reason]",
        "    attributes: [country, reason]",
    ),
    "bus-via-without-bus": lambda p: edit(
        p,
        "catalog/users.yaml",
        "bus:\n  archive:  # archive only registrations that state marketing consent"
        " (the rest is replayable upstream)\n"
        "    pattern: {source: [com.example.users], detail: {data: {marketing_opt_in: [{exists: true}]}}}\n",
        "",
    ),
    "pattern-payload-outside-data": lambda p: edit(
        p, "catalog/inventory.yaml", "        data:\n          reason: [{any", "        reason: [{any"
    ),
    "pattern-matches-no-example": lambda p: edit(
        p, "catalog/inventory.yaml", "reason: [{anything-but: [fraud_suspected]}]", "reason: [{prefix: fraud}]"
    ),
    "too-many-targets": lambda p: edit(
        p,
        "catalog/users.yaml",
        "    targets:  # at most 5",
        "    targets:  # at most 5\n      audit:\n        type: sns\n        name: audit\n      # six targets",
    ),
    "transformer-path-outside-schema": lambda p: edit(
        p, "catalog/users.yaml", "$.detail.data.country, at", "$.detail.data.county, at"
    ),
    "transformer-variable-name": lambda p: (
        edit(p, USERS, "at: $.time}", "a/t: $.time}") or edit(p, USERS, '"at": "<at>"', '"at": "<a/t>"')
    ),
    "transformer-undefined-placeholder": lambda p: edit(p, "catalog/users.yaml", '"at": "<at>"', '"at": "<when>"'),
    "input-path-outside-schema": lambda p: edit(
        p, "catalog/users.yaml", "input_path: $.detail.data", "input_path: $.detail.data.x"
    ),
    "secret-inline": lambda p: edit(
        p,
        "catalog/users.yaml",
        "secret: {name: crm-webhook}",
        "value: sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    ),
    "secret-not-an-arn": lambda p: edit(
        p,
        "catalog/users.yaml",
        "{name: crm-webhook}",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    ),
    "target-arn-of-wrong-service": lambda p: edit(
        p, USERS, "name: customer-onboarding", "arn: arn:aws:lambda:eu-west-1:111111111111:function:x"
    ),
    # Per-environment references (issue 16): prod never points at dev
    "prod-arn-in-dev-account": lambda p: edit(
        p, USERS, "name: customer-onboarding", "arn: arn:aws:states:eu-west-1:111111111111:stateMachine:onboarding"
    ),
    "arn-in-another-region": lambda p: edit(
        p,
        PAYMENTS,
        "name: risk-alerts",
        "name: risk-alerts\n        environments: {prod: {arn: 'arn:aws:sns:us-east-1:333333333333:risk-alerts'}}",
    ),
    "reference-unknown-environment": lambda p: edit(
        p,
        PAYMENTS,
        "name: risk-alerts",
        "name: risk-alerts\n        environments: {prd: {arn: 'arn:aws:sns:eu-west-1:333333333333:risk-alerts'}}",
    ),
    "reference-arn-and-name": lambda p: edit(
        p,
        USERS,
        "name: customer-onboarding",
        "name: customer-onboarding\n        arn: arn:aws:states:eu-west-1:111111111111:stateMachine:x",
    ),
    "target-partner-undeclared": lambda p: edit(p, USERS, "partner: marketplace", "partner: acme"),
    "bus-partner-undeclared": lambda p: edit(p, "catalog/orders.yaml", "partners: [marketplace]", "partners: [acme]"),
    "bus-account-not-a-partner": lambda p: edit(
        p, "catalog/orders.yaml", "partners: [marketplace]", 'accounts: ["999999999999"]'
    ),
    "bus-admits-without-events": lambda p: edit(p, "catalog/orders.yaml", "    events: [order.created]", "    # none"),
    "bus-event-not-on-bus": lambda p: edit(
        p, "catalog/orders.yaml", "events: [order.created]", "events: [order.shipped]"
    ),
    "pattern-sets-account": lambda p: edit(
        p,
        INVENTORY,
        "      detail:\n        data:\n          reason:",
        '      account: ["555555555555"]\n      detail:\n        data:\n          reason:',
    ),
    "bad-organizational-unit": lambda p: edit(
        p, "catalog/orders.yaml", "[o-exampleorg01/r-ab12/ou-ab12-11111111]", "[ou-ab12-11111111]"
    ),
    "key-admin-role-of-another-account": lambda p: edit(
        p, "environments/prod.yaml", "arn:aws:iam::333333333333:role/", "arn:aws:iam::111111111111:role/"
    ),
    # PII (issue 16): minimal outside the account and in streams; never an SNS attribute
    "pii-to-partner-without-transformer": lambda p: edit(
        p,
        USERS,
        "        input_transformer:  # another account: the event's id, type and country, no personal data\n"
        "          paths: {type: $.detail-type, id: $.detail.id, country: $.detail.data.country}\n"
        '          template: \'{"type": "<type>", "id": "<id>", "country": "<country>"}\'\n',
        "",
    ),
    "pii-to-stream-without-exception": lambda p: edit(
        p,
        USERS,
        "        pii_exception:  # whole envelopes, e-mail included, on purpose\n          owner: team-identity\n"
        "          reason: >-\n            The stream stays in this account",
        "        # no exception: the stream stays in this account",
    ),
    "pii-selected-by-transformer": lambda p: edit(
        p,
        USERS,
        "id: $.detail.id, country: $.detail.data.country, at: $.time}",
        "id: $.detail.id, country: $.detail.data, at: $.time}",
    ),
    "pii-as-sns-attribute": lambda p: edit(
        p, USERS, "attributes: [country, marketing_opt_in]", "attributes: [country, marketing_opt_in, email]"
    ),
    # State and secrets (issue 16)
    "secret-read-into-local-state": lambda p: edit(
        p,
        "environments/dev.yaml",
        "backend: {type: s3, bucket: example-eventform-state-dev, region: eu-west-1, key_prefix: eventform,\n"
        '          kms_key: "arn:aws:kms:eu-west-1:111111111111:alias/eventform-state"}',
        "backend: {type: local}",
    ),
    "state-key-of-another-account": lambda p: edit(
        p,
        "environments/prod.yaml",
        "arn:aws:kms:eu-west-1:333333333333:alias/eventform-state",
        "arn:aws:kms:eu-west-1:111111111111:alias/x",
    ),
    "env-secret-by-value": lambda p: edit(
        p,
        "catalog/notifications.yaml",
        "environment: {EMAIL_SENDER: shop@example.com}",
        "environment: {EMAIL_SENDER: shop@example.com, CRM_KEY: AKIAIOSFODNN7EXAMPLE}",
    ),
    "partner-is-own-account": lambda p: edit(p, "environments/prod.yaml", '"555555555555"', '"333333333333"'),
    "lambda-target-names-a-function": lambda p: edit(
        p, "catalog/inventory.yaml", "push: {type: lambda,", "push: {type: lambda, function: other,"
    ),
    "bad-cron": lambda p: edit(p, "catalog/inventory.yaml", "cron(0 3 * * ? *)", "cron(0 3 * * *)"),
    "cron-both-days": lambda p: edit(p, "catalog/inventory.yaml", "cron(0 3 * * ? *)", "cron(0 3 * * MON *)"),
    "bad-rate": lambda p: edit(p, "catalog/inventory.yaml", "cron(0 3 * * ? *)", "rate(1 hours)"),
    "bad-timezone": lambda p: edit(p, "catalog/inventory.yaml", "Europe/Berlin", "Europe/Springfield"),
    "schedule-payload-not-an-example": lambda p: edit(p, "catalog/inventory.yaml", "warehouse: all", "warehouse: 7"),
    "schedule-unknown-consumer": lambda p: edit(
        p, "catalog/inventory.yaml", "    event: stock.recount_requested  #", "    consumer: nobody  #"
    ),
    "schedule-to-a-handler": lambda p: edit(
        p, "catalog/inventory.yaml", "    event: stock.recount_requested  #", "    consumer: reserve-stock  #"
    ),
    "schedule-handler-event-not-taken": lambda p: edit(
        p,
        INVENTORY,
        "    event: stock.recount_requested  #",
        "    consumer: release-stock\n    event: stock.recount_requested  #",
    ),
    "schedule-handler-unknown-consumer": lambda p: edit(
        p,
        INVENTORY,
        "    event: stock.recount_requested  #",
        "    consumer: recount\n    event: stock.recount_requested  #",
    ),
    "lambda-target-without-handler": lambda p: edit(
        p, "catalog/inventory.yaml", "    handler: release_stock  #", "    # handler: release_stock  #"
    ),
    "lambda-and-queue-targets": lambda p: edit(
        p,
        "catalog/inventory.yaml",
        "      push: {type: lambda",
        "      queue: {type: queue}\n      push: {type: lambda",
    ),
    "retry-age-too-long": lambda p: edit(p, "catalog/inventory.yaml", "max_age: 1h", "max_age: 2d"),
    "local-schema-registry": lambda p: edit(
        p, "environments/local.yaml", "schema_registry: false", "schema_registry: true"
    ),
    "filter-on-type": lambda p: edit(
        p, "catalog/notifications.yaml", "country: [DE, AT, FR, NL, ES, IT]", "type: [order.created]"
    ),
    "push-without-handler": lambda p: edit(p, "catalog/users.yaml", "    handler: crm_sync\n", ""),
    "push-from-fifo-topic": lambda p: edit(
        p, "catalog/payments.yaml", "handler: ledger", "handler: ledger\n    delivery: push"
    ),
    "push-settings-on-queue-consumer": lambda p: edit(p, "catalog/users.yaml", "    delivery: push\n", ""),
    "push-with-queue-settings": lambda p: edit(
        p, "catalog/users.yaml", "    delivery: push\n", "    delivery: push\n    queue: {max_receive_count: 3}\n"
    ),
    "push-event-age": lambda p: edit(p, "catalog/users.yaml", "max_event_age: 1h", "max_event_age: 7h"),
    "push-on-bus-consumer": lambda p: edit(
        p, "catalog/users.yaml", "    via: bus  #", "    delivery: push\n    via: bus  #"
    ),
    # S3 event notifications
    "objects-and-events": lambda p: edit(
        p,
        "catalog/payments.yaml",
        "objects: {bucket: invoices, events: [created], prefix: invoices/, suffix: .pdf}",
        "objects: {bucket: invoices, events: [created], prefix: invoices/, suffix: .pdf}\n"
        "    events: [orders/order.created]",
    ),
    "objects-unknown-bucket": lambda p: edit(
        p, "catalog/payments.yaml", "{bucket: invoices, events: [created], p", "{bucket: receipts, events: [created], p"
    ),
    "objects-unknown-kind": lambda p: edit(
        p, "catalog/payments.yaml", "events: [removed, expired]", "events: [deleted]"
    ),
    "objects-overlap": lambda p: edit(
        p,
        "catalog/payments.yaml",
        "  invoice-removals:",
        "  invoice-copies:\n    description: Copies every PDF.\n    objects: {bucket: invoices, events: [created], "
        "suffix: .pdf}\n  invoice-removals:",
    ),
    "objects-wildcard-key": lambda p: edit(p, "catalog/payments.yaml", "prefix: invoices/,", "prefix: invoices/*,"),
    "objects-other-domain-direct": lambda p: edit(
        p,
        "catalog/notifications.yaml",
        "consumers:\n",
        "consumers:\n  mail-invoice:\n    description: Mails invoices.\n"
        "    objects: {bucket: payments/invoices, events: [created], prefix: mail/}\n",
    ),
    "objects-replication-on-bus": lambda p: edit(
        p, "catalog/payments.yaml", "events: [removed, expired]", "events: [removed, replication]"
    ),
    "objects-pattern-sets-generated-field": lambda p: edit(
        p,
        "catalog/payments.yaml",
        "events: [removed, expired]}\n    via: bus\n",
        "events: [removed, expired]}\n    via: bus\n    pattern: {detail: {bucket: {name: [other]}}}\n",
    ),
    "objects-filter-policy": lambda p: edit(
        p,
        "catalog/payments.yaml",
        "    handler: invoice_indexer",
        "    handler: invoice_indexer\n    filter: {currency: [EUR]}",
    ),
    "bucket-without-consumer": lambda p: edit(
        p,
        "catalog/payments.yaml",
        "    description: Invoice PDFs rendered for captured payments.",
        "    description: Invoice PDFs rendered for captured payments.\n  scans:\n    description: Scanned receipts.",
    ),
    "topic-consumers-disagree": lambda p: edit(
        p,
        "catalog/payments.yaml",
        "  invoice-removals:",
        "  archive-a:\n    description: Archives.\n    objects: {bucket: invoices, events: [created], prefix: a/}\n"
        "    via: topic\n  archive-b:\n    description: Archives too.\n"
        "    objects: {bucket: invoices, events: [created], prefix: b/}\n    via: topic\n  invoice-removals:",
    ),
    # EventBridge Pipes (issue 4)
    "pipe-unknown-source-consumer": lambda p: edit(p, PAYMENTS, "queue: settlement  #", "queue: settlment  #"),
    "pipe-source-consumer-has-handler": lambda p: edit(p, PAYMENTS, "queue: settlement  #", "queue: ledger  #"),
    "pipe-batch-size-out-of-range": lambda p: edit(p, INVENTORY, "{size: 100, window: 10s}", "{size: 20000}"),
    "pipe-fifo-batch-too-large": lambda p: edit(p, PAYMENTS, "batch: {size: 10}", "batch: {size: 11}"),
    "pipe-batch-over-target-limit": lambda p: edit(p, INVENTORY, "{size: 100, window: 10s}", "{size: 900}"),
    "pipe-filter-matches-no-example": lambda p: edit(
        p, PAYMENTS, '[{numeric: [">", 0]}]', '[{numeric: [">", 100000]}]'
    ),
    "pipe-filter-not-a-record-field": lambda p: edit(p, INVENTORY, "filter: {eventName:", "filter: {event:"),
    "pipe-filter-payload-outside-data": lambda p: edit(
        p, PAYMENTS, 'body: {data: {amount: [{numeric: [">", 0]}]}}', 'body: {amount: [{numeric: [">", 0]}]}'
    ),
    "pipe-filter-field-not-in-schema": lambda p: edit(p, USERS, "{marketing_opt_in: [true]}", "{opt_in: [true]}"),
    "pipe-enrichment-handler-missing": lambda p: edit(p, PAYMENTS, "handler: settlement_fees", "handler: fees"),
    "pipe-enrichment-without-events": lambda p: edit(
        p,
        INVENTORY,
        "    target:\n      type: firehose",
        "    enrichment: {handler: settlement_fees}\n    target:\n      type: firehose",
    ),
    "pipe-enrichment-slower-than-visibility": lambda p: edit(
        p, PAYMENTS, "timeout: 10s\n        parameters:", "timeout: 20s\n        parameters:"
    ),
    "pipe-target-arn-of-wrong-service": lambda p: edit(
        p, PAYMENTS, "name: settlement", "arn: arn:aws:lambda:eu-west-1:1:x"
    ),
    "pipe-invocation-on-firehose": lambda p: edit(
        p,
        INVENTORY,
        "name: stock-reservations",
        "name: stock-reservations\n      invocation: FIRE_AND_FORGET",
    ),
    "pipe-two-sources": lambda p: edit(
        p, PAYMENTS, "      batch: {size: 10}", "      stream: captures\n      batch: {size: 10}"
    ),
    "pipe-queue-source-with-retry": lambda p: edit(
        p, PAYMENTS, "      batch: {size: 10}", "      batch: {size: 10}\n      retry: {max_attempts: 3}"
    ),
    "pipe-stream-without-starting-position": lambda p: edit(p, USERS, "      starting_position: TRIM_HORIZON\n", ""),
    "pipe-stream-of-another-account": lambda p: edit(
        p,
        USERS,
        "stream: customer-events  #",
        "stream: arn:aws:kinesis:eu-west-1:999999999999:stream/customer-events  #",
    ),
    "pipe-unknown-table": lambda p: edit(
        p, INVENTORY, "table: reserve-stock/reservations", "table: reserve-stock/holds"
    ),
    "pipe-name-collision": lambda p: edit(
        p,
        USERS,
        "\npipes:\n",
        "  marketing-signups-pipe:\n    description: collides\n    events: [users/user.registered]\n\npipes:\n",
    ),
    # Error texts (issue 15): the rule in words, at the right line
    "tab-indented": lambda p: edit(
        p,
        "catalog/orders.yaml",
        "\n    versions: [1]\n    via: [topic, bus]\n",
        "\n\tversions: [1]\n    via: [topic, bus]\n",
    ),
    "account-id-digits": lambda p: edit(p, "environments/dev.yaml", 'account_id: "111111111111"', 'account_id: "1111"'),
    "negative-retention": lambda p: edit(
        p, "environments/dev.yaml", "retention: {queue: 4d,", "retention: {queue: -4d,"
    ),
    "negative-archive-days": lambda p: edit(p, "environments/dev.yaml", "archive_days: 7", "archive_days: -7"),
    "consumer-name-too-long": lambda p: edit(p, INVENTORY, "  reserve-stock:", "  reserve-stock" + "-x" * 119 + ":"),
    "domain-name-too-long": lambda p: edit(p, USERS, "domain: users", "domain: users" + "s" * 82),
    "attribute-not-an-sns-name": lambda p: edit(p, PAYMENTS, "attributes: [currency]", "attributes: [currency code]"),
    "secret-arn-printed-verbatim": lambda p: edit(
        p,
        USERS,
        "        name: customer-onboarding  #",
        "        arn: arn:aws:secretsmanager:eu-west-1:111111111111:secret:customer-onboarding  #",
    ),
    # Limits and settings (issue 15)
    "backend-without-bucket": lambda p: edit(p, "environments/prod.yaml", "bucket: example-eventform-state-prod, ", ""),
    "partner-account-id": lambda p: edit(
        p, "environments/dev.yaml", 'account: "444444444444"', 'account: "4444-4444-4444"'
    ),
    "event-reference-without-domain": lambda p: edit(
        p, INVENTORY, "events: [orders/order.created]", "events: [order.created]"
    ),
    "negative-bus-archive-days": lambda p: edit(p, INVENTORY, "archive: {days: 3}", "archive: {days: -3}"),
    "unknown-region": lambda p: edit(p, "environments/dev.yaml", "region: eu-west-1", "region: eu-middle-9"),
    "unknown-backend-region": lambda p: edit(
        p, "environments/prod.yaml", "region: eu-west-1, key_prefix", "region: eu-westt-1, key_prefix"
    ),
    "example-over-256-kb": lambda p: edit_json(
        p, "catalog/users/user.registered/v1.examples.json", lambda e: e[0].update(name="x" * 300_000)
    ),
    "schema-id-not-a-uri": lambda p: edit_json(
        p, "catalog/users/user.registered/v1.schema.json", lambda s: s.update({"$id": "user-registered-v1"})
    ),
    "name-collision": lambda p: (
        (p / "catalog/shop-eu.yaml").write_text(
            "domain: shop-eu\nowner: team-shop\ndescription: collides\nsource: com.example.shopeu\n"
            "consumers:\n  audit:\n    description: first\n    events: [users/user.registered]\n"
        ),
        (p / "catalog/shop.yaml").write_text(
            "domain: shop\nowner: team-shop\ndescription: collides\nsource: com.example.shop\n"
            "consumers:\n  eu-audit:\n    description: second\n    events: [users/user.registered]\n"
        ),
    ),
}

CASES = [
    Case(
        "source-of-another-domain",
        "users.yaml",
        "already the source of domain 'orders'",
        "give each domain its own source",
        at="source: com.example.orders",
    ),
    Case("aws-source", "users.yaml", "AWS reserves", "reverse domain", at="source: aws.users"),
    Case(
        "schema-keyword-not-enforced",
        "v1.schema.json",
        "'unevaluatedProperties' is not enforced",
        "additionalProperties",
    ),
    Case("yaml-syntax", "orders.yaml", "not valid YAML", "fix the YAML syntax"),
    Case(
        "renamed-from-itself",
        "inventory.yaml",
        "renamed_from 'reserve-stock' is the consumer's own name",
        "remove renamed_from",
        at=("reserve-stock:", "renamed_from"),
    ),
    Case(
        "renamed-from-a-current-consumer",
        "inventory.yaml",
        "renamed_from 'release-stock' is the name of another consumer of inventory",
        "one no other consumer has now",
        at=("reserve-stock:", "renamed_from"),
    ),
    Case(
        "renamed-from-twice",
        "payments.yaml",
        "consumers ledger and settlement are both renamed from 'bookings'",
        "only one consumer can keep the resources",
        at=("settlement:", "renamed_from"),
    ),
    Case("unknown-key", "orders.yaml", "unknown key 'ownr'", "did you mean 'owner'?", at="ownr: team-checkout"),
    Case(
        "tab-indented",
        "orders.yaml",
        "a tab character indents this line; YAML indents with spaces only",
        "replace the tabs at the start of the lines with spaces",
        at="\tversions: [1]",
    ),
    Case(
        "account-id-digits",
        "dev.yaml",
        "'1111' is not an AWS account id: exactly 12 digits",
        'account_id: "111111111111"',
        at='account_id: "1111"',
    ),
    Case(
        "negative-retention",
        "dev.yaml",
        "'-4d' is not a duration: whole seconds (90) or a whole number followed by s, m, h or d",
        "30s, 15m, 12h or 4d",
        at="retention: {queue: -4d",
    ),
    Case(
        "negative-archive-days",
        "dev.yaml",
        "-7 is not an archive retention: a whole number of days, 0 (keep forever) or more",
        "archive_days: 30",
        at="archive_days: -7",
    ),
    Case(
        "consumer-name-too-long",
        "inventory.yaml",
        "is not a consumer name: 2 to 250 characters",
        "at most 250 characters",
        at="  reserve-stock-x-x",
    ),
    Case(
        "domain-name-too-long",
        "users.yaml",
        "is not a domain name: 2 to 86 characters",
        "at most 86 characters",
        at="domain: usersss",
    ),
    Case(
        "attribute-not-an-sns-name",
        "payments.yaml",
        "'currency code' is not a top-level payload field whose name SNS accepts as a message attribute name",
        "cannot hold '.', spaces",
        at="attributes: [currency code]",
    ),
    Case(
        "secret-arn-printed-verbatim",
        "users.yaml",
        "'arn:aws:secretsmanager:eu-west-1:111111111111:secret:customer-onboarding' is not a stepfunctions ARN",
        "arn:aws:states:",
        at="arn: arn:aws:secretsmanager:",
    ),
    Case(
        "not-past-tense",
        "orders.yaml",
        "'cancel.order' is not a past-tense fact",
        "'order.canceled'",
        at="cancel.order:",
    ),
    Case(
        "bad-event-characters",
        "orders.yaml",
        "'Order.Cancelled' is not an event name: dotted lower-case words",
        "dotted lower-case words",
        at="Order.Cancelled:",
    ),
    Case(
        "not-a-known-fact",
        "orders.yaml",
        "'order.amiss' is not a past-tense fact",
        "'order.amissed' or 'amiss.ordered' (<entity>.<past-tense verb>); if 'order.amiss' already states a fact with "
        "an adjective or participle, keep it and mark the event `fact: true`",
        at="order.amiss:",
    ),
    Case("missing-schema", "orders.yaml", "no schema file", "eventform add event orders", at="versions: [1, 2]"),
    Case("wrong-dialect", "v1.schema.json", "must declare JSON Schema 2020-12", "2020-12/schema"),
    Case("schema-not-json", "v1.schema.json", "not valid JSON", "trailing commas"),
    Case("invalid-schema", "v1.schema.json", "not a valid JSON Schema", "fix the schema keyword"),
    Case("example-fails-schema", "v1.examples.json", "example 0 does not match", "fix the example or the schema"),
    Case(
        "unknown-event",
        "inventory.yaml",
        "unknown event 'orders/order.shipped'",
        "order.cancelled, order.created",
        at="events: [orders/order.shipped]",
    ),
    Case("unknown-domain", "inventory.yaml", "unknown event 'shop/order.created'", "known domains"),
    Case("fifo-mismatch", "payments.yaml", "mixes events from FIFO and standard topics", "split the consumer"),
    Case("fifo-without-group", "payments.yaml", "FIFO topic without a message group", "never one global group"),
    Case("group-on-standard-topic", "orders.yaml", "message_group only applies to FIFO topics", "topic.fifo: true"),
    Case(
        "filter-attribute-not-published",
        "notifications.yaml",
        "does not publish the message attribute 'tier'",
        "add 'tier' to `attributes:`",
        at="tier: [gold]",
    ),
    Case("filter-unknown-operator", "notifications.yaml", "unknown filter operator 'startswith'", "prefix"),
    Case("filter-body-field-not-in-schema", "inventory.yaml", "'shipping.carrier' is not a field", "schema declares"),
    Case("duplicate-key", "users.yaml", "duplicate key", "each name may appear once"),
    Case(
        "domain-file-mismatch",
        "users.yaml",
        "does not match the file name 'users'",
        "set domain: users",
        at="domain: user",
    ),
    Case(
        "account-id",
        "dev.yaml",
        "1111 is not an AWS account id",
        'in quotes, e.g. account_id: "1',
        at="account_id: 1111",
    ),
    Case(
        "push-without-handler",
        "users.yaml",
        "push delivery invokes a function",
        "add `handler: <name>`",
        at="delivery: push",
    ),
    Case("push-from-fifo-topic", "payments.yaml", "SNS FIFO topics deliver only to SQS FIFO queues", "delivery: queue"),
    Case(
        "push-settings-on-queue-consumer",
        "users.yaml",
        "push settings on a queue consumer",
        "delivery: push",
        at="push: {retries: 2, max_event_age: 1h}",
    ),
    Case(
        "push-with-queue-settings",
        "users.yaml",
        "queue settings on a push consumer",
        "remove `queue:`",
        at="queue: {max_receive_count: 3}",
    ),
    Case(
        "push-event-age",
        "users.yaml",
        "maximum event age of 25200s is outside",
        "between 1m and 6h",
        at="push: {retries: 2, max_event_age: 7h}",
    ),
    Case(
        "push-on-bus-consumer",
        "users.yaml",
        "a bus consumer pushes through its targets",
        "type: lambda",
        at=("customer-fanout:", "delivery: push"),
    ),
    Case(
        "missing-handler", "inventory.yaml", "handler 'reserve' does not exist", "reserve_stock", at="handler: reserve"
    ),
    Case("orphan-handler", "handler.py", "handler 'old_mailer' is used by no consumer", "delete handlers/old_mailer/"),
    Case(
        "alarm-period",
        "dev.yaml",
        "not 45s",
        "use 10s, 30s, 1m",
        at="alarms: {dlq_messages: 0, period: 45s, evaluation_periods: 1}",
    ),
    Case("dlq-retention", "dev.yaml", "at least as long as its source queue", "raise retention.dlq"),
    Case("unknown-override-environment", "notifications.yaml", "unknown environment 'qa'", "dev, local, prod"),
    Case("max-receive-count", "inventory.yaml", "0 is less than the minimum of 1", "allowed range"),
    Case("visibility-too-long", "inventory.yaml", "visibility_timeout 46800s is outside what SQS allows", "0s..12h"),
    Case(
        "queue-retention-over-dlq",
        "inventory.yaml",
        "exceeds the DLQ retention 864000s of environment prod",
        "raise retention.dlq in prod.yaml",
    ),
    Case("pii-not-in-schema", "users.yaml", "'phone' is not a property", "add 'phone' to the schema"),
    Case("group-not-required", "payments.yaml", "must be a required property", "required list"),
    Case(
        "bus-principal-star",
        "orders.yaml",
        "never admits every principal ('*')",
        "organization: o-",
        at='accounts: ["*"]',
    ),
    Case(
        "bus-bad-organization",
        "orders.yaml",
        "never admits every principal ('*')",
        "organisation id",
        at='organization: "*"',
    ),
    Case("pattern-unknown-operator", "inventory.yaml", "unknown pattern operator 'startswith'", "wildcard"),
    Case("pattern-bad-numeric", "payments.yaml", "bad numeric argument", 'numeric: [">", 0, "<=", 100]'),
    Case(
        "pattern-field-not-in-schema",
        "inventory.yaml",
        "detail.data.motive is not a field of orders/order.cancelled",
        "schema",
    ),
    Case(
        "pattern-payload-outside-data",
        "inventory.yaml",
        "'reason' is not a field of the CloudEvents envelope",
        "under detail.data",
        at="pattern:",
    ),
    Case(
        "pattern-matches-no-example",
        "inventory.yaml",
        "matches none of the catalog examples",
        "rare: true",
        at="pattern:",
    ),
    Case("pattern-on-source", "inventory.yaml", "already matches source", "remove `source`"),
    Case("pattern-on-sns-consumer", "notifications.yaml", "pattern belongs to EventBridge consumers", "via: bus"),
    Case("event-not-on-bus", "inventory.yaml", "orders/order.cancelled does not travel on its domain's bus", "add bus"),
    Case("bus-via-without-bus", "users.yaml", "travels on the domain's bus, but the domain declares none", "bus: {}"),
    Case("too-many-targets", "users.yaml", "6 targets: an EventBridge rule takes at most 5", "split the consumer"),
    Case(
        "transformer-path-outside-schema",
        "users.yaml",
        "'$.detail.data.county': no field of the event's schema",
        "$.detail.data.<field>",
    ),
    Case(
        "transformer-variable-name",
        "users.yaml",
        "EventBridge refuses this: variable name 'a/t' is not 1 to 256 letters, digits, '_' or '-'",
        "rename the variable",
        at="a/t: $.time",
    ),
    Case(
        "transformer-undefined-placeholder", "users.yaml", "<when> is not defined in paths", "input_transformer.paths"
    ),
    Case("input-path-outside-schema", "users.yaml", "'$.detail.data.x': no field", "$.detail.data.<field>"),
    Case("secret-inline", "users.yaml", "a secret written inline (value)", "Secrets Manager"),
    Case("secret-not-an-arn", "users.yaml", "must reference a Secrets Manager secret by ARN", "arn:aws:secretsmanager"),
    Case("target-arn-of-wrong-service", "users.yaml", "is not a stepfunctions ARN", "arn:aws:states:"),
    Case(
        "prod-arn-in-dev-account",
        "users.yaml",
        "in prod this ARN is in account 111111111111, which is neither prod's (333333333333)",
        "name the resource (name: ...)",
        at="arn: arn:aws:states:eu-west-1:111111111111:stateMachine:onboarding",
    ),
    Case(
        "arn-in-another-region",
        "payments.yaml",
        "in prod this ARN is in region us-east-1, not prod's (eu-west-1)",
        "cross_region: true",
        at="environments: {prod:",
    ),
    Case(
        "reference-unknown-environment",
        "payments.yaml",
        "there is no environment 'prd'",
        "dev, local, prod, staging",
        at="environments: {prd:",
    ),
    Case(
        "reference-arn-and-name",
        "users.yaml",
        "arn and name exclude each other",
        "keep name",
        at=("onboarding:", "name: customer-onboarding"),
    ),
    Case(
        "target-partner-undeclared",
        "users.yaml",
        "environment dev declares no partner 'acme'",
        "environments/dev.yaml",
        at="partner: acme",
    ),
    Case(
        "bus-partner-undeclared",
        "orders.yaml",
        "environment dev declares no partner 'acme'",
        "partners: {acme:",
        at="partners: [acme]",
    ),
    Case(
        "bus-account-not-a-partner",
        "orders.yaml",
        "account 999999999999 is admitted in every environment",
        "write put_events: {partners: [<name>]}",
        at='accounts: ["999999999999"]',
    ),
    Case(
        "bus-admits-without-events",
        "orders.yaml",
        "admits other accounts but names none of the domain's events they may put",
        "put_events.events",
        at="put_events:",
    ),
    Case(
        "bus-event-not-on-bus",
        "orders.yaml",
        "'order.shipped' is not an event of orders that travels on its bus",
        "order.cancelled, order.created",
        at="events: [order.shipped]",
    ),
    Case(
        "pattern-sets-account",
        "inventory.yaml",
        "account is generated",
        "put_events.events",
        at=("release-stock:", "pattern:"),
    ),
    Case(
        "bad-organizational-unit",
        "orders.yaml",
        "'ou-ab12-11111111' is not an organisational unit path of the organisation o-exampleorg01",
        "o-exampleorg01/r-ab12/ou-ab12-11111111",
        at="organizational_units:",
    ),
    Case(
        "key-admin-role-of-another-account",
        "prod.yaml",
        "is not a role of this environment's account 333333333333",
        "arn:aws:iam::333333333333:role/",
        at="key_admin_role:",
    ),
    Case(
        "pii-to-partner-without-transformer",
        "users.yaml",
        "personal data of users/user.registered (email, name) would reach account 444444444444 (in dev) unminimised",
        "pii_exception: {owner: <team>",
        at=("customer-fanout:", "partner:"),
    ),
    Case(
        "pii-to-stream-without-exception",
        "users.yaml",
        "personal data of users/user.registered (email, name) would reach a stream unminimised",
        "input_path or input_transformer",
        at=("customer-fanout:", "      stream:"),
    ),
    Case(
        "pii-selected-by-transformer",
        "users.yaml",
        "personal data of orders/order.created (customer.email, customer.name) would reach a stream",
        "leaving out the pii: fields",
        at=("customer-fanout:", "analytics:"),
    ),
    Case(
        "pii-as-sns-attribute",
        "users.yaml",
        "attribute 'email' carries personal data (email under pii:)",
        "filter_scope: body",
        at="attributes: [country, marketing_opt_in, email]",
    ),
    Case(
        "secret-read-into-local-state",
        "dev.yaml",
        "dev-users (users/customer-fanout.crm) read a Secrets Manager secret at plan time",
        "kms_key: arn:aws:kms:",
        at="backend: {type: local}",
    ),
    Case(
        "state-key-of-another-account",
        "prod.yaml",
        "is not a KMS key of account 333333333333 in the backend's region eu-west-1",
        "arn:aws:kms:eu-west-1:333333333333:alias/",
        at="backend:",
    ),
    Case(
        "env-secret-by-value",
        "notifications.yaml",
        "environment variable CRM_KEY looks like a secret (by name or value)",
        "Secrets Manager",
        at="CRM_KEY: AKIAIOSFODNN7EXAMPLE",
    ),
    Case("partner-is-own-account", "prod.yaml", "own account 333333333333 is listed as a partner", "remove it"),
    Case("lambda-target-names-a-function", "inventory.yaml", "names no other function", "remove function:"),
    Case("bad-cron", "inventory.yaml", "5 fields, EventBridge needs 6", "cron(0 3 * * ? *)"),
    Case("cron-both-days", "inventory.yaml", "exactly one of day-of-month and day-of-week", "cron(0 3 * * ? *)"),
    Case("bad-rate", "inventory.yaml", "1 takes a singular unit", "rate(1 hour)"),
    Case("bad-timezone", "inventory.yaml", "unknown time zone 'Europe/Springfield'", "IANA"),
    Case(
        "schedule-payload-not-an-example", "inventory.yaml", "payload does not match stock.recount_requested", "valid"
    ),
    Case("schedule-unknown-consumer", "inventory.yaml", "no consumer queue 'nobody'", "reserve-stock"),
    Case("schedule-to-a-handler", "inventory.yaml", "takes catalog events, not a plain", "schedule event:"),
    Case(
        "schedule-handler-event-not-taken",
        "inventory.yaml",
        "release-stock's handler takes orders/order.cancelled, not inventory/stock.recount_requested",
        "name one of its events (<domain>/<event>): orders/order.cancelled",
        at="event: stock.recount_requested",
    ),
    Case(
        "schedule-handler-unknown-consumer",
        "inventory.yaml",
        "inventory has no consumer 'recount' with a handler for Scheduler to invoke",
        "release-stock, reserve-stock",
        at="consumer: recount",
    ),
    Case("lambda-target-without-handler", "inventory.yaml", "the consumer names none", "add handler:"),
    Case("lambda-and-queue-targets", "inventory.yaml", "the handler would run twice per event", "either the queue"),
    Case("retry-age-too-long", "inventory.yaml", "maximum event age 172800s is outside 60s..24h", "1m..24h"),
    Case("local-schema-registry", "local.yaml", "has no EventBridge schema registry", "schema_registry: false"),
    Case("filter-on-type", "notifications.yaml", "already filters on the consumed event types", "list the events"),
    Case(  # one of two alternatives (local | s3): the problem of the one chosen, not "valid under none"
        "backend-without-bucket",
        "prod.yaml",
        "the required key 'bucket' is missing",
        "add `bucket:`",
        at="backend: {type: s3",
    ),
    Case(
        "partner-account-id",
        "dev.yaml",
        "'4444-4444-4444' is not an AWS account id: exactly 12 digits",
        'account: "444444444444"',
        at='account: "4444-4444-4444"',
    ),
    Case(
        "event-reference-without-domain",
        "inventory.yaml",
        "'order.created' is not an event reference <domain>/<event>",
        "write <domain>/<event>, e.g. orders/order.created",
        at="events: [order.created]",
    ),
    Case(
        "negative-bus-archive-days",
        "inventory.yaml",
        "-3 is not an archive retention: a whole number of days, 0 (keep forever) or more",
        "days: 90",
        at="archive: {days: -3}",
    ),
    Case(
        "unknown-region",
        "dev.yaml",
        "unknown AWS region 'eu-middle-9': the hashicorp/aws 5.100.0 provider knows 43 regions",
        "eu-central-1",
        at="region: eu-middle-9",
    ),
    Case(
        "unknown-backend-region", "prod.yaml", "unknown AWS region 'eu-westt-1'", "eu-west-1", at="region: eu-westt-1"
    ),
    Case(
        "example-over-256-kb",
        "v1.examples.json",
        "example 0 is too large to publish",
        "store large content in S3 and publish a reference",
    ),
    Case(
        "schema-id-not-a-uri",
        "v1.schema.json",
        "$id 'user-registered-v1' is not an absolute URI: it becomes the CloudEvents dataschema",
        "urn:eventform:schema:users:user.registered:v1",
    ),
    Case("name-collision", "shop.yaml", "collides with consumer", "rename one of the two consumers"),
    Case(
        "objects-and-events", "payments.yaml", "a stream's records, not events and objects together", "keep one"
    ),
    Case("objects-unknown-bucket", "payments.yaml", "unknown bucket 'payments/receipts'", "payments/invoices"),
    Case("objects-unknown-kind", "payments.yaml", "'deleted' is not one of", "removed"),
    Case("objects-overlap", "payments.yaml", "S3 would refuse the notifications of invoices", "via: bus"),
    Case("objects-wildcard-key", "payments.yaml", "S3 key filters are literal", "drop the '*'"),
    Case("objects-other-domain-direct", "notifications.yaml", "belongs to the payments domain", "add `via: bus`"),
    Case("objects-replication-on-bus", "payments.yaml", "does not send replication events to EventBridge", "via: bus"),
    Case(
        "objects-pattern-sets-generated-field",
        "payments.yaml",
        "detail.bucket.name is generated from objects:",
        "objects:",
    ),
    Case("objects-filter-policy", "payments.yaml", "object events are filtered by key", "objects.prefix"),
    Case("bucket-without-consumer", "payments.yaml", "bucket 'scans' has no consumer", "add a consumer"),
    Case("topic-consumers-disagree", "payments.yaml", "carries one selection of object events", "the same events"),
    Case(
        "pipe-unknown-source-consumer",
        "payments.yaml",
        "payments has no consumer 'settlment'",
        "settlement",
        at="queue: settlment",
    ),
    Case(
        "pipe-source-consumer-has-handler",
        "payments.yaml",
        "runs handler ledger on its queue: the pipe and the handler's event source mapping would compete",
        "drain a consumer without handler",
        at="queue: ledger",
    ),
    Case(
        "pipe-batch-size-out-of-range",
        "inventory.yaml",
        "batch size 20000 is outside 1..10000",
        "use 1..10000",
        at="batch: {size: 20000}",
    ),
    Case(
        "pipe-fifo-batch-too-large",
        "payments.yaml",
        "more than a FIFO queue delivers (10)",
        "batch.size <= 10",
        at="batch: {size: 11}",
    ),
    Case(
        "pipe-batch-over-target-limit",
        "inventory.yaml",
        "more than a firehose target takes (500)",
        "<= 500",
        at="batch: {size: 900}",
    ),
    Case(
        "pipe-filter-matches-no-example",
        "payments.yaml",
        "the filter matches none of the catalog examples",
        "mark the pipe rare: true",
        at="filter:",
    ),
    Case(
        "pipe-filter-not-a-record-field",
        "inventory.yaml",
        "'event' is not a field of a DynamoDB stream record",
        "eventName",
        at="filter: {event: [INSERT]}",
    ),
    Case(
        "pipe-filter-payload-outside-data",
        "payments.yaml",
        "body.amount: 'amount' is not a field of the CloudEvents envelope; payload fields are under body.data",
        "payload fields are under data",
        at="filter:",
    ),
    Case(
        "pipe-filter-field-not-in-schema",
        "users.yaml",
        "data.data.opt_in: no field of the event's schema is there",
        "payload fields are under data",
        at=("marketing-signups:", "filter:"),
    ),
    Case(
        "pipe-enrichment-handler-missing",
        "payments.yaml",
        "handler 'fees' does not exist",
        "settlement_fees",
        at="handler: fees",
    ),
    Case(
        "pipe-enrichment-without-events",
        "inventory.yaml",
        "an enrichment handler validates the catalog events it enriches, but this source carries none",
        "remove the enrichment",
        at="enrichment: {handler: settlement_fees}",
    ),
    Case(
        "pipe-enrichment-slower-than-visibility",
        "payments.yaml",
        "visibility timeout 60s is below 6x the enrichment's timeout (120s)",
        "visibility_timeout to at least 120s",
        at="timeout: 20s",
    ),
    Case(
        "pipe-target-arn-of-wrong-service",
        "payments.yaml",
        "is not a stepfunctions ARN",
        "arn:aws:states:",
        at="arn: arn:aws:lambda:eu-west-1:1:x",
    ),
    Case(
        "pipe-invocation-on-firehose",
        "inventory.yaml",
        "a firehose target takes no invocation",
        "remove",
        at="invocation: FIRE_AND_FORGET",
    ),
    Case(
        "pipe-two-sources",
        "payments.yaml",
        "a pipe reads exactly one source, not queue and stream",
        "table:",
        at=("settle-captures:", "source:"),
    ),
    Case(
        "pipe-queue-source-with-retry",
        "payments.yaml",
        "retry belongs to stream sources",
        "queue.max_receive_count",
        at="retry: {max_attempts: 3}",
    ),
    Case(
        "pipe-stream-without-starting-position",
        "users.yaml",
        "needs a starting position",
        "TRIM_HORIZON",
        at=("marketing-signups:", "source:"),
    ),
    Case(
        "pipe-stream-of-another-account",
        "users.yaml",
        "a pipe reads streams of its own account and region only",
        "write the stream's name",
        at="stream: arn:aws:kinesis:eu-west-1:999999999999:stream/customer-events",
    ),
    Case(
        "pipe-unknown-table",
        "inventory.yaml",
        "has no table 'holds'",
        "reserve-stock/<table>",
        at="table: reserve-stock/holds",
    ),
    Case(
        "pipe-name-collision",
        "users.yaml",
        "SQS queue name 'dev-users-marketing-signups-pipe-dlq' collides with consumer users/marketing-signups-pipe",
        "rename the pipe",
        at="marketing-signups:",
    ),
]


def test_the_corpus_is_large_and_each_case_is_distinct() -> None:
    assert len(CASES) >= 15
    assert len({c.id for c in CASES}) == len(CASES) == len(MUTATIONS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_reported_with_file_place_and_fix(case: Case, project: Path) -> None:
    case.apply(project)
    with pytest.raises(CatalogError) as raised:
        load(project)
    matching = [p for p in raised.value.problems if case.message in p.message]
    assert matching, f"no problem mentions {case.message!r}:\n{raised.value}"
    problem = matching[0]
    assert problem.file.name == case.file
    assert case.fix in problem.fix
    if case.at is not None:
        expected = line_containing(problem.file.read_text(), case.at)
        assert problem.line == expected, f"the problem points at line {problem.line}, {case.at!r} is at {expected}"
    assert str(problem.file.name) in str(raised.value)


PRINTED_BY_THE_CLI = (
    "tab-indented",
    "account-id-digits",
    "negative-retention",
    "negative-archive-days",
    "consumer-name-too-long",
    "secret-arn-printed-verbatim",
    "unknown-key",
    "unknown-region",
    "example-over-256-kb",
    "schema-id-not-a-uri",
    "domain-name-too-long",
    "attribute-not-an-sns-name",
    "not-a-known-fact",
    "negative-bus-archive-days",
    "schedule-handler-event-not-taken",
    "transformer-variable-name",
)


@pytest.mark.parametrize("case", [c for c in CASES if c.id in PRINTED_BY_THE_CLI], ids=lambda c: c.id)
def test_the_cli_prints_the_problem_verbatim_without_a_traceback(case: Case, project: Path) -> None:
    """What the user reads: the message and fix as written (rich substitutes no emoji for an ARN's :secret:)."""
    case.apply(project)
    result = CliRunner().invoke(app, ["lint", "--root", str(project)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    flat = " ".join(result.output.split())
    assert " ".join(case.message.split()) in flat, result.output
    assert "Nothing was written." in result.output


def test_invalid_input_writes_nothing(project: Path) -> None:
    MUTATIONS["unknown-event"](project)
    out = project / "cdktf.out"
    with pytest.raises(CatalogError):
        synthesize(project, out)
    assert not out.exists()
    assert not list(project.glob(".synth-*")), "the temporary synthesis folder was left behind"


def test_unknown_stack_or_environment_is_refused_before_synthesis(project: Path) -> None:
    with pytest.raises(CatalogError, match="unknown stack 'dev-nope'"):
        synthesize(project, project / "out", stacks=["dev-nope"])
    with pytest.raises(CatalogError, match="unknown environment 'qa'"):
        synthesize(project, project / "out", environments=["qa"])
    assert not (project / "out").exists()
