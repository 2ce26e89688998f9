"""Catalog comparison of every kind of entry, renames, grouping identical environments, the PR-comment limit."""

from __future__ import annotations

from pathlib import Path

from eventform.authoring.catalog_diff import catalog_changes
from eventform.authoring.diff_report import (
    COMMENT_LIMIT,
    Report,
    ResourceChange,
    StackChanges,
    group_stacks,
    render_comment,
    render_markdown,
)
from eventform.catalog.loader import load
from tests.conftest import ROOT, copy_project
from tests.eventform.authoring.bus_only import add_billing
from tests.eventform.authoring.realistic_change import every_other_kind, pipe_target_rename


def rows(base: Path, head: Path) -> dict[tuple[str, str, str], str]:
    lines, _, _ = catalog_changes(load(base)[0], load(head)[0])
    return {(line.action, line.kind, line.name): line.detail for line in lines}


def test_a_pipe_added_a_target_changed_and_a_consumer_renamed(tmp_path: Path):
    head = copy_project(tmp_path)
    pipe_target_rename(head)
    found = rows(ROOT, head)
    assert found[("added", "pipe", "users/signup-archive")] == ("stream customer-events -> firehose signup-archive")
    target = found[("changed", "target", "payments/large-orders -> risk-topic")]
    assert "reference.name: risk-alerts -> risk-review" in target
    assert 'input_transformer.template: "Order <order> needs review (total <total>)" -> "Order <order> needs' in target
    renamed = found[("renamed", "consumer", "notifications/send-email -> notifications/customer-emails")]
    assert "messages still queued are lost" in renamed
    assert len(found) == 3, found  # the rename is one line, not a removal and an addition


def test_every_other_kind_is_compared(tmp_path: Path):
    head = copy_project(tmp_path)
    every_other_kind(head)
    found = rows(ROOT, head)
    assert found[("changed", "bus", "orders")] == 'events: ["order.created"] -> ["order.cancelled", "order.created"]'
    assert found[("changed", "schedule", "inventory/nightly-recount")] == (
        "expression: cron(0 3 * * ? *) -> cron(0 4 * * ? *)"
    )
    assert found[("changed", "api-call rule", "payments/ledger-table-deleted")] == (
        'actions: ["DeleteTable", "DeleteBackup"] -> ["DeleteTable"]'
    )
    assert found[("changed", "bucket", "payments/invoices")] == "versioning: true -> false"
    assert found[("changed", "consumer", "inventory/release-stock")].startswith("pattern.detail.data.reason:")
    assert found[("changed", "consumer", "notifications/send-email")].startswith("filter.country:")
    assert len(found) == 6, found


def test_domains_events_via_and_versions(tmp_path: Path):
    head = copy_project(tmp_path)
    add_billing(head)
    inventory = head / "catalog/inventory.yaml"  # the bus-only domain gains a topic for its event
    text = inventory.read_text().replace("\nbus:", "\ntopic: {}\nbus:").replace("via: [bus]", "via: [topic, bus]")
    inventory.write_text(text)
    found = rows(ROOT, head)
    assert found[("added", "domain", "billing")] == "owner team-billing"
    assert found[("added", "bus", "billing")] == "PutEvents also from nobody; archive keeps everything"
    assert found[("added", "event", "billing/invoice.issued")] == "v1 on bus"
    assert found[("added", "consumer", "billing/dunning")] == "reads billing/invoice.issued through its rule"
    assert found[("added", "target", "billing/dunning -> collections")] == "sns collections"
    assert found[("changed", "event", "inventory/stock.recount_requested")] == 'via: ["bus"] -> ["topic", "bus"]'
    assert (
        found[("changed", "domain", "inventory")]
        == 'topic: null -> {"content_based_deduplication": false, "fifo": false}'
    )


def change(action: str, address: str, *attributes: str) -> ResourceChange:
    return ResourceChange(action, address, attributes)


def test_identical_changes_across_environments_are_grouped():
    same = [change("create", "aws_sqs_queue.q"), change("update", "aws_sns_topic.t", "policy")]
    stacks = [StackChanges(f"{env}-orders", list(same)) for env in ("dev", "local", "prod", "staging")]
    stacks.append(StackChanges("prod-users", [change("replace", "aws_sqs_queue.x", "name")]))
    stacks[1] = StackChanges("local-orders", [same[0]])  # locally different: its own row
    groups = group_stacks(stacks)
    assert [(g.title, len(g.changes)) for g in groups] == [
        ("{dev, prod, staging}-orders", 2),
        ("local-orders", 1),
        ("prod-users", 1),
    ]
    report = Report("main", "0" * 40, [], [], [], stacks, 12)
    markdown = render_markdown(report)
    assert "| `{dev, prod, staging}-orders` | 1 | 1 | 0 | 0 |" in markdown
    assert markdown.count("<details>") == 3


def test_a_comment_longer_than_github_allows_is_cut_and_links_the_full_report():
    from eventform.authoring.catalog_diff import Line, SchemaChange
    from eventform.catalog.compat import Change

    lines = [Line("added", "consumer", f"d{i:04}/consumer-{i}", "reads a/b.c") for i in range(2000)]
    breaking = [SchemaChange("orders/order.created", 1, Change("channel", "removed-field", "field removed", True), 1)]
    stacks = [
        StackChanges(f"{env}-d{i:04}", [change("create", f"aws_sqs_queue.consumer-{i}_queue_{n}") for n in range(20)])
        for i in range(300)
        for env in ("dev", "prod")
    ]
    report = Report("main", "a" * 40, lines, breaking, [], stacks, 600)
    full = render_markdown(report)
    assert len(full) > COMMENT_LIMIT
    text, cut = render_comment(report, "https://ci.example.com/artifacts/diff.full.md")
    assert cut and len(text) <= COMMENT_LIMIT
    assert "2000 catalog changes, **1 breaking schema change**, 600 of 600 stacks change." in text
    assert "**[read it in full](https://ci.example.com/artifacts/diff.full.md)**" in text
    assert "| `orders/order.created` | v1 | `channel` | removed-field: field removed |" in text
    assert "| `{dev, prod}-d0299` | 20 | 0 | 0 | 0 |" in text  # the whole Terraform table stays
    assert "Left out here: " in text and "catalog rows" in text and "stack groups" in text
    small = Report("main", "a" * 40, lines[:3], [], [], stacks[:2], 600)
    assert render_comment(small, "x") == (render_markdown(small), False)


def test_the_cli_writes_the_comment_and_the_full_report_beside_it(monkeypatch, tmp_path: Path):
    from typer.testing import CliRunner

    import eventform.authoring.diff as diff_module
    from eventform.authoring.catalog_diff import Line
    from eventform.cli.main import app

    lines = [Line("changed", "consumer", f"d/c{i}", "x" * 200) for i in range(400)]
    report = Report("main", "b" * 40, lines, [], [], [], 12)
    monkeypatch.setattr(diff_module, "diff", lambda root, base, env: report)
    out = tmp_path / "diff.md"
    result = CliRunner().invoke(app, ["diff", "--base", "main", "--out", str(out), "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    comment, full = out.read_text(), (tmp_path / "diff.full.md").read_text()
    assert len(comment) <= COMMENT_LIMIT < len(full) and full == render_markdown(report)
    assert "**[read it in full](diff.full.md)**" in comment


def test_a_renamed_domain_is_called_out_with_what_it_destroys(tmp_path: Path):
    """A domain's name is in every AWS name it owns (its bus is <env>-<domain>): diff says so in one line."""
    head = copy_project(tmp_path)
    old, new = head / "catalog/inventory.yaml", head / "catalog/stock.yaml"
    new.write_text(old.read_text().replace("domain: inventory", "domain: stock").replace(".inventory", ".stock"))
    old.unlink()
    (head / "catalog/inventory").rename(head / "catalog/stock")
    found = rows(ROOT, head)
    note = found[("renamed", "domain", "inventory -> stock")]
    assert "topic, bus and archive" in note and "No rename keeps a domain or its bus" in note
    assert ("removed", "domain", "inventory") in found and ("added", "domain", "stock") in found


def test_a_renamed_event_says_what_is_lost_and_the_way_to_keep_it(tmp_path: Path):
    head = copy_project(tmp_path)
    inventory = head / "catalog/inventory.yaml"
    inventory.write_text(inventory.read_text().replace("stock.recount_requested", "stock.recount_ordered"))
    (head / "catalog/inventory/stock.recount_requested").rename(head / "catalog/inventory/stock.recount_ordered")
    found = rows(ROOT, head)
    note = found[("renamed", "event", "inventory/stock.recount_requested -> inventory/stock.recount_ordered")]
    assert "queued messages of the old type fail" in note and "publish the new event beside the old one" in note
