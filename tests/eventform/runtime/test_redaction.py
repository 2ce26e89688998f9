"""The handler's logger masks what the catalog marks ``pii:`` (users/user.registered: ``email``, ``name``), in
structured fields, in the event logged whole and in free text, and only while that event is handled."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from eventform.local.runner import LambdaContext
from eventform.runtime.handler import CloudEvent, EventHandler
from eventform.runtime.redaction import MASK, PiiRedactingFormatter, bound_pii, personal_values
from tests.eventform.runtime.test_handler import ENVELOPE, ROOT

EMAIL = ENVELOPE["data"]["email"]
NAMED = {**ENVELOPE, "id": "evt-named", "data": {**ENVELOPE["data"], "name": "Ada \"Countess\" Lovelace"}}


def lines_of(app: EventHandler, business: Any, envelope: dict[str, Any] = NAMED) -> list[dict[str, Any]]:
    """Run ``business`` for ``envelope`` through the real handler and return what its logger wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(app.logger.registered_formatter)
    app.logger.addHandler(handler)
    try:
        app.on("users/user.registered")(business)
        app.lambda_handler({"detail-type": "user.registered", "source": "s", "detail": envelope}, LambdaContext("f"))
    finally:
        app.logger.removeHandler(handler)
    written = stream.getvalue()
    assert EMAIL not in written and "Lovelace" not in written, written
    return [json.loads(line) for line in written.splitlines()]


@pytest.fixture
def app() -> EventHandler:
    return EventHandler("test/redacted", ROOT / "catalog", idempotency_table="")


def test_the_event_logged_whole_has_its_pii_paths_masked(app: EventHandler) -> None:
    def business(event: CloudEvent) -> None:
        app.logger.info({"received": event.to_dict()})
        app.logger.info("payload", extra={"payload": event.data})

    whole, extra, handled = lines_of(app, business)  # and the runtime's own line per event
    assert handled["message"] == "event handled" and handled["correlation_id"] == "corr-9"
    assert whole["message"]["received"]["data"]["email"] == MASK
    assert whole["message"]["received"]["data"]["name"] == MASK
    assert whole["message"]["received"]["data"]["country"] == "DE"  # not personal: kept
    assert extra["payload"] == {**NAMED["data"], "email": MASK, "name": MASK}
    assert extra["correlation_id"] == "corr-9"


def test_values_in_free_text_and_exceptions_are_masked(app: EventHandler) -> None:
    def business(event: CloudEvent) -> None:
        app.logger.info(f"sending the welcome mail to {event.data['email']} for {event.data['name']}")
        try:
            raise ValueError(f"mailbox {event.data['email']} is full")
        except ValueError:
            app.logger.exception("could not send")

    text, failure, _handled = lines_of(app, business)
    assert text["message"] == f"sending the welcome mail to {MASK} for {MASK}"
    assert MASK in failure["exception"] and "mailbox" in failure["exception"]


def test_nothing_is_masked_outside_the_event_or_for_events_without_pii() -> None:
    formatter = PiiRedactingFormatter()
    log = {"message": {"email": EMAIL}}
    assert EMAIL in formatter.serialize(log)  # no event bound: nothing to mask
    with bound_pii((), {"email": EMAIL}):
        assert EMAIL in formatter.serialize(log)
    with bound_pii(("email",), {"email": EMAIL}):
        assert EMAIL not in formatter.serialize(log)
    assert log == {"message": {"email": EMAIL}}  # the caller's objects are never changed


def test_values_are_found_under_lists_and_nested_objects_and_short_ones_only_by_path() -> None:
    data = {"lines": [{"contact": {"phone": "+49 30 1234567"}}, {"contact": {"phone": "12"}}], "id": "x"}
    assert personal_values(data, ("lines.contact",)) == ("+49 30 1234567",)  # "12" too short to search for
    formatter = PiiRedactingFormatter()
    with bound_pii(("lines.contact.phone",), data):
        line = json.loads(formatter.serialize({"message": data, "note": "call +49 30 1234567"}))
    assert line["message"]["lines"] == [{"contact": {"phone": MASK}}, {"contact": {"phone": MASK}}]
    assert line["note"] == f"call {MASK}"


def test_the_lambda_package_carries_the_pii_paths_the_runtime_masks(synthesized, tmp_path) -> None:
    import zipfile

    from eventform.runtime.declared import Declarations

    package = sorted(synthesized.outdir.rglob("send_email-*.zip"))[0]  # one per stack that uses it
    with zipfile.ZipFile(package) as archive:
        assert "eventform/runtime/redaction.py" in archive.namelist()
        archive.extractall(tmp_path)
    schemas = tmp_path / "handlers" / "send_email" / "schemas"
    manifest = json.loads((schemas / "orders" / "domain.json").read_text())
    assert manifest["pii"] == {"order.created": ["customer.email", "customer.name"]}
    declared = Declarations("notifications/send-email", schemas)
    assert declared.declare("orders/order.created").pii == ("customer.email", "customer.name")
    assert declared.declare("users/user.registered").pii == ("email", "name")
