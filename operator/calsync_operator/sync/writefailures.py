"""Writes Google refused, remembered until they succeed: no write is lost silently (pure).

Every pass ends with some writes confirmed and perhaps some failed after the adapter's retries.
A failure Google may get over (5xx, rate limits, no answer) keeps the sync token where it was,
so the next pass lists the same changes and writes them again. A failure it will not get over
by itself (400 invalid, 403 forbiddenForNonOrganizer, 404...) must not hold the whole source
back forever, so the sync token moves on — and the failure is remembered here instead, in
``status.sources[].failedWrites``: how many, and the first ``MAX_REMEMBERED`` with Google's
status and reason. A remembered failure is retried whenever its event is listed again (it was
edited, or the next full listing of the window), and dropped once that listing no longer fails
it. Failures beyond the first ``MAX_REMEMBERED`` are counted only, and settled by the next full
listing, which recomputes the list from scratch.

While anything is remembered, ``Ready`` is False with reason ``WriteFailed`` (``readiness``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from calsync_operator.sync.port import GoogleError

MAX_REMEMBERED = 20

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
        return {
            "count": self.count,
            "retrying": self.retrying,
            "items": [item.to_status() for item in self.items],
        }

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
        return cls(int(raw.get("count", 0) or 0), int(raw.get("retrying", 0) or 0), items)


def failed_write(op: str, event_id: str, error: GoogleError | None) -> FailedWrite:
    """One failure as remembered: Google's status and reason only (never event content)."""
    text = f"{error.status} {error.reason}" if error is not None else "not confirmed"
    if error is not None and not error.reason:
        text = f"{error.status} (Google gave no reason)"
    return FailedWrite(op, event_id, text, retryable=error is None or error.retryable)


def settle(
    previous: FailedWrites,
    failures: Sequence[FailedWrite],
    listed: Collection[str],
    *,
    full_listing: bool,
) -> FailedWrites:
    """The failures to remember after a pass that listed ``listed`` (source event ids) and
    failed ``failures``. This pass's failures come first; earlier ones stay unless their event
    was listed again (then this pass retried it) or the pass listed the whole window."""
    current: dict[tuple[str, str], FailedWrite] = {}
    for failure in failures:
        current.setdefault((failure.op, failure.event_id), failure)
    kept: list[FailedWrite] = []
    hidden = 0
    if not full_listing:
        kept = [
            item
            for item in previous.items
            if not item.retryable and item.event_id not in listed and (item.op, item.event_id) not in current
        ]
        stored_final = sum(1 for item in previous.items if not item.retryable)
        hidden = max(0, previous.count - previous.retrying - stored_final)
    items: Sequence[FailedWrite] = [*current.values(), *kept]
    retrying = sum(1 for item in current.values() if item.retryable)
    return FailedWrites(len(items) + hidden, retrying, tuple(items[:MAX_REMEMBERED]))
