from __future__ import annotations

import pytest

from eventform.catalog.naming import HASH_LENGTH, LIMITS, Names, fit


def test_short_names_are_kept_readable() -> None:
    names = Names(env="dev", region="eu-west-1", account_id="111111111111")
    assert names.queue("orders", "billing", fifo=False) == "dev-orders-billing"
    assert names.dlq("orders", "billing", fifo=True) == "dev-orders-billing-dlq.fifo"
    assert names.topic_arn("orders", fifo=True) == "arn:aws:sns:eu-west-1:111111111111:dev-orders-events.fifo"


@pytest.mark.parametrize("fifo", [False, True])
def test_long_queue_names_fit_sqs_with_suffix_and_keep_it(fifo: bool) -> None:
    names = Names(env="staging", region="eu-west-1", account_id="111111111111")
    domain, consumer = "d" * 30, "c" * 40
    queue, dlq = names.queue(domain, consumer, fifo), names.dlq(domain, consumer, fifo)
    assert len(queue) <= LIMITS["sqs"] and len(dlq) <= LIMITS["sqs"]
    assert queue.endswith(".fifo") == fifo
    assert dlq.endswith("-dlq.fifo" if fifo else "-dlq")
    assert queue.startswith("staging-ddd")


def test_shortening_is_deterministic_and_never_collides() -> None:
    long_a = "x" * 90 + "a"
    long_b = "x" * 90 + "b"  # same readable prefix after cutting
    assert fit(long_a, 80) == fit(long_a, 80)
    assert fit(long_a, 80) != fit(long_b, 80)
    assert len(fit(long_a, 80)) == 80
    assert fit(long_a, 80)[-HASH_LENGTH:] != fit(long_b, 80)[-HASH_LENGTH:]


def test_every_generated_name_respects_its_limit_for_the_longest_catalog_names() -> None:
    names = Names(env="staging", region="eu-west-1", account_id="111111111111")
    domain, consumer = "d" * 30, "c" * 40  # the catalog schema's maxima
    queue = names.queue(domain, consumer, fifo=True)
    assert len(names.alarm(queue, "oldest-message-age")) <= LIMITS["alarm"]
    assert len(names.topic(domain, fifo=True)) <= LIMITS["sns"]
    assert len(names.key_alias(domain)) <= LIMITS["kms_alias"]


def test_a_limit_without_room_for_a_readable_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no room"):
        fit("x" * 20, 10, suffix="-dlq.fifo")


def test_eventbridge_names_fit_aws_limits_by_design() -> None:
    names = Names(env="staging", region="eu-west-1", account_id="222222222222")
    domain, consumer = "fulfilment-and-returns", "warehouse-recount-coordinator-eu"
    rule = names.rule(domain, consumer, "orders-and-subscriptions")
    assert len(rule) == 64 and rule == names.rule(domain, consumer, "orders-and-subscriptions")  # cut + hash, stable
    assert rule != names.rule(domain, consumer, "orders-and-subscriptionz")  # never collides
    assert len(names.archive(domain + "-x" * 20)) <= 48 and names.archive("orders") == "staging-orders-archive"
    assert len(names.event_role(domain, consumer, "onboarding-state-machine")) <= 64
    assert len(names.schedule(domain, "nightly-recount-of-every-warehouse-in-europe")) <= 64
    assert names.delivery_dlq(domain, consumer * 3).endswith("-delivery-dlq")
    assert len(names.delivery_dlq(domain, consumer * 3)) <= 80
