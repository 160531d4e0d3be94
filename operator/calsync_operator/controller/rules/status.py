"""The CalendarSync status as plain data, and the smallest patch that brings it up to date.

A pass computes the whole desired status from what it knows (per-source sync state, channels,
conditions, the dry-run plan) with ``build_status``; ``status_patch`` then compares it with the
status the object already has and returns a JSON merge patch of only the changed fields — an
empty dict when nothing changed, so an idle poll writes nothing. Lists (``conditions``,
``sources``) are replaced whole, as merge patches do; a field that disappears becomes ``None``.

Every field written here is declared in ``crds/calendarsync.yaml`` (kopf pitfall: the API
server silently prunes undeclared status fields).

``guarded_status_write`` turns that into a write that cannot silently overwrite a newer
status: ``status.revision`` counts the writes, and each write is a JSON patch that first tests
the revision it was computed from (the first write tests ``metadata.resourceVersion``). Two
replicas that briefly serve one CalendarSync (a reshard, a failover) cannot both win: the
second gets a conflict, re-reads, and syncs again from the newer status (docs/operator.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calsync_operator.api.conditions import format_time
from calsync_operator.api.status import SourceStatus
from calsync_operator.api.times import try_parse_time
from calsync_operator.sync.planner import OpKind, Plan, PlannedOp

REVISION = "revision"  # status.revision: incremented by every status write
PLAN_OPERATIONS_LIMIT = 100  # the CRD's maxItems for status.plan.operations


def build_status(
    *,
    generation: int | None,
    conditions: Sequence[Mapping[str, Any]],
    sources: Iterable[SourceStatus],
    last_handled_request_at: str | None,
    plan: Mapping[str, Any] | None,
    shard: str | None = None,
) -> dict[str, Any]:
    """The complete desired status; fields with nothing to say are left out."""
    entries = list(sources)
    status: dict[str, Any] = {
        "conditions": [dict(c) for c in conditions],
        "sourceCount": len(entries),
        "sources": [entry.to_status() for entry in entries],
        "eventsSynced": sum(e.counts.created + e.counts.updated for e in entries),
    }
    if generation is not None:
        status["observedGeneration"] = generation
    last_sync = _latest(e.last_sync_time for e in entries)
    if last_sync is not None:
        status["lastSyncTime"] = last_sync
    expiries = [e.channel.expiration for e in entries if e.channel is not None]
    if expiries:
        status["nextChannelExpiry"] = format_time(min(expiries))
    if last_handled_request_at:
        status["lastHandledRequestAt"] = last_handled_request_at
    if plan is not None:
        status["plan"] = dict(plan)
    if shard is not None:
        status["shard"] = shard
    return status


@dataclass(frozen=True)
class StatusWrite:
    """The JSON patch to send (empty: nothing changed) and the status it leaves behind."""

    operations: list[dict[str, Any]]
    status: dict[str, Any]


def guarded_status_write(
    current: Mapping[str, Any] | None, desired: Mapping[str, Any], resource_version: str | None
) -> StatusWrite:
    """Replace the status with ``desired`` only if it is still ``current``: a ``test`` of
    ``status.revision`` (or, before the first guarded write, of the resourceVersion), then the
    whole status with the revision plus one. Nothing to send when only the revision differs."""
    before = {k: v for k, v in (current or {}).items() if k != REVISION}
    wanted = {k: v for k, v in desired.items() if k != REVISION}
    revision = (current or {}).get(REVISION)
    known = revision if isinstance(revision, int) and not isinstance(revision, bool) else None
    if not status_patch(before, wanted):
        return StatusWrite([], {**wanted, REVISION: known} if known is not None else wanted)
    written = {**wanted, REVISION: (known or 0) + 1}
    operations: list[dict[str, Any]] = []
    if known is not None:
        operations.append({"op": "test", "path": f"/status/{REVISION}", "value": known})
    elif resource_version:
        operations.append({"op": "test", "path": "/metadata/resourceVersion", "value": resource_version})
    operations.append({"op": "add", "path": "/status", "value": written})
    return StatusWrite(operations, written)


def status_to_start_from(known: Mapping[str, Any] | None, watched: Mapping[str, Any]) -> Mapping[str, Any]:
    """The status a pass starts from (and diffs against): ``known``, the one this replica last
    wrote or re-read, because the watch may not show it yet — unless the watch shows a higher
    ``status.revision``: another replica wrote since (a reshard's overlap), and its status is
    the newer one. Diffing against the older one would make an idle pass write nothing and
    leave the other replica's ``status.shard`` in place long after that replica stopped."""
    if known is None:
        return watched
    return watched if _revision(watched) > _revision(known) else known


def _revision(status: Mapping[str, Any]) -> int:
    value = status.get(REVISION)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def same_status(ours: Mapping[str, Any] | None, theirs: Mapping[str, Any] | None) -> bool:
    """Whether two statuses are the same write (same revision, same fields)."""
    return (ours or {}).get(REVISION) == (theirs or {}).get(REVISION) and not status_patch(ours, theirs or {})


def status_patch(current: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch turning ``current`` into ``desired``; ``{}`` when they are equal."""
    return _merge_patch(current or {}, desired)


def _merge_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = _merge_patch(old, value)
            if nested:
                patch[key] = nested
        elif old != value:
            patch[key] = value
    for key in current:
        if key not in desired:
            patch[key] = None
    return patch


def _latest(times: Iterable[str | None]) -> str | None:
    parsed = [(moment, text) for text in times if text and (moment := try_parse_time(text)) is not None]
    return max(parsed, key=lambda pair: pair[0])[1] if parsed else None


def plan_status(
    plans: Sequence[tuple[str, Plan]], now: datetime, limit: int = PLAN_OPERATIONS_LIMIT
) -> dict[str, Any]:
    """``status.plan`` for a dry run: counts over every source and the first ``limit`` operations
    (titles as they would be written, so ``busy`` privacy holds in status too)."""
    counts = {kind.value: 0 for kind in OpKind}
    operations: list[dict[str, str]] = []
    total = 0
    for calendar_id, plan in plans:
        for kind, count in plan.counts().items():
            counts[kind] = counts.get(kind, 0) + count
        for op in plan.ops:
            if op.kind is OpKind.SKIP:
                continue
            total += 1
            if len(operations) < limit:
                operations.append(_plan_operation(calendar_id, op))
    return {
        "computedAt": format_time(now),
        "counts": counts,
        "truncated": total > limit,
        "operations": operations,
    }


def _plan_operation(calendar_id: str, op: PlannedOp) -> dict[str, str]:
    item = {"op": op.kind.value, "sourceCalendarId": calendar_id, "eventId": op.source_event_id}
    if op.copy_id:
        item["copyId"] = op.copy_id
    if op.body is not None and "summary" in op.body:
        item["summary"] = str(op.body["summary"])[:1024]
    if op.reason:
        item["reason"] = op.reason[:1024]
    return item
