"""EventBridge Pipes in the catalog: the sample pipes as loaded, records shaped as Pipes filters them, the filters
against the catalog's examples (moto's matcher), rare pipes, enrichment packages and names within AWS's limits."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from eventform.catalog import model, patterns, pipe_checks, pipes
from eventform.catalog.errors import CatalogError
from eventform.catalog.loader import load
from eventform.catalog.naming import LIMITS, Names
from eventform.synthesis import packaging
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def catalog():
    return load(ROOT)[0]


def pipe_of(catalog, qualified: str) -> model.Pipe:
    domain, name = qualified.split("/")
    return next(p for p in catalog.domain(domain).pipes if p.name == name)


def test_the_sample_pipes_load_with_their_source_filter_enrichment_and_target(catalog) -> None:
    settle = pipe_of(catalog, "payments/settle-captures")
    assert (settle.source.kind, settle.source.consumer, settle.source.batch_size) == ("queue", "settlement", 10)
    assert settle.filters == ({"body": {"data": {"amount": [{"numeric": [">", 0]}]}}},)
    assert settle.enrichment is not None and settle.enrichment.handler == "settlement_fees"
    assert settle.enrichment.function.timeout == 10
    assert (settle.target.kind, settle.target.invocation) == ("stepfunctions", "FIRE_AND_FORGET")
    assert settle.target.actions == ("states:StartExecution",)
    assert pipe_checks.carried_events(catalog, settle) == ("payments/payment.captured",)  # the consumer's events

    feed = pipe_of(catalog, "inventory/reservation-feed")
    assert (feed.source.kind, feed.source.consumer, feed.source.table) == ("table", "reserve-stock", "reservations")
    assert feed.source.retry == model.StreamRetry(max_attempts=5, max_age=3600)
    assert feed.source.batching_window == 10 and feed.enrichment is None

    signups = pipe_of(catalog, "users/marketing-signups")
    assert signups.source.kind == "stream" and signups.source.starting_position == "TRIM_HORIZON"
    assert signups.target.invocation == "REQUEST_RESPONSE"  # a Lambda target's default: failures return to the source
    names = Names("dev", "eu-west-1", "111111111111")
    expected = "arn:aws:kinesis:eu-west-1:111111111111:stream/customer-events"
    assert pipe_checks.stream_arn(names, signups.source) == expected


def test_an_sqs_record_carries_the_envelope_in_its_body_and_sns_attributes(catalog) -> None:
    settle = pipe_of(catalog, "payments/settle-captures")
    ((event, index, record),) = list(pipe_checks.example_records(catalog, settle))
    example = catalog.event("payments/payment.captured").latest.examples[0]
    assert (event, index) == ("payments/payment.captured", 0)
    assert record["eventSource"] == "aws:sqs" and set(record) <= pipes.RECORD_FIELDS["queue"]
    assert record["body"]["data"] == example and record["body"]["type"] == "payment.captured"
    assert record["messageAttributes"]["currency"] == {
        "stringValue": example["currency"],
        "binaryValue": None,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    # a filter on the attributes SNS copied from the payload works exactly like one on the body
    assert patterns.matches({"messageAttributes": {"currency": {"stringValue": [example["currency"]]}}}, record)
    assert not patterns.matches({"messageAttributes": {"currency": {"stringValue": ["XXX"]}}}, record)


def test_a_stream_filter_keeps_only_consenting_registrations(catalog) -> None:
    signups = pipe_of(catalog, "users/marketing-signups")
    matrix = pipe_checks.example_matrix(catalog, signups)
    registrations = catalog.event("users/user.registered").latest.examples
    expected_users = [(i, bool(e["marketing_opt_in"])) for i, e in enumerate(registrations)]
    assert [(i, passed) for event, i, passed in matrix if event == "users/user.registered"] == expected_users
    orders = [passed for event, _, passed in matrix if event == "orders/order.created"]
    assert orders and not any(orders)  # the stream also carries orders; the type filter drops them
    records = {e: r for e, _, r in pipe_checks.example_records(catalog, signups)}
    assert records["users/user.registered"]["eventSource"] == "aws:kinesis"
    assert records["users/user.registered"]["data"]["type"] == "user.registered"


def _edit(project: Path, relative: str, old: str, new: str) -> None:
    path = project / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_rare_pipe_may_match_no_example(project_copy: Path) -> None:
    _edit(project_copy, "catalog/payments.yaml", '[{numeric: [">", 0]}]', '[{numeric: [">", 100000]}]')
    with pytest.raises(CatalogError, match="matches none of the catalog examples"):
        load(project_copy)
    _edit(project_copy, "catalog/payments.yaml", "  settle-captures:\n", "  settle-captures:\n    rare: true\n")
    settle = pipe_of(load(project_copy)[0], "payments/settle-captures")
    assert settle.rare and not any(passed for *_, passed in pipe_checks.example_matrix(load(project_copy)[0], settle))


def test_several_filters_are_alternatives_and_a_stream_arn_of_the_environment_is_accepted(project_copy: Path) -> None:
    _edit(
        project_copy,
        "catalog/payments.yaml",
        "    filter:  # the SQS record: body is the CloudEvents envelope, the payload is body.data\n"
        '      body: {data: {amount: [{numeric: [">", 0]}]}}\n',
        "    filter:\n      - body: {data: {currency: [GBP]}}\n      - body: {type: [payment.captured]}\n",
    )
    for env in ("local", "staging", "prod"):  # dev alone: an ARN names one account's stream
        (project_copy / "environments" / f"{env}.yaml").unlink()
    _edit(
        project_copy,
        "catalog/notifications.yaml",
        "    environments:\n      prod:\n",
        "    environments:\n      dev:\n",
    )
    _edit(
        project_copy,
        "catalog/users.yaml",
        "stream: customer-events  #",
        "stream: arn:aws:kinesis:eu-west-1:111111111111:stream/customer-events  #",
    )
    catalog, _ = load(project_copy)
    settle = pipe_of(catalog, "payments/settle-captures")
    assert len(settle.filters) == 2
    assert [passed for *_, passed in pipe_checks.example_matrix(catalog, settle)] == [True]  # the second one matches
    signups = pipe_of(catalog, "users/marketing-signups")
    assert signups.source.reference.startswith("arn:aws:kinesis:")


def test_enrichment_packages_bundle_the_runtimes_the_handler_and_the_carried_schemas(catalog, tmp_path) -> None:
    first = packaging.enrichment_packages(ROOT, catalog, tmp_path / "a")
    again = packaging.enrichment_packages(ROOT, catalog, tmp_path / "b")
    (key,) = first
    assert key == "payments/settle-captures#enrichment"
    assert first[key].sha256_base64 == again[key].sha256_base64  # deterministic, byte for byte
    with zipfile.ZipFile(first[key].path) as archive:
        entries = set(archive.namelist())
    assert {
        "handlers/__init__.py",
        "eventform/runtime/handler.py",
        "eventform/runtime/enrichment.py",
        "handlers/settlement_fees/handler.py",
        "handlers/settlement_fees/schemas/payments/payment.captured/v1.schema.json",
    } <= entries
    assert not any("/tests/" in e for e in entries)


def test_pipe_names_fit_aws_limits_and_stay_distinct() -> None:
    names = Names("staging", "eu-west-1", "333333333333")
    long_domain, long_pipe = "d" * 30, "p" * 40
    generated = {
        "pipe": names.pipe(long_domain, long_pipe),
        "iam_role": names.pipe_role(long_domain, long_pipe),
        "lambda": names.enrichment_function(long_domain, long_pipe),
        "sqs": names.pipe_dlq(long_domain, long_pipe),
    }
    for limit, name in generated.items():
        assert len(name) <= LIMITS[limit], (limit, name)
    assert names.pipe(long_domain, long_pipe) != names.pipe(long_domain, long_pipe[:-1] + "q")
    assert names.pipe_arn("x") == "arn:aws:pipes:eu-west-1:333333333333:pipe/x"


def test_the_readme_pipe_example_is_a_valid_catalog_entry() -> None:
    import yaml

    from eventform.catalog.parsing import validator

    readme = (ROOT / "README.md").read_text()
    start = readme.index("pipes:                                   # <env>-<domain>-<pipe>")
    block = yaml.safe_load(readme[start : readme.index("```", start)])
    document = {"domain": "payments", "owner": "team", "description": "readme", "source": "com.example.payments"}
    errors = list(validator("catalog.schema.json").iter_errors({**document, "pipes": block["pipes"]}))
    assert errors == [] and set(block["pipes"]["settle-captures"]) >= {"source", "filter", "enrichment", "target"}
