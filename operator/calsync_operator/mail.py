"""Alert mails through SendGrid (the old bot's channel for "something is wrong").

A thin adapter over the official ``sendgrid`` client. Tests (and on-premises relays that speak
SendGrid's v3 API) point it elsewhere with ``CALSYNC_SENDGRID_API_HOST``. Sending is blocking;
callers run it through ``asyncio.to_thread``. A mail that cannot be sent is logged and dropped —
an outage of the mail provider must never stop calendars from syncing — and the API key never
appears in a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.error import URLError

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Mail
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from calsync_operator.api.messages import MailMessage as MailMessage  # re-exported: senders' type
from calsync_operator.settings import OperatorSettings

logger = logging.getLogger(__name__)
# python_http_client logs every request's headers — the SendGrid API key — at DEBUG. The key
# must not reach a log line even when someone turns DEBUG on for everything.
logging.getLogger("python_http_client").setLevel(logging.INFO)

SEND_TIMEOUT_SECONDS = 10.0
SEND_ATTEMPTS = 3


@dataclass(frozen=True)
class Mailer:
    """Where alert mails go. ``None`` from ``from_settings`` when alerts are not configured."""

    api_key: str = field(repr=False)
    sender: str
    recipients: tuple[str, ...]
    host: str

    @classmethod
    def from_settings(cls, settings: OperatorSettings) -> Mailer | None:
        if not (settings.sendgrid_api_key and settings.alert_from and settings.alert_to):
            return None
        return cls(
            api_key=settings.sendgrid_api_key,
            sender=settings.alert_from,
            recipients=settings.alert_to,
            host=settings.sendgrid_api_host,
        )

    def send(self, message: MailMessage) -> bool:
        """Send one mail; True when SendGrid accepted it. Never raises for delivery problems."""
        client = SendGridAPIClient(self.api_key, host=self.host)
        # The library sets no timeout; a dead endpoint would hang the worker thread forever.
        client.client.timeout = SEND_TIMEOUT_SECONDS
        mail = Mail(
            from_email=self.sender,
            to_emails=list(self.recipients),
            subject=message.subject,
            plain_text_content=message.body,
        )
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(SEND_ATTEMPTS),
                wait=wait_exponential(multiplier=0.5, max=5),
                retry=retry_if_exception(_is_transient),
                reraise=True,
            ):
                with attempt:
                    client.send(mail)
        except (HTTPError, URLError, OSError) as exc:
            logger.warning("Alert mail %r was not sent: %s", message.subject, _describe(exc))
            return False
        logger.info("Alert mail sent: %s", message.subject)
        return True


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, HTTPError):
        return int(getattr(exc, "status_code", 0)) in (429, 500, 502, 503, 504)
    return isinstance(exc, URLError | OSError)


def _describe(exc: BaseException) -> str:
    # HTTPError's str() may include request headers (the bearer key): keep only the status.
    if isinstance(exc, HTTPError):
        return f"SendGrid answered HTTP {getattr(exc, 'status_code', '?')}"
    return type(exc).__name__ + (f": {exc.reason}" if isinstance(exc, URLError) else "")
