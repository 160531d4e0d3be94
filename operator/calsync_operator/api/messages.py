"""What calsync tells people outside the status: an alert mail, as plain data.

The operator's alerts (``controller.rules.notices``) and ``calsync check`` (``check.health``)
decide the mails; ``mail.Mailer`` sends them. Keeping the type here lets both deciders stay
pure and apart from each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MailMessage:
    """An alert mail: the subject says what and where, the body how to fix it."""

    subject: str
    body: str
