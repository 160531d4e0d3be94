"""The sync decision as a pure function: (source changes, existing copies, spec) → a Plan.

No I/O happens here, so every rule of docs/design.md §4 is tested on plain dicts: deterministic copy
ids, render hashes (an unchanged event plans nothing), loop prevention and filters (skips with
a reason; a copy whose event became filtered out is deleted), recurring series (exceptions
are written onto the copied series' occurrences, named by occurrence key — the executor looks
up Google's opaque id — after the series itself), invite
delivery, source cleanup (deleting an original only once everything it depends on was
confirmed written) and the sweep after a full listing. The delete guard is ``deleteguard``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from calsync_operator.api.names import copy_event_id, occurrence_key
from calsync_operator.api.spec import CalendarSyncSpec, Delivery, RecurringMode, Source, SourceCleanup
from calsync_operator.sync.copyindex import CopyEntry, CopyIndex, is_occurrence_key
from calsync_operator.sync.filters import SkipReason, outside_window, skip_reason
from calsync_operator.sync.port import Event
from calsync_operator.sync.render import invite_patch, render_copy


class OpKind(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    INVITE = "invite"
    DELETE_SOURCE = "deleteSource"
    SKIP = "skip"


@dataclass(frozen=True)
class PlannedOp:
    """One decision. ``copy_id`` is the target event's copy id, or the occurrence key of an
    occurrence of a copied series (``identity.occurrence_key``: the executor finds Google's id);
    ``requires`` lists the keys of writes that must be confirmed first."""

    kind: OpKind
    source_event_id: str
    copy_id: str = ""
    body: Event | None = None
    reason: str = ""
    requires: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.copy_id or f"{self.kind}:{self.source_event_id}"

    @property
    def on_instance(self) -> bool:
        return is_occurrence_key(self.copy_id)

    @property
    def deletes_copy(self) -> bool:
        return self.kind is OpKind.DELETE and not self.on_instance


@dataclass(frozen=True)
class Plan:
    ops: tuple[PlannedOp, ...] = ()

    def of(self, kind: OpKind) -> list[PlannedOp]:
        return [op for op in self.ops if op.kind is kind]

    def counts(self) -> dict[str, int]:
        return {kind.value: sum(1 for op in self.ops if op.kind is kind) for kind in OpKind}

    def without_copy_deletes(self) -> Plan:
        return Plan(tuple(op for op in self.ops if not op.deletes_copy))


def _latest(events: Iterable[Event]) -> list[Event]:
    """One entry per event id, the last one listed winning (incremental lists may repeat)."""
    by_id: dict[str, Event] = {}
    for event in events:
        by_id.pop(str(event["id"]), None)
        by_id[str(event["id"])] = event
    return list(by_id.values())


class _Planner:
    def __init__(self, index: CopyIndex, spec: CalendarSyncSpec, source: Source, now: datetime) -> None:
        self.index, self.spec, self.source, self.now = index, spec, source, now
        self.ops: list[PlannedOp] = []
        self.series_ready: set[str] = set()  # master copy ids present or written in this plan
        self.series_gone: set[str] = set()  # master copy ids deleted in this plan
        self.originals: list[str] = []  # copied or invited originals (not occurrences)
        self.requires: dict[str, list[str]] = {}  # original's source id → keys of its writes
        self.keep_copies = spec.source_cleanup is SourceCleanup.DELETE
        self.deleting: set[str] = set()  # target ids already planned for deletion
        self._occurrence_copies: dict[str, list[tuple[str, CopyEntry]]] | None = None

    def copy_id(self, source_event_id: str) -> str:
        return copy_event_id(self.spec.target.calendar_id, self.source.calendar_id, source_event_id)

    def add(self, op: PlannedOp) -> PlannedOp:
        self.ops.append(op)
        return op

    def delete(self, source_id: str, target_id: str, reason: str) -> None:
        """Plan one deletion per target id (a series and its occurrences may both be listed)."""
        if target_id not in self.deleting:
            self.deleting.add(target_id)
            self.add(PlannedOp(OpKind.DELETE, source_id, target_id, reason=reason))

    def occurrence_copies(self, series_source_id: str) -> list[tuple[str, CopyEntry]]:
        """``instances`` mode: the live copies of one series' occurrences."""
        if self._occurrence_copies is None:
            self._occurrence_copies = self.index.occurrences_by_series()
        return self._occurrence_copies.get(series_source_id, [])

    def event(self, event: Event) -> None:
        """A single event, a series master, or (``instances`` mode) one occurrence."""
        source_id, copy_id = str(event["id"]), self.copy_id(str(event["id"]))
        existing = self.index.live(copy_id)
        if event.get("status") == "cancelled":
            # Under sourceCleanup=delete the copy outlives its original by design.
            if self.keep_copies:
                return
            if existing is not None:
                self.delete(source_id, copy_id, "sourceDeleted")
                self.series_gone.add(copy_id)
            if self.spec.recurring is RecurringMode.INSTANCES and not event.get("recurringEventId"):
                # A deleted series: its occurrences were copied one by one, under their own ids,
                # and Google need not list each of them as cancelled.
                for occurrence_copy_id, entry in self.occurrence_copies(source_id):
                    self.delete(entry.source_event_id, occurrence_copy_id, "seriesDeleted")
            return
        reason = skip_reason(event, self.spec.filters, self.now)
        if reason is not None:
            if existing is not None and reason is not SkipReason.OWN_COPY:
                self.delete(source_id, copy_id, f"filtered:{reason}")
                self.series_gone.add(copy_id)
            else:
                self.add(PlannedOp(OpKind.SKIP, source_id, reason=reason.value))
            return
        if self.spec.delivery is Delivery.INVITE:
            self.invite(event)
            return
        self.series_ready.add(copy_id)
        self.copied(event, self.write(event, copy_id, existing))

    def copied(self, event: Event, keys: list[str]) -> None:
        if not event.get("recurringEventId"):
            self.originals.append(str(event["id"]))
        self.requires.setdefault(str(event["id"]), []).extend(keys)

    def invite(self, event: Event) -> None:
        email = self.spec.target.email or ""
        patch = invite_patch(event, email)
        keys = []
        if patch is not None:
            keys.append(self.add(PlannedOp(OpKind.INVITE, str(event["id"]), body=patch)).key)
        self.copied(event, keys)

    def write(
        self, event: Event, copy_id: str, existing: CopyEntry | None, master_copy_id: str | None = None
    ) -> list[str]:
        body = render_copy(event, self.spec, self.source, copy_id=copy_id, master_copy_id=master_copy_id)
        new_hash = body["extendedProperties"]["private"]["calsyncHash"]
        if existing is not None and existing.hash == new_hash:
            return []
        # An occurrence of a copied series always exists (Google materialises it on write).
        kind = OpKind.UPDATE if existing is not None or master_copy_id is not None else OpKind.INSERT
        return [self.add(PlannedOp(kind, str(event["id"]), copy_id, body)).key]

    def exception(self, event: Event) -> None:
        """A changed or cancelled occurrence of a series (``series`` mode)."""
        source_id, master_source_id = str(event["id"]), str(event["recurringEventId"])
        master_copy_id = self.copy_id(master_source_id)
        # Never Google's id (opaque): the occurrence is named by its series and original start.
        target_id = occurrence_key(master_copy_id, event.get("originalStartTime") or {})
        ready = master_copy_id in self.series_ready or (
            master_copy_id not in self.series_gone and self.index.live(master_copy_id) is not None
        )
        if target_id is None or not ready:
            if event.get("status") != "cancelled":
                self.add(PlannedOp(OpKind.SKIP, source_id, reason=SkipReason.SERIES_NOT_COPIED.value))
            return
        existing = self.index.entries.get(target_id)
        if event.get("status") == "cancelled":
            if not (existing is not None and existing.cancelled) and not self.keep_copies:
                self.delete(source_id, target_id, "occurrenceCancelled")
            return
        if skip_reason(event, self.spec.filters, self.now, check_window=False) is not None:
            if existing is None or not existing.cancelled:
                self.delete(source_id, target_id, "occurrenceFiltered")
            return
        current = existing if existing is not None and not existing.cancelled else None
        keys = self.write(event, target_id, current, master_copy_id=master_copy_id)
        self.requires.setdefault(master_source_id, []).extend(keys)

    def sweep(self, listed: Sequence[Event], alive: Collection[str]) -> None:
        """After a full listing: delete copies whose source event no longer exists."""
        if self.keep_copies:
            return
        for copy_id, entry in sweep_candidates(self.index, listed, self.spec, self.now):
            if entry.source_event_id not in alive:
                self.delete(entry.source_event_id, copy_id, "sweep")

    def cleanup(self) -> None:
        """``sourceCleanup: delete``: originals go last, each after its own writes (and those of
        its series' exceptions). Occurrences are never deleted one by one: that would cancel
        them in the source series instead of moving them."""
        if self.spec.source_cleanup is not SourceCleanup.DELETE:
            return
        for source_id in self.originals:
            requires = tuple(self.requires.get(source_id, ()))
            self.add(PlannedOp(OpKind.DELETE_SOURCE, source_id, requires=requires))


def sweep_candidates(
    index: CopyIndex, listed: Sequence[Event], spec: CalendarSyncSpec, now: datetime
) -> list[tuple[str, CopyEntry]]:
    """Live copies whose source was not in a full listing although the listing's window covers
    them. Copied series are candidates whatever their dates; in ``series`` mode the engine
    double-checks those with a get before the sweep (a series that ended before the window is
    not listed). Only events the mode copies under their own id count as listed: after a switch
    of ``recurring`` mode, the other mode's copies (a copied series in ``instances`` mode, an
    occurrence's own copy in ``series`` mode) are swept, or each occurrence would show twice."""
    window = spec.filters.window
    series_mode = spec.recurring is RecurringMode.SERIES
    listed_ids = {str(e["id"]) for e in listed if not (series_mode and e.get("recurringEventId"))}
    return [
        (copy_id, entry)
        for copy_id, entry in index.live_copies()
        if entry.source_event_id not in listed_ids
        and (entry.recurring or not outside_window(entry.start, entry.end, window, now))
    ]


def plan_source_changes(
    changed: Sequence[Event],
    index: CopyIndex,
    spec: CalendarSyncSpec,
    source: Source,
    now: datetime,
    *,
    full_listing: bool = False,
    alive: Collection[str] = (),
) -> Plan:
    """Plan one pass for one source.

    ``changed`` is an incremental listing, or with ``full_listing`` everything in the window
    (then copies whose source is gone are swept, except those whose source id is in ``alive``:
    sources the caller confirmed to exist outside the listing).
    """
    planner = _Planner(index, spec, source, now)
    events = _latest(changed)
    series_mode = spec.recurring is RecurringMode.SERIES
    occurrences = [e for e in events if series_mode and e.get("recurringEventId")]
    for event in events:
        if not (series_mode and event.get("recurringEventId")):
            planner.event(event)
    for event in occurrences:
        if spec.delivery is Delivery.INVITE:
            planner.event(event)
        else:
            planner.exception(event)
    if full_listing and spec.delivery is Delivery.COPY:
        planner.sweep(events, alive)
    planner.cleanup()
    return Plan(tuple(planner.ops))
