"""What one source's step of a pass found, as a value: the pass applies it to memory in one place.

The step never writes to the object's memory itself; it returns a ``SourceOutcome`` and
``memory.ResourceMemory.apply`` records it. Its ``kind`` says how far the step got, which decides
what the memory forgets and what it learns:

- ``held``: Google's daily limit is still in force; nothing was asked of Google.
- ``no_client``: a Secret yielded no working client (``credential_problems`` says which).
- ``auth_expired``: Google refused a token during the step.
- ``failed``: the sync stopped on a Google error (``sync_problem``, or ``target_problem`` when
  the target could not be listed; a spent quota sets ``quota_until``; a retryable one
  ``retry_after``).
- ``synced``: the engine finished (``index``, ``guard``); every earlier problem of the source, of
  the target and of the Secrets it used is over (writes that failed stay in the entry's
  ``failed_writes``; ``retry_after`` when Google may get over them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from calsync_operator.api.status import SourceStatus
from calsync_operator.controller.rules.notices import Notice
from calsync_operator.sync.copyindex import CopyIndex
from calsync_operator.sync.planner import Plan

Problem = tuple[str, str]  # (condition reason, message naming the fix)
TARGET_PROBLEM = "target"  # the key of the target's problem: one, however many sources hit it


class StepKind(StrEnum):
    HELD = "held"
    NO_CLIENT = "no_client"
    AUTH_EXPIRED = "auth_expired"
    FAILED = "failed"
    SYNCED = "synced"


@dataclass(frozen=True)
class SourceOutcome:
    kind: StepKind
    entry: SourceStatus  # the source's new status entry
    notices: tuple[Notice, ...] = ()
    credential_problems: Mapping[str, Problem] = field(default_factory=dict)  # by Secret name
    channel_problem: str | None = None
    channels_checked: bool = False  # the channel step ran: ``channel_problem`` is current
    sync_problem: Problem | None = None
    target_problem: Problem | None = None  # the target could not be read (not this source's fault)
    retry_after: float | None = None  # a retryable failure: sync this source again after it
    quota_until: datetime | None = None
    index: CopyIndex | None = None  # the copy index after a finished sync
    guard: str | None = None  # the delete guard's message when it holds deletions back
    deletes_confirmed: bool = False  # confirm-delete lifted the guard in this step
    working_secrets: frozenset[str] = frozenset()  # Secrets whose clients did the work
    plan: Plan | None = None  # a dry run's plan


@dataclass(frozen=True)
class PassResult:
    """What the pass tells the handler that ran it."""

    outcomes: Mapping[str, SourceOutcome]  # by source key: the sources the pass looked at
    # Another replica wrote a newer status meanwhile (a reshard's overlap): this pass's status
    # was dropped and memory holds the newer one; whatever is still pending runs again from it.
    conflict: bool = False

    @property
    def retries(self) -> dict[str, float]:
        """Source key → seconds after which its failed sync is worth another pass."""
        return {key: o.retry_after for key, o in self.outcomes.items() if o.retry_after is not None}

    @property
    def retry_after(self) -> float | None:
        return min(self.retries.values(), default=None)
