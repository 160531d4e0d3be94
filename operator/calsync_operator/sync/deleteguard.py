"""The delete guard, judged over a sliding window of time rather than per pass (pure).

``maxDeleteFraction`` protects the target from a source that empties: revoked access, a bad
filter, a calendar deleted event by event. Pushes hand the engine a few changes per pass, so a
calendar emptied one event at a time never shows more than a handful of deletions in any single
pass; judging each pass alone lets all of them through. So the guard adds up the copy deletions
of the last ``DELETE_WINDOW`` (one hour) and compares them with the copies the source had when
the first of those deletions happened:

    deleted in the window + planned now  >  maxDeleteFraction x copies at the window's start

(and more than ``GUARD_MIN_DELETES``, so that deleting 1 of 3 events never trips it: on a small
calendar a few deletions are a person tidying up, not a wipe). A stream of single deletions
therefore trips the guard exactly when one batch of the same size would.

The window is plain data in ``status.sources[].recentDeletes`` (``api.records.DeleteWindow``);
records older than the window fall out. A confirmed release (``calsync.dev/confirm-delete``)
starts a new window: the user accepted the new, smaller calendar as the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calsync_operator.api.names import CONFIRM_DELETE_ANNOTATION
from calsync_operator.api.records import DeleteWindow

# Small numbers never trip the guard: deleting 1 of 3 copies is a user deleting an event,
# not a mass deletion (the guard exists for revoked access, emptied calendars, bad filters).
# From 20 copies on (at the default 0.2) the fraction is the limit: 20 copies allow 4, 50 allow 10.
GUARD_MIN_DELETES = 4


@dataclass(frozen=True)
class DeleteGuard:
    """The verdict on a pass's copy deletions, together with the window's earlier ones."""

    source_calendar_id: str
    existing: int  # copies at the start of the window
    deletes: int  # planned by this pass
    max_fraction: float
    tripped: bool
    earlier: int = 0  # already deleted within the window

    @property
    def message(self) -> str:
        total = self.earlier + self.deletes
        share = total / self.existing if self.existing else 1.0
        earlier = f" after {self.earlier} deleted within the last hour" if self.earlier else ""
        return (
            f"the sync of source {self.source_calendar_id!r} would delete {self.deletes} copies"
            f"{earlier}: {total} of the {self.existing} copies it had ({share:.0%}), more than "
            f"maxDeleteFraction {self.max_fraction}; these {self.deletes} deletions are held: if "
            f"this is intended, annotate the CalendarSync with {CONFIRM_DELETE_ANNOTATION}=true "
            f"or raise spec.maxDeleteFraction"
        )


def judge_deletes(
    *,
    source_calendar_id: str,
    planned: int,
    live_copies: int,
    max_fraction: float,
    window: DeleteWindow,
    now: datetime,
) -> DeleteGuard:
    """Would ``planned`` more copy deletions take the window over ``max_fraction``?"""
    current = window.current(now)
    baseline = current.baseline(live_copies)
    total = current.deleted + planned
    tripped = planned > 0 and total > GUARD_MIN_DELETES and total > max_fraction * baseline
    return DeleteGuard(source_calendar_id, baseline, planned, max_fraction, tripped, earlier=current.deleted)
