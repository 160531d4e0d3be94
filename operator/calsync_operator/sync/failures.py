"""Writes Google refused for good: remembered, so that no write is lost silently.

A write that fails with a retryable error (rate limit, 5xx, no answer) keeps the sync token
where it was: the next pass lists the same change and tries again. A write Google refuses
(400 ``invalid``, 403 ``forbiddenForNonOrganizer``, 404 on an occurrence that is not there...)
would fail the same way on every replay, so the token moves on — and the refusal is kept here
instead: ``sync_source`` takes the previous pass's refusals (``failed_writes``) and returns
the new list (``SyncOutcome.failed_writes``; the operator keeps it in its memory, per source)
until the next full re-list (at least daily, see ``rolling``), which plans every event in the
window again and so retries it. A full pass therefore replaces the list with its own
failures; an incremental pass adds to it (one entry per event and operation, the newest
winning).

This module is the one place that decides what a remembered failure is; ``summary`` is the
line ``lastError`` shows while they wait (how many, the first few, Google's reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from calsync_operator.sync.executor import ExecutionReport
from calsync_operator.sync.planner import OpKind

MAX_REMEMBERED = 100
SUMMARY_EXAMPLES = 3
# What the user can do about a refusal, by Google's reason.
HINTS = {
    "forbiddenForNonOrganizer": "only the event's organizer can change its guests, so invite delivery "
    "cannot add the target to an event the source calendar does not organise",
    "notFound": "the event or occurrence is not there (the next full listing looks again)",
}


@dataclass(frozen=True)
class FailedWrite:
    source_event_id: str
    op: str  # the planner's operation: insert, update, delete, invite, deleteSource
    status: int
    reason: str  # Google's reason code, never event content

    @property
    def key(self) -> tuple[str, str]:
        return (self.source_event_id, self.op)

    def describe(self) -> str:
        return f"{self.op} of event {self.source_event_id}: {self.status} {self.reason}"


def summary(failed: Sequence[FailedWrite]) -> str | None:
    """One line for ``lastError`` while refusals wait for the next full listing: how many, the
    first few with Google's reason, and what it means for the most common reasons."""
    if not failed:
        return None
    shown = "; ".join(f.describe() for f in failed[:SUMMARY_EXAMPLES])
    more = f" (and {len(failed) - SUMMARY_EXAMPLES} more)" if len(failed) > SUMMARY_EXAMPLES else ""
    hints = sorted({HINTS[f.reason] for f in failed if f.reason in HINTS})
    why = "".join(f". {hint[0].upper()}{hint[1:]}" for hint in hints)
    return (
        f"Google refused {len(failed)} write(s), retried at the next full listing: {shown}{more}{why}"
    )


def refused_writes(report: ExecutionReport) -> list[FailedWrite]:
    """The failures of a pass that no replay can fix (Google's error says so)."""
    return [
        FailedWrite(r.op.source_event_id, r.op.kind.value, r.error.status, r.error.reason)
        for r in report.failures
        if r.error is not None and not r.error.retryable
    ]


def remembered(
    previous: Sequence[FailedWrite], report: ExecutionReport | None, *, full: bool
) -> tuple[FailedWrite, ...]:
    """What to remember after a pass (``report`` None: a dry run, which changes nothing)."""
    if report is None:
        return tuple(previous)
    now_failed = refused_writes(report)
    kept: Iterable[FailedWrite] = () if full else previous
    # Attempted: written, or refused (a skip is no write; a failure without an error was not tried).
    retried = {
        (r.op.source_event_id, r.op.kind.value)
        for r in report.results
        if r.op.kind is not OpKind.SKIP and (r.ok or r.error is not None)
    }
    merged: dict[tuple[str, str], FailedWrite] = {f.key: f for f in kept if f.key not in retried}
    for failure in now_failed:
        merged.pop(failure.key, None)
        merged[failure.key] = failure
    return tuple(list(merged.values())[-MAX_REMEMBERED:])
