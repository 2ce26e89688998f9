"""A realistic catalog change for the diff tests (and the issue's closing note): a pipe added, a rule target changed
(its ARN and its transformer), a consumer renamed; plus a bus policy, a schedule, a bucket and an API-call rule
touched, so every kind of entry is compared."""

from __future__ import annotations

from pathlib import Path

PIPE = """
  signup-archive:
    description: Archives every registration from the customer stream.
    source:
      stream: customer-events
      events: [users/user.registered]
      starting_position: LATEST
      batch: {size: 100, window: 1m}
    target:
      type: firehose
      name: signup-archive
      pii_exception: {owner: team-identity, reason: The archive is the legal record of consent.}
"""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def pipe_target_rename(project: Path) -> None:
    """The three changes of the closing note."""
    catalog = project / "catalog"
    users = catalog / "users.yaml"
    users.write_text(users.read_text().rstrip("\n") + "\n" + PIPE)
    payments = catalog / "payments.yaml"
    _edit(payments, "name: risk-alerts", "name: risk-review")
    _edit(payments, "needs review (total <total>)", "needs manual review (total <total>)")
    _edit(catalog / "notifications.yaml", "  send-email:\n", "  customer-emails:\n")


def every_other_kind(project: Path) -> None:
    """Bus policy, schedule, bucket and API-call rule changes, a consumer's pattern and filter."""
    catalog = project / "catalog"
    _edit(catalog / "orders.yaml", "events: [order.created]        #", "events: [order.created, order.cancelled]  #")
    inventory = catalog / "inventory.yaml"
    _edit(inventory, "expression: cron(0 3 * * ? *)", "expression: cron(0 4 * * ? *)")
    _edit(inventory, "reason: [{anything-but: [fraud_suspected]}]", "reason: [{anything-but: [fraud_suspected, test]}]")
    payments = catalog / "payments.yaml"
    _edit(payments, "actions: [DeleteTable, DeleteBackup]", "actions: [DeleteTable]")
    _edit(
        payments,
        "    description: Invoice PDFs rendered for captured payments.\n",
        "    description: Invoice PDFs rendered for captured payments.\n    versioning: false\n",
    )
    _edit(catalog / "notifications.yaml", "country: [DE, AT, FR, NL, ES, IT]", "country: [DE, AT, FR, NL, ES, IT, BE]")
