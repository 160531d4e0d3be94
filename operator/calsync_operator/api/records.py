"""What a source's status remembers for the delete guard and about failed writes (pure data).

Both live in ``status.sources[]`` (``api.status.SourceStatus``), so they survive a restart:

- ``DeleteWindow`` (``recentDeletes``): the copy deletions of the last ``DELETE_WINDOW``, one
  record per minute with deletions (its time, the live copies before its first deletion, how
  many were deleted); ``sync.deleteguard`` judges new deletions against it.
- ``FailedWrites`` (``failedWrites``): writes Google refused after retries, remembered until
  they succeed (how many, and the first ``MAX_REMEMBERED`` with Google's status and reason);
  ``sync.writefailures`` settles them after each pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from calsync_operator.api.conditions import format_time
from calsync_operator.api.times import try_parse_time

DELETE_WINDOW = timedelta(hours=1)
_BUCKET = timedelta(minutes=1)  # deletions within a minute share one record (at most 61 kept)
MAX_REMEMBERED = 20


@dataclass(frozen=True)
class DeleteRecord:
    time: datetime
    copies: int  # live copies before the first deletion of this record
    deleted: int

    def to_status(self) -> dict[str, Any]:
        return {"time": format_time(self.time), "copies": self.copies, "deleted": self.deleted}


@dataclass(frozen=True)
class DeleteWindow:
    """Copy deletions of one source within the last ``DELETE_WINDOW``, oldest first."""

    records: tuple[DeleteRecord, ...] = ()

    def current(self, now: datetime) -> DeleteWindow:
        """The records still inside the window at ``now``."""
        return DeleteWindow(tuple(r for r in self.records if now - r.time < DELETE_WINDOW))

    @property
    def deleted(self) -> int:
        return sum(r.deleted for r in self.records)

    def baseline(self, live_copies: int) -> int:
        """The copies the source had when the window's deletions began."""
        return self.records[0].copies if self.records else live_copies

    def after(self, now: datetime, copies_before: int, deleted: int) -> DeleteWindow:
        """This window with ``deleted`` more deletions at ``now``."""
        window = self.current(now)
        if deleted <= 0:
            return window
        last = window.records[-1] if window.records else None
        if last is not None and now - last.time < _BUCKET:
            merged = DeleteRecord(last.time, last.copies, last.deleted + deleted)
            return DeleteWindow((*window.records[:-1], merged))
        return DeleteWindow((*window.records, DeleteRecord(now, copies_before, deleted)))

    def to_status(self) -> list[dict[str, Any]]:
        return [r.to_status() for r in self.records]

    @classmethod
    def from_status(cls, raw: Sequence[Any] | None) -> DeleteWindow:
        records = []
        for item in raw or ():
            if not isinstance(item, Mapping):
                continue
            moment = try_parse_time(item.get("time"))
            if moment is not None:
                records.append(DeleteRecord(moment, int(item.get("copies", 0)), int(item.get("deleted", 0))))
        return cls(tuple(sorted(records, key=lambda r: r.time)))


# What a refusal means for one operation, where Google's reason alone does not say what to do.
_HINTS: dict[tuple[str, str], str] = {
    ("invite", "forbiddenForNonOrganizer"): (
        "the source account does not organise this event, so it cannot invite anyone: ask the "
        "organiser to invite target.email, or use delivery: copy"
    ),
    ("invite", "forbiddenForNonCreator"): (
        "only the event's creator may change its attendees: ask the creator to invite "
        "target.email, or use delivery: copy"
    ),
    ("deleteSource", "forbiddenForNonOrganizer"): (
        "the source account does not organise this event, so it cannot delete it"
    ),
}


@dataclass(frozen=True)
class FailedWrite:
    op: str  # insert, update, delete, invite, deleteSource
    event_id: str  # the source event's id
    error: str  # Google's status and reason, e.g. "403 forbiddenForNonOrganizer"
    retryable: bool  # the sync token was kept for it

    def describe(self) -> str:
        hint = _HINTS.get((self.op, self.error.partition(" ")[2]))
        return f"{self.op} of event {self.event_id}: {self.error}" + (f" ({hint})" if hint else "")

    def to_status(self) -> dict[str, Any]:
        return {"op": self.op, "eventId": self.event_id, "error": self.error, "retryable": self.retryable}


@dataclass(frozen=True)
class FailedWrites:
    count: int = 0  # every remembered failure (items holds the first MAX_REMEMBERED)
    retrying: int = 0  # of those, failures the kept sync token retries
    items: tuple[FailedWrite, ...] = ()
    since: str | None = None  # when writes began to fail (RFC 3339): the retry back-off grows with it

    def __bool__(self) -> bool:
        return self.count > 0

    def summary(self) -> str:
        """One sentence for the Ready condition: how many, the first, when it is retried."""
        first = self.items[0].describe() if self.items else "see status.sources[].failedWrites"
        when = (
            "retried with back-off"
            if self.retrying
            else "retried when the event changes or at the next full listing of the source"
        )
        return f"{self.count} write(s) to Google failed (first: {first}); {when}"

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "count": self.count,
            "retrying": self.retrying,
            "items": [item.to_status() for item in self.items],
        }
        if self.since:
            status["since"] = self.since
        return status

    @classmethod
    def from_status(cls, raw: Mapping[str, Any] | None) -> FailedWrites:
        if not isinstance(raw, Mapping):
            return cls()
        items = tuple(
            FailedWrite(
                op=str(item.get("op", "")),
                event_id=str(item.get("eventId", "")),
                error=str(item.get("error", "")),
                retryable=bool(item.get("retryable", False)),
            )
            for item in raw.get("items") or ()
            if isinstance(item, Mapping)
        )
        since = raw.get("since")
        return cls(
            int(raw.get("count", 0) or 0),
            int(raw.get("retrying", 0) or 0),
            items,
            str(since) if since else None,
        )

    def retry_delay(self, now: datetime, minimum: float, maximum: float) -> float:
        """Back-off for failures the kept sync token retries: as long as they have been failing
        (so the delay doubles from pass to pass), at least ``minimum``, at most ``maximum``."""
        began = try_parse_time(self.since)
        failing_for = (now - began).total_seconds() if began is not None else 0.0
        return max(minimum, min(failing_for, maximum))
