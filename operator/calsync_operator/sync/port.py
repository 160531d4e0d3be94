"""The small, typed surface the sync engine needs from Google Calendar.

The engine and the operator depend on ``CalendarClient`` (a Protocol) and on the plain data
classes here, never on google-api-python-client. Events are Google's raw JSON dicts: the
renderer and planner read and write them as the API documents them.

All methods are blocking (google-api-python-client is synchronous); async callers run them
with ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from calsync_operator.sync.reasons import Verdict, decide

Event = dict[str, Any]


class GoogleError(Exception):
    """A Google API error that retries did not (or must not) fix. ``reason`` is Google's."""

    def __init__(
        self, status: int, reason: str, message: str = "", *, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message
        # Seconds Google asked us to wait (Retry-After), or the adapter's advice (hours for
        # quotaExceeded): callers use it as kopf.TemporaryError(delay=...).
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """May a later attempt succeed? (rate limits, 5xx, no answer at all, spent quota)"""
        return decide(self.status, self.reason) is not Verdict.FAIL


class SyncTokenExpired(GoogleError):
    """410 ``fullSyncRequired`` / ``updatedMinTooLongAgo``: list everything again, then sweep."""


class QuotaExhausted(GoogleError):
    """403 ``quotaExceeded`` (daily usage limits): back off for hours and alert."""


class CalendarNotFound(GoogleError):
    """404 on listing a calendar: it does not exist, or the token's account cannot see it."""

    def __init__(self, calendar_id: str, message: str = "") -> None:
        super().__init__(404, "notFound", message)
        self.calendar_id = calendar_id


class AuthExpired(Exception):
    """The refresh token is no longer valid (``invalid_grant``): the user must re-run ``calsync auth``."""


class WriteKind(StrEnum):
    INSERT = "insert"  # insert-or-restore: 409 -> get -> update with status confirmed
    UPDATE = "update"  # full replace (PUT)
    PATCH = "patch"  # partial (e.g. attendees for invite delivery)
    DELETE = "delete"  # 410 "deleted" counts as success, and 404 for an id calsync chose


@dataclass(frozen=True)
class WriteOp:
    kind: WriteKind
    calendar_id: str
    event_id: str
    body: Mapping[str, Any] | None = None
    send_updates: str = "none"
    # The id is one calsync chose (a copy id): a 404 on delete means "already gone". Google's
    # own ids are never assumed gone on a 404: that is an id that never existed.
    chosen_id: bool = False


@dataclass(frozen=True)
class WriteResult:
    op: WriteOp
    ok: bool
    event: Event | None = None  # the event as Google returned it after the write
    error: GoogleError | None = None


@dataclass(frozen=True)
class ListResult:
    events: list[Event]
    next_sync_token: str
    pages: int = 1


@dataclass(frozen=True)
class Channel:
    id: str
    resource_id: str
    expiration_ms: int  # epoch milliseconds, as Google returns it
    token: str = field(repr=False, default="")


class CalendarClient(Protocol):
    """One credential's view of Google Calendar; implementations batch, retry and rate-limit."""

    def list_events(
        self,
        calendar_id: str,
        *,
        sync_token: str | None = None,
        time_min: str | None = None,
        time_max: str | None = None,
        single_events: bool = False,
        private_extended_property: str | None = None,
        show_deleted: bool = False,
        ical_uid: str | None = None,
    ) -> ListResult:
        """All pages. With ``sync_token`` it is incremental (deletions included) and may raise
        ``SyncTokenExpired``; without it, a full listing in the window. ``ical_uid`` lists one
        event by its iCalendar UID: a series' master and its exceptions."""
        ...

    def get_event(self, calendar_id: str, event_id: str) -> Event | None: ...

    def instances(
        self,
        calendar_id: str,
        event_id: str,
        *,
        time_min: str | None = None,
        time_max: str | None = None,
        original_start: str | None = None,
        show_deleted: bool = False,
    ) -> list[Event]:
        """Occurrences of a series ([] when it is gone); ``original_start`` (RFC 3339, or a
        date) finds one occurrence, ``show_deleted`` includes cancelled ones."""
        ...

    def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Execute writes in batches (one HTTP request per up to 1,000 calls); one result per op,
        in order. Per-op failures come back as results, not exceptions."""
        ...

    def watch(
        self, calendar_id: str, *, channel_id: str, address: str, token: str, ttl_seconds: int | None = None
    ) -> Channel: ...

    def stop_channel(self, channel_id: str, resource_id: str) -> None: ...
