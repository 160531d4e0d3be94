"""Google's ids for the occurrences of recurring events: opaque, as Google says they are.

Google documents event ids as opaque and announced that from Q3 2026 it generates (and
accepts) a new format for the instances of recurring events (the notice is quoted in
phw198/OutlookGoogleCalendarSync#2205). A client that builds ``<master id>_<start>`` itself
then addresses an event that does not exist. So by default the emulator gives every
occurrence a random-looking 26-character base32hex id that cannot be derived from the master
id and the start; a client finds it with ``events.instances`` (``originalStart``) or a
listing. ``InstanceIds("legacy")`` keeps the old ``<master id>_<UTC start>`` format
(``<master id>_<yyyymmdd>`` for all-day series), so that both can be tested.

"This and following" splits made in Google Calendar create a series of their own whose id is
``<old id>_R<yyyymmddThhmmss>`` (seen in OutlookGoogleCalendarSync#1145 and odoo/odoo#287171):
``split_series_id`` builds those, in both formats.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from datetime import UTC, date, datetime
from typing import Literal

from calsync_operator.emulator.recurrence import instance_suffix, split_instance_id

InstanceIdStyle = Literal["opaque", "legacy"]
STYLES: tuple[InstanceIdStyle, ...] = ("opaque", "legacy")
_OPAQUE_LENGTH = 26
_BASE32HEX_TO_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUV", "abcdefghijklmnopqrstuv")


class InstanceIds:
    """Makes and resolves occurrence ids; one per store (the salt makes ids unguessable)."""

    def __init__(self, style: InstanceIdStyle = "opaque") -> None:
        self._lock = threading.Lock()
        self._salt = secrets.token_bytes(16)
        self._known: dict[str, tuple[str, str]] = {}  # opaque id → (master id, suffix)
        self.style: InstanceIdStyle = style
        self.set_style(style)

    def set_style(self, style: str) -> None:
        if style not in STYLES:
            raise ValueError(f"instance id style must be one of {', '.join(STYLES)}, got {style!r}")
        with self._lock:
            self.style = style

    def reset(self) -> None:
        with self._lock:
            self._known.clear()

    def make(self, master_id: str, original: datetime | date) -> str:
        suffix = instance_suffix(original)
        if self.style == "legacy":
            return f"{master_id}_{suffix}"
        digest = hmac.new(self._salt, f"{master_id}|{suffix}".encode(), hashlib.sha256).digest()
        event_id = base64.b32hexencode(digest).decode().translate(_BASE32HEX_TO_LOWER)[:_OPAQUE_LENGTH]
        with self._lock:
            self._known[event_id] = (master_id, suffix)
        return event_id

    def resolve(self, event_id: str) -> tuple[str, str] | None:
        """``(master id, original start suffix)`` for an occurrence id this store handed out
        (legacy ids are parsed); None for any other id."""
        with self._lock:
            known = self._known.get(event_id)
        if known is not None:
            return known
        return split_instance_id(event_id) if self.style == "legacy" else None


def split_series_id(master_id: str, split_at: datetime) -> str:
    """The id Google gives the new series of a "this and following" split."""
    return f"{master_id}_R{split_at.astimezone(UTC).strftime('%Y%m%dT%H%M%S')}"
