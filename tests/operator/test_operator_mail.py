"""Alert mails through the real sendgrid client, pointed at a local SendGrid v3 endpoint."""

from __future__ import annotations

import logging

import pytest
from operator_endpoints import MailSink

from calsync_operator.mail import Mailer, MailMessage
from calsync_operator.settings import OperatorSettings

KEY = "SG.never-in-a-log"


def test_a_mail_reaches_sendgrid_with_sender_recipients_and_key(mail: MailSink) -> None:
    settings = OperatorSettings(
        sendgrid_api_key=KEY,
        sendgrid_api_host=mail.url,
        alert_from="calsync@example.com",
        alert_to=("ops@example.com", "me@example.com"),
    )
    mailer = Mailer.from_settings(settings)
    assert mailer is not None
    assert mailer.send(MailMessage("[calsync] subject", "body with the fix"))
    [sent] = mail.mails
    assert sent["from"] == {"email": "calsync@example.com"}
    assert sent["personalizations"][0]["to"] == [{"email": "ops@example.com"}, {"email": "me@example.com"}]
    assert sent["subject"] == "[calsync] subject"
    assert sent["content"] == [{"type": "text/plain", "value": "body with the fix"}]
    assert mail.auth_headers == [f"Bearer {KEY}"]
    assert KEY not in repr(mailer)


def test_alerts_are_off_without_a_key_or_recipients() -> None:
    assert Mailer.from_settings(OperatorSettings()) is None
    assert Mailer.from_settings(OperatorSettings(sendgrid_api_key=KEY, alert_from="a@example.com")) is None


def test_an_unreachable_sendgrid_is_logged_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    mailer = Mailer(
        api_key=KEY, sender="a@example.com", recipients=("b@example.com",), host="http://127.0.0.1:9"
    )
    assert mailer.send(MailMessage("s", "b")) is False
    assert "was not sent" in caplog.text
    assert KEY not in caplog.text
