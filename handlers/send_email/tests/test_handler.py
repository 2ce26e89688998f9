from __future__ import annotations

from handlers.send_email import handler


def test_confirmation_and_welcome_mails_go_out_through_ses(aws, topology, catalog, monkeypatch, context) -> None:
    monkeypatch.setenv("EMAIL_SENDER", "shop@example.com")
    ses = aws("ses")
    ses.verify_email_identity(EmailAddress="shop@example.com")
    mail = topology("notifications/send-email")
    for qualified in ("orders/order.created", "users/user.registered"):
        for example in catalog.event(qualified).latest.examples:
            mail.publisher.publish(qualified, example)
    event = mail.receive()
    # EU customers only (filter policy): order ord_1001 (DE), ord_1002 (FR) and user cus_1 (DE).
    assert len(event["Records"]) == 3
    assert handler.lambda_handler(event, context) == {"batchItemFailures": []}
    assert ses.get_send_quota()["SentLast24Hours"] == 3
