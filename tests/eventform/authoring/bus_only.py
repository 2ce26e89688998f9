"""A second, small catalog fixture: ``billing``, a domain that publishes only on its EventBridge bus (no SNS topic),
with a bus consumer whose rule has a pattern, a queue target and an SNS target with an input transformer. Added to a
copy of the project by the docs, AsyncAPI and diff tests (the sample's bus-only domain, inventory, has no consumer of
its own bus)."""

from __future__ import annotations

import json
from pathlib import Path

BILLING = """\
# yaml-language-server: $schema=../eventform/catalog/schemas/catalog.schema.json
domain: billing
owner: team-billing
description: Invoices issued and paid; published on the billing bus only.
source: com.example.billing
data_classification: confidential

bus: {}  # <env>-billing; no topic: nothing of billing travels on SNS

events:
  invoice.issued:
    description: An invoice was issued to a customer.
    versions: [1]
    via: [bus]
  invoice.paid:
    description: A customer paid an invoice.
    versions: [1]
    via: [bus]

consumers:
  dunning:
    description: Starts dunning for large invoices and tells the collections team.
    events: [billing/invoice.issued]
    via: bus
    pattern: {detail: {data: {amount: [{numeric: [">=", 100]}]}}}
    targets:
      queue: {type: queue}
      collections:
        type: sns
        name: collections  # the collections team's topic, in each environment's own account
        input_transformer:
          paths: {invoice: $.detail.data.invoice_id, amount: $.detail.data.amount}
          template: '"Invoice <invoice> over <amount> EUR"'
"""
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["invoice_id", "amount"],
    "properties": {"invoice_id": {"type": "string"}, "amount": {"type": "number", "minimum": 0}},
}
EXAMPLES = {
    "invoice.issued": [{"invoice_id": "inv-1", "amount": 250}, {"invoice_id": "inv-2", "amount": 20}],
    "invoice.paid": [{"invoice_id": "inv-1", "amount": 250}],
}


def add_billing(project: Path) -> Path:
    """Write the billing domain into ``project``'s catalog; return its YAML file."""
    catalog = project / "catalog"
    for event, examples in EXAMPLES.items():
        folder = catalog / "billing" / event
        folder.mkdir(parents=True)
        (folder / "v1.schema.json").write_text(json.dumps({**SCHEMA, "title": f"{event} v1"}, indent=2) + "\n")
        (folder / "v1.examples.json").write_text(json.dumps(examples, indent=2) + "\n")
    path = catalog / "billing.yaml"
    path.write_text(BILLING)
    return path
