"""Google push channels: when a source needs a new one, when the old one goes (docs/design.md §3, §5).

Channels cannot be renewed: a new channel (new id, new token) is created while the old one still
delivers, the status names both (``channel`` and ``previousChannel``) so the webhook accepts
either, and only after an overlap the old one is stopped. That way a change is never lost while
the webhook's index catches up with the new id.

The decisions are pure functions of the recorded channels and the clock; ``open_channel`` and
``close_channel`` are the two thin calls through ``CalendarClient``. The channel token is a
random secret handed to Google and then forgotten: status keeps only its sha256, which is all
the webhook needs to check Google's echo.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from calsync_operator.api.names import token_hash
from calsync_operator.api.status import ChannelRecord
from calsync_operator.sync.port import CalendarClient, GoogleError

TOKEN_BYTES = 32  # 43 url-safe characters; Google allows 256


@dataclass(frozen=True)
class ChannelDecision:
    """What one pass does to a source's channels."""

    create: bool = False  # open a new channel
    retire_current: bool = False  # the current channel becomes the previous one (renewal)
    stop_current: bool = False  # push is off: stop the current channel too
    stop_previous: bool = False

    @property
    def idle(self) -> bool:
        return not (self.create or self.retire_current or self.stop_current or self.stop_previous)


def channel_lifetime(record: ChannelRecord, created_at: datetime | None, nominal_seconds: float) -> float:
    """The lifetime to measure "20 % left" against.

    Google may grant less than asked for; when we saw the channel being created we know its real
    lifetime, otherwise (after a restart) the requested one is the best guess.
    """
    if created_at is None:
        return nominal_seconds
    granted = (record.expiration - created_at).total_seconds()
    return max(1.0, min(nominal_seconds, granted))


def decide_channels(
    *,
    now: datetime,
    wanted: bool,
    current: ChannelRecord | None,
    previous: ChannelRecord | None,
    lifetime_seconds: float,
    renew_fraction: float,
    previous_retire_at: datetime | None,
) -> ChannelDecision:
    """Decide one source's channel work for this pass.

    ``wanted`` is False when push is disabled, the webhook URL is unset or the CR is suspended.
    ``previous_retire_at`` is when the overlap of the previous channel ends; None means unknown
    (e.g. the operator restarted): the overlap is long over, stop it now.
    """
    previous_due = previous is not None and (previous_retire_at is None or now >= previous_retire_at)
    if not wanted:
        return ChannelDecision(stop_current=current is not None, stop_previous=previous is not None)
    if current is None or current.expiration <= now:
        # An expired channel is gone on Google's side; there is nothing to overlap with.
        return ChannelDecision(create=True, stop_previous=previous is not None)
    left = (current.expiration - now).total_seconds()
    if left < renew_fraction * lifetime_seconds:
        # A still-older previous channel must go now: only one overlap at a time.
        return ChannelDecision(create=True, retire_current=True, stop_previous=previous is not None)
    return ChannelDecision(stop_previous=previous_due)


def new_channel_credentials() -> tuple[str, str]:
    """A fresh channel id (unique, ≤ 64 chars) and token (a random secret, ≤ 256 chars)."""
    return str(uuid.uuid4()), secrets.token_urlsafe(TOKEN_BYTES)


def open_channel(
    client: CalendarClient, calendar_id: str, *, address: str, ttl_seconds: int | None
) -> ChannelRecord:
    """Register a push channel for ``calendar_id``. Blocking: call it through ``asyncio.to_thread``."""
    channel_id, token = new_channel_credentials()
    channel = client.watch(
        calendar_id, channel_id=channel_id, address=address, token=token, ttl_seconds=ttl_seconds
    )
    return ChannelRecord(
        id=channel.id,
        resource_id=channel.resource_id,
        expiration=datetime.fromtimestamp(channel.expiration_ms / 1000, UTC),
        token_hash=token_hash(token),
    )


def close_channel(client: CalendarClient, record: ChannelRecord) -> None:
    """Stop a channel. Blocking: call it through ``asyncio.to_thread``.

    The adapter already retries retryable errors a bounded number of times (docs/design.md §5); a second
    loop here would multiply them. A channel Google no longer knows (404) is already stopped.
    Anything else is raised: the caller decides whether to give up (deletion must never hang).
    """
    try:
        client.stop_channel(record.id, record.resource_id)
    except GoogleError as exc:
        if exc.status != 404:
            raise


def retire_deadline(now: datetime, overlap_seconds: float) -> datetime:
    return now + timedelta(seconds=overlap_seconds)
