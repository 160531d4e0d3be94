"""Why the sync worker of a CalendarSync should run a pass now, or when to look again (pure).

Signals arrive as annotations (``push.calsync.dev/<key>`` from the webhook,
``calsync.dev/requested-at`` and ``calsync.dev/confirm-delete`` from users) and as deadlines (the
poll, a retry, the end of a channel overlap, a Secret change). A signal is pending while its
value differs from the one last handled — ``lastHandledPush`` / ``lastHandledRequestAt`` in
status, or the operator's memory when it is ahead of the watch. Everything pending is folded
into one ``PassRequest``, so any number of pushes that arrive during a running pass cause
exactly one more pass afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calsync_operator.api.names import CONFIRM_DELETE_ANNOTATION, REQUESTED_AT_ANNOTATION, push_annotation
from calsync_operator.api.spec import CalendarSyncSpec
from calsync_operator.api.status import sources_by_key
from calsync_operator.controller.rules.pass_request import PassRequest


@dataclass(frozen=True)
class Observed:
    """The object as a handler sees it: the parsed spec, the annotations, the status to start from."""

    spec: CalendarSyncSpec
    annotations: Mapping[str, str]
    status: Mapping[str, Any]


@dataclass(frozen=True)
class Signals:
    """What the worker knows besides the object: its memory's view of handled values and clocks."""

    handled_pushes: Mapping[str, str]
    handled_request_at: str | None
    guard_held: bool  # a delete guard is holding deletions back
    secrets_changed: bool
    next_poll: datetime | None
    retry_at: Mapping[str, datetime]  # source key → when its failed sync is tried again
    retire_at: Mapping[str, datetime]  # source key → when its previous channel's overlap ends


def pending_pushes(
    spec: CalendarSyncSpec,
    annotations: Mapping[str, str],
    status: Mapping[str, Any],
    handled: Mapping[str, str],
) -> dict[str, str]:
    """Source key → push annotation value, for sources whose latest push is not handled yet."""
    recorded = sources_by_key(status)
    pending: dict[str, str] = {}
    for source in spec.sources:
        value = annotations.get(push_annotation(source.calendar_id))
        if not value:
            continue
        entry = recorded.get(source.key)
        last = handled.get(source.key) or (entry.last_handled_push if entry else None)
        if value != last:
            pending[source.key] = value
    return pending


def requested_at(
    annotations: Mapping[str, str], status: Mapping[str, Any], handled: str | None
) -> str | None:
    """The ``requested-at`` value when it asks for a pass not done yet."""
    value = annotations.get(REQUESTED_AT_ANNOTATION)
    last = handled or status.get("lastHandledRequestAt")
    return value if value and value != last else None


def reconcile_request(
    observed: Observed, signals: Signals, *, reason: str, generation: int | None
) -> PassRequest:
    """The pass of kopf's reconcile (create, resume, spec change): every source, Secrets re-read.
    A spec change re-lists every source, so a new rendering reaches every existing copy."""
    spec, annotations, status = observed.spec, observed.annotations, observed.status
    seen = status.get("observedGeneration")
    return PassRequest(
        reason=reason,
        pushes=pending_pushes(spec, annotations, status, signals.handled_pushes),
        requested_at=requested_at(annotations, status, signals.handled_request_at),
        force_full=seen is not None and seen != generation,
        confirm_delete=CONFIRM_DELETE_ANNOTATION in annotations,
        reread_secrets=True,
    )


def next_request(observed: Observed, signals: Signals, now: datetime) -> PassRequest | None:
    """The pass to run now, or None when nothing is due."""
    spec, annotations, status = observed.spec, observed.annotations, observed.status
    if spec.suspend:
        return None  # the reconcile handler already stopped everything; only a spec change helps
    request_value = requested_at(annotations, status, signals.handled_request_at)
    # A pass over every source answers the pending pushes too; pushes handled before are left
    # out, so their old receipt times neither count as latency nor get recorded again.
    pushes = pending_pushes(spec, annotations, status, signals.handled_pushes)
    confirm = CONFIRM_DELETE_ANNOTATION in annotations and signals.guard_held
    poll_due = signals.next_poll is not None and now >= signals.next_poll
    if request_value or confirm or poll_due or signals.secrets_changed:
        reason = (
            "requested-at"
            if request_value
            else "confirm-delete"
            if confirm
            else "poll"
            if poll_due
            else "secret changed"
        )
        return PassRequest(
            reason=reason,
            pushes=pushes,
            requested_at=request_value,
            confirm_delete=CONFIRM_DELETE_ANNOTATION in annotations,
            reread_secrets=poll_due or signals.secrets_changed,
        )
    # Deadlines per source: only the sources whose moment came are synced.
    retrying = {key for key, deadline in signals.retry_at.items() if now >= deadline}
    retiring = {key for key, deadline in signals.retire_at.items() if now >= deadline}
    if pushes or retrying or retiring:
        return PassRequest(
            reason="push" if pushes else "retry" if retrying else "channel overlap ended",
            sources=frozenset(pushes) | frozenset(retrying) | frozenset(retiring),
            pushes=pushes,
            confirm_delete=CONFIRM_DELETE_ANNOTATION in annotations,
        )
    return None


def next_deadline(signals: Signals) -> datetime | None:
    """When the worker must look again even if nothing wakes it."""
    deadlines = [
        d
        for d in (signals.next_poll, *signals.retry_at.values(), *signals.retire_at.values())
        if d is not None
    ]
    return min(deadlines, default=None)
