"""Writes Google refused, remembered until they succeed: no write is lost silently (pure).

Every pass ends with some writes confirmed and perhaps some failed after the adapter's retries.
A failure Google may get over (5xx, rate limits, no answer) keeps the sync token where it was,
so the next pass lists the same changes and writes them again. A failure it will not get over
by itself (400 invalid, 403 forbiddenForNonOrganizer, 404...) must not hold the whole source
back forever, so the sync token moves on — and the failure is remembered instead, in
``status.sources[].failedWrites`` (``api.records.FailedWrites``): how many, and the first
``MAX_REMEMBERED`` with Google's status and reason. A remembered failure is retried whenever its
event is listed again (it was edited, or the next full listing of the window), and dropped once
that listing no longer fails it. Failures beyond the first ``MAX_REMEMBERED`` are counted only,
and settled by the next full listing, which recomputes the list from scratch.

While anything is remembered, ``Ready`` is False with reason ``WriteFailed`` (``readiness``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from calsync_operator.api.records import MAX_REMEMBERED, FailedWrite, FailedWrites
from calsync_operator.sync.port import GoogleError


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
    now: str,
) -> FailedWrites:
    """The failures to remember after a pass that listed ``listed`` (source event ids) and
    failed ``failures``. This pass's failures come first; earlier ones stay unless their event
    was listed again (then this pass retried it) or the pass listed the whole window. ``now``
    (RFC 3339) starts ``since`` when nothing was failing before."""
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
    count = len(items) + hidden
    if not count:
        return FailedWrites()
    return FailedWrites(count, retrying, tuple(items[:MAX_REMEMBERED]), previous.since or now)
