"""One sync pass for one source: the sync-token state machine around plan → guard → execute.

State is plain data handed in and returned (``api.status.SourceStatus``: the operator keeps it
in ``status.sources[]``) plus the in-memory ``CopyIndex`` (the operator keeps it in kopf's memo and
passes None after a restart: one listing of the target rebuilds it). Nothing touches local disk.

The machine (docs/sync.md): no token → full listing in the window → sweep → store
nextSyncToken; token → incremental listing; 410 (``SyncTokenExpired``, also a 400 on a token
Google does not understand) → full listing and sweep; and at least once a day (``rolling``: one
slot per source, spread over the day) a full listing again, so the window rolls and remembered
failures are retried. The new token
is stored only when the pass is settled, so a crash, an abort, a retryable write failure or a
tripped delete guard leaves the old token in place and the next pass sees the same changes
again — idempotent writes (deterministic ids, render hashes) make that replay free.

Errors that stop a pass (auth, quota, listing failures) propagate: the operator maps them to
conditions and retries (a target that cannot be listed raises ``TargetUnreadable``: the target
is to blame, not the source); per-write failures end up in ``lastError`` and are remembered in
``failedWrites`` (``writefailures``). Passes are blocking (run
them with ``asyncio.to_thread``) and must not overlap for one source: the index is updated in
place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from calsync_operator.api.conditions import format_time
from calsync_operator.api.names import TAG_SOURCE, copy_event_id
from calsync_operator.api.records import DeleteWindow, FailedWrite
from calsync_operator.api.spec import CalendarSyncSpec, Delivery, RecurringMode, Source, SourceCleanup
from calsync_operator.api.status import Counts, SourceStatus
from calsync_operator.api.times import try_parse_time
from calsync_operator.sync.copyindex import CopyIndex
from calsync_operator.sync.deleteguard import DeleteGuard, judge_deletes
from calsync_operator.sync.executor import ExecutionReport, PlanExecutor
from calsync_operator.sync.filters import outside_window, skip_reason, window_bounds
from calsync_operator.sync.planner import OpKind, Plan, plan_source_changes, sweep_candidates
from calsync_operator.sync.port import (
    CalendarClient,
    Event,
    GoogleError,
    ListResult,
    QuotaExhausted,
    SyncTokenExpired,
)
from calsync_operator.sync.rolling import DEFAULT_INTERVAL, full_sync_due
from calsync_operator.sync.writefailures import failed_write, settle


@dataclass(frozen=True)
class SyncOutcome:
    state: SourceStatus
    index: CopyIndex
    plan: Plan  # what was decided (before the guard held deletions back)
    report: ExecutionReport | None  # None for a dry run
    guard: DeleteGuard
    full_sync: bool

    @property
    def counts(self) -> Counts:
        """This pass's counts (``state.counts`` holds the totals)."""
        return self.report.counts if self.report is not None else Counts()


class TargetUnreadable(GoogleError):
    """The target calendar could not be listed: the target is to blame, not the source."""

    def __init__(self, target_calendar_id: str, error: GoogleError) -> None:
        super().__init__(error.status, error.reason, error.message, retry_after=error.retry_after)
        self.target_calendar_id = target_calendar_id


def load_copy_index(
    target_client: CalendarClient, target_calendar_id: str, source_calendar_id: str
) -> CopyIndex:
    """Rebuild the index of one source's copies from the target (one filtered listing)."""
    try:
        listing = target_client.list_events(
            target_calendar_id, private_extended_property=f"{TAG_SOURCE}={source_calendar_id}"
        )
    except QuotaExhausted:
        raise  # the credential's daily limit, handled as such
    except GoogleError as exc:
        raise TargetUnreadable(target_calendar_id, exc) from exc
    return CopyIndex.from_listing(source_calendar_id, listing.events)


def _confirmed_alive(
    source_client: CalendarClient,
    source: Source,
    index: CopyIndex,
    listed: list[Event],
    spec: CalendarSyncSpec,
    now: datetime,
) -> set[str]:
    """Copied series a full listing did not return but whose source still exists (a series
    whose last occurrence is before the window): one get each, only on a sweep."""
    alive: set[str] = set()
    for _copy_id, entry in sweep_candidates(index, listed, spec, now):
        if entry.recurring:
            event = source_client.get_event(source.calendar_id, entry.source_event_id)
            if event is not None and event.get("status") != "cancelled":
                alive.add(entry.source_event_id)
    return alive


def _dropped_occurrences(
    source_client: CalendarClient,
    source: Source,
    index: CopyIndex,
    changed: list[Event],
    spec: CalendarSyncSpec,
    now: datetime,
) -> list[Event]:
    """``instances`` mode, incremental pass: occurrences a series edit removed (a shorter RRULE,
    a moved series), as cancellations. The listing shows the occurrences a changed series still
    has, not those it lost, so each series with listed occurrences and existing copies is read
    once with ``events.instances`` in the window; copies of occurrences it no longer has go.
    A deleted series is listed as cancelled instances, but only about six months of them
    (google-api-ruby-client#860): the same read finds the series gone, and the copies of its
    occurrences further ahead go too."""
    series_ids = {str(e["recurringEventId"]) for e in changed if e.get("recurringEventId")}
    if not series_ids:
        return []
    by_series = index.occurrences_by_series()
    listed = {str(e["id"]) for e in changed}
    low, high = window_bounds(spec.filters.window, now)
    dropped: list[Event] = []
    for series_id in sorted(series_ids & by_series.keys()):
        instances = source_client.instances(
            source.calendar_id, series_id, time_min=format_time(low), time_max=format_time(high)
        )
        alive = {str(i["id"]) for i in instances if i.get("status") != "cancelled"}
        for _copy_id, entry in by_series[series_id]:
            occurrence_id = entry.source_event_id
            if occurrence_id in alive or occurrence_id in listed:
                continue
            if not outside_window(entry.start, entry.end, spec.filters.window, now):
                dropped.append({"id": occurrence_id, "status": "cancelled", "recurringEventId": series_id})
    return dropped


def _exceptions_of_recopied_series(
    source_client: CalendarClient,
    source: Source,
    index: CopyIndex,
    changed: list[Event],
    spec: CalendarSyncSpec,
    now: datetime,
) -> list[Event]:
    """``series`` mode, incremental pass: the exceptions of series whose copy is (re)created.

    Deleting a series' copy (its event was filtered out, or deleted and restored) cancels the
    copy's exceptions with it, and an incremental listing shows the master coming back, not its
    unchanged exceptions: without them, the modified occurrences would stay missing in the
    target. One listing by iCalUID per such series (a brand-new series costs that call too)."""
    found: list[Event] = []
    for event in changed:
        if event.get("status") == "cancelled" or not event.get("recurrence") or not event.get("iCalUID"):
            continue
        copy_id = copy_event_id(spec.target.calendar_id, source.calendar_id, str(event["id"]))
        if index.live(copy_id) is not None or skip_reason(event, spec.filters, now) is not None:
            continue
        listing = source_client.list_events(source.calendar_id, ical_uid=str(event["iCalUID"]))
        found.extend(e for e in listing.events if e.get("recurringEventId") == event["id"])
    return found


def _list_changes(
    source_client: CalendarClient,
    spec: CalendarSyncSpec,
    source: Source,
    state: SourceStatus,
    now: datetime,
    *,
    force_full: bool,
) -> tuple[ListResult, bool]:
    """The source's changes since the sync token, or the whole window (then True): without a
    token, when asked, or when Google expired the token (410)."""
    single_events = spec.recurring is RecurringMode.INSTANCES
    if not force_full and state.sync_token:
        try:
            listing = source_client.list_events(
                source.calendar_id, sync_token=state.sync_token, single_events=single_events
            )
            return listing, False
        except SyncTokenExpired:
            pass
    low, high = window_bounds(spec.filters.window, now)
    listing = source_client.list_events(
        source.calendar_id, time_min=format_time(low), time_max=format_time(high), single_events=single_events
    )
    return listing, True


def _complete_changes(
    source_client: CalendarClient,
    spec: CalendarSyncSpec,
    source: Source,
    index: CopyIndex,
    changed: list[Event],
    now: datetime,
    *,
    full: bool,
) -> tuple[list[Event], set[str]]:
    """What the planner needs beyond the listing: series still alive outside the window (a
    sweep), occurrences a deleted series dropped, exceptions of a series copied again."""
    copying = spec.delivery is Delivery.COPY
    single_events = spec.recurring is RecurringMode.INSTANCES
    alive: set[str] = set()
    deleting_copies = copying and spec.source_cleanup is SourceCleanup.KEEP
    if full:
        if deleting_copies and not single_events:  # only a series-mode sweep needs it
            alive = _confirmed_alive(source_client, source, index, changed, spec, now)
    elif single_events:
        if deleting_copies:  # on a full pass, the sweep removes these
            changed += _dropped_occurrences(source_client, source, index, changed, spec, now)
    elif copying:  # on a full pass, the listing holds every exception in the window
        # Listed events come last: the later entry of an id wins in the planner.
        changed = _exceptions_of_recopied_series(source_client, source, index, changed, spec, now) + changed
    return changed, alive


def sync_source(
    *,
    spec: CalendarSyncSpec,
    source: Source,
    state: SourceStatus,
    source_client: CalendarClient,
    target_client: CalendarClient | None,
    now: datetime,
    index: CopyIndex | None = None,
    confirm_delete: bool = False,
    force_full: bool = False,
    batch_size: int = 1000,
    between_batches: Callable[[], None] | None = None,
    full_sync_interval: timedelta | None = DEFAULT_INTERVAL,
    spread_key: str | None = None,
) -> SyncOutcome:
    """Run one pass for ``source`` and return the new state (``state`` itself is not changed).

    ``force_full`` re-lists the window (the operator passes it after a spec change, so that a
    new rendering — privacy, prefix, filters — reaches every existing copy); ``confirm_delete``
    lifts the delete guard (the ``calsync.dev/confirm-delete`` annotation). ``index``: the copy
    index the previous pass returned; None after a restart (one listing of the target rebuilds it).
    The window rolls: a full listing is due once per ``full_sync_interval`` after
    ``lastFullSyncTime``, in the slot ``spread_key`` (default: the source's key) gets in it.
    """
    copying = spec.delivery is Delivery.COPY
    if index is None:
        index = (
            load_copy_index(target_client, spec.target.calendar_id, source.calendar_id)
            if copying and target_client is not None
            else CopyIndex(source.calendar_id)
        )
    rolled = full_sync_due(
        try_parse_time(state.last_full_sync_time), now, spread_key or state.key, full_sync_interval
    )
    listing, full = _list_changes(source_client, spec, source, state, now, force_full=force_full or rolled)
    events = list(listing.events)
    changed, alive = _complete_changes(source_client, spec, source, index, events, now, full=full)
    plan = plan_source_changes(changed, index, spec, source, now, full_listing=full, alive=alive)
    live_before = index.live_count()
    guard = _judge(plan, live_before, spec, source, state, now)
    held = guard.tripped and not confirm_delete
    if spec.dry_run:
        return SyncOutcome(state, index, plan, None, guard, full)
    report = PlanExecutor(
        source_client=source_client,
        target_client=target_client,
        source_calendar_id=source.calendar_id,
        target_calendar_id=spec.target.calendar_id,
        index=index,
        batch_size=batch_size,
        between_batches=between_batches,
    ).run(plan.without_copy_deletes() if held else plan)
    window = _window_after(state.delete_window, guard, report, now, live_before, confirm_delete)
    new_state = _after_pass(state, listing, report, guard, window, _ids(changed), now, full=full, held=held)
    return SyncOutcome(new_state, index, plan, report, guard, full)


def _after_pass(
    state: SourceStatus,
    listing: ListResult,
    report: ExecutionReport,
    guard: DeleteGuard,
    window: DeleteWindow,
    listed: set[str],
    now: datetime,
    *,
    full: bool,
    held: bool,
) -> SourceStatus:
    """The source's state after an executed pass: the token moves only when the pass settled."""
    settled = not held and report.retryable_failures == 0
    return replace(
        state,
        sync_token=listing.next_sync_token if settled else (None if full else state.sync_token),
        last_sync_time=format_time(now),
        last_full_sync_time=format_time(now) if full else state.last_full_sync_time,
        counts=state.counts + report.counts,
        last_error=(guard.message if held else None) or report.error_summary(),
        delete_window=window,
        held_deletes=guard.deletes if held else 0,
        # Non-retryable failures let the token move on only because they are remembered here.
        failed_writes=settle(
            state.failed_writes, _failures(report), listed, full_listing=full, now=format_time(now)
        ),
    )


def _ids(events: list[Event]) -> set[str]:
    return {str(e["id"]) for e in events}


def _judge(
    plan: Plan, live: int, spec: CalendarSyncSpec, source: Source, state: SourceStatus, now: datetime
) -> DeleteGuard:
    """The delete guard over this pass's copy deletions and the window's earlier ones."""
    return judge_deletes(
        source_calendar_id=source.calendar_id,
        planned=sum(1 for op in plan.ops if op.deletes_copy),
        live_copies=live,
        max_fraction=spec.max_delete_fraction,
        window=state.delete_window,
        now=now,
    )


def _failures(report: ExecutionReport) -> list[FailedWrite]:
    """The pass's failures to remember; an original kept because its copy failed (no error of
    its own) is that copy's failure, counted once."""
    return [
        failed_write(r.op.kind.value, r.op.source_event_id, r.error)
        for r in report.failures
        if r.error is not None or r.op.kind is not OpKind.DELETE_SOURCE
    ]


def _window_after(
    window: DeleteWindow,
    guard: DeleteGuard,
    report: ExecutionReport,
    now: datetime,
    live_before: int,
    confirmed: bool,
) -> DeleteWindow:
    """The delete guard's window after this pass: a confirmed release starts a new one."""
    if guard.tripped and confirmed:
        return DeleteWindow()
    deleted = sum(1 for r in report.results if r.ok and r.op.deletes_copy)
    return window.after(now, live_before, deleted)
