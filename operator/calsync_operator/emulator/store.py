"""In-memory calendars with Google's event semantics; plain data in, plain data out, no I/O.

What clients rely on and the store therefore keeps exact:
- deletion is ``status: cancelled``; the id stays taken (insert -> 409 ``duplicate``), a second
  delete is 410 ``deleted``, ``get`` still returns the cancelled event;
- every change bumps a per-calendar sequence; a sync token remembers the sequence it was issued
  at, so an incremental list returns exactly the events changed since (deleted ones included);
  invalidating a calendar's tokens makes them answer 410 ``fullSyncRequired``;
- paging is consistent and ``nextSyncToken`` comes only on the last page (``paging``);
- recurring masters expand to instances; writing to an instance id stores an exception.

The store is guarded by one lock: the HTTP app and the test's Python API share it. A stored
event dict is never mutated (every write stores a new one), so snapshots hold references and
only the page handed out is copied.
"""

from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calsync_operator.emulator.errors import ApiError, bad_request
from calsync_operator.emulator.listing import ListQuery, matches_filters, start_key
from calsync_operator.emulator.paging import Pager, Snapshot, SyncState
from calsync_operator.emulator.recurrence import MAX_INSTANCES, Series, is_master, split_instance_id
from calsync_operator.emulator.resource import Event, build_event, merge_patch, stamp, validate_event_id
from calsync_operator.emulator.resource import new_event_id as _new_event_id
from calsync_operator.emulator.times import overlaps, parse_event_time


@dataclass
class Calendar:
    id: str
    resource_id: str = field(default_factory=lambda: uuid.uuid4().hex[:27])
    events: dict[str, Event] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    epoch: int = 0  # invalidate_sync_tokens() bumps it: older tokens answer 410


class CalendarStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._calendars: dict[str, Calendar] = {}
        self.pager = Pager()

    # -- calendars -------------------------------------------------------------------------

    def calendar(self, calendar_id: str) -> Calendar:
        """Calendars exist from first use, like a freshly shared Google calendar."""
        with self.lock:
            found = self._calendars.get(calendar_id)
            if found is None:
                found = self._calendars[calendar_id] = Calendar(calendar_id)
            return found

    def reset(self) -> None:
        with self.lock:
            self._calendars.clear()
            self.pager.reset()

    def invalidate_sync_tokens(self, calendar_id: str) -> None:
        with self.lock:
            self.calendar(calendar_id).epoch += 1

    def events(self, calendar_id: str, include_cancelled: bool = False) -> list[Event]:
        with self.lock:
            return [
                copy.deepcopy(e)
                for e in self.calendar(calendar_id).events.values()
                if include_cancelled or e.get("status") != "cancelled"
            ]

    def _save(self, cal: Calendar, event: Event) -> Event:
        cal.seq += 1
        cal.seqs[event["id"]] = cal.seq
        cal.events[event["id"]] = event
        return copy.deepcopy(event)

    # -- reads -----------------------------------------------------------------------------

    def get_event(self, calendar_id: str, event_id: str) -> Event:
        with self.lock:
            cal = self.calendar(calendar_id)
            found = cal.events.get(event_id)
            if found is not None:
                return copy.deepcopy(found)
            return self._virtual_instance(cal, event_id)

    def _virtual_instance(self, cal: Calendar, event_id: str) -> Event:
        parts = split_instance_id(event_id)
        master = cal.events.get(parts[0]) if parts else None
        if parts is None or master is None or not is_master(master):
            raise ApiError(404, "notFound", "Not Found")
        series = Series(master)
        original = series.original_from_suffix(parts[1])
        if original is None or not series.contains(original):
            raise ApiError(404, "notFound", "Not Found")
        return series.instance(master, original)

    def list_events(self, calendar_id: str, query: ListQuery) -> dict[str, Any]:
        with self.lock:
            cal = self.calendar(calendar_id)
            if query.page_token is None:
                if query.sync_token is not None:
                    snapshot = self._incremental(cal, query)
                else:
                    items = self._full(cal, query)
                    sync = SyncState(cal.id, cal.epoch, cal.seq, query.time_min, query.time_max)
                    snapshot = Snapshot(cal.id, query.signature, items, sync)
                return self.pager.page(snapshot, 0, query.max_results, f'"{cal.seq}"')
            return self._next_page(cal, query)

    def instances(self, calendar_id: str, event_id: str, query: ListQuery) -> dict[str, Any]:
        with self.lock:
            cal = self.calendar(calendar_id)
            if query.page_token is not None:
                return self._next_page(cal, query)
            master = cal.events.get(event_id)
            if master is None:
                raise ApiError(404, "notFound", "Not Found")
            items: list[Event] = []
            if is_master(master) and master.get("status") != "cancelled":
                for instance in self._expand(cal, master, query.time_min, query.time_max):
                    if instance.get("status") == "cancelled" and not query.show_deleted:
                        continue
                    original = instance.get("originalStartTime", {})
                    if query.original_start and query.original_start not in original.values():
                        continue
                    items.append(instance)
            snapshot = Snapshot(cal.id, query.signature, items, None)
            return self.pager.page(snapshot, 0, query.max_results, f'"{cal.seq}"')

    def _next_page(self, cal: Calendar, query: ListQuery) -> dict[str, Any]:
        assert query.page_token is not None
        snapshot, position = self.pager.resume(cal.id, query.page_token, query.signature)
        return self.pager.page(snapshot, position, query.max_results, f'"{cal.seq}"')

    def _incremental(self, cal: Calendar, query: ListQuery) -> Snapshot:
        assert query.sync_token is not None
        state = self.pager.sync_state(query.sync_token)
        if state is None or state.calendar_id != cal.id or state.epoch != cal.epoch:
            raise ApiError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
        changed = sorted((cal.seqs[i], e) for i, e in cal.events.items() if cal.seqs[i] > state.seq)
        items: list[Event] = []
        for _, event in changed:
            if query.single_events and is_master(event) and event.get("status") != "cancelled":
                items.extend(self._expand(cal, event, state.time_min, state.time_max))
            else:
                items.append(event)
        items = [e for e in items if matches_filters(e, query)]
        sync = SyncState(cal.id, cal.epoch, cal.seq, state.time_min, state.time_max)
        return Snapshot(cal.id, query.signature, items, sync)

    def _full(self, cal: Calendar, query: ListQuery) -> list[Event]:
        items: list[Event] = []
        for event in cal.events.values():
            cancelled = event.get("status") == "cancelled"
            if query.single_events:
                if is_master(event) and not cancelled:
                    items.extend(
                        i
                        for i in self._expand(
                            cal, event, query.time_min, query.time_max, own_exceptions=False
                        )
                        if matches_filters(i, query)
                    )
                    continue
                if cancelled and not query.show_deleted:
                    continue
            elif cancelled and not query.show_deleted and not self._cancelled_occurrence(cal, event):
                continue
            if matches_filters(event, query) and self._in_window(event, query):
                items.append(event)
        if query.order_by == "startTime":
            items.sort(key=start_key)
        elif query.order_by == "updated":
            items.sort(key=lambda e: (e["updated"], e["id"]))
        return items

    def _cancelled_occurrence(self, cal: Calendar, event: Event) -> bool:
        """Google lists cancelled instances of a live series even without showDeleted."""
        master = cal.events.get(event.get("recurringEventId", ""))
        return master is not None and master.get("status") != "cancelled"

    def _in_window(self, event: Event, query: ListQuery) -> bool:
        if query.time_min is None and query.time_max is None:
            return True
        if is_master(event):
            return bool(Series(event).occurrences(query.time_min, query.time_max, limit=1))
        try:
            start = parse_event_time(event.get("start") or event.get("originalStartTime")).instant()
            end = parse_event_time(event.get("end") or event.get("originalStartTime")).instant()
        except ValueError:
            return False
        return overlaps(start, end, query.time_min, query.time_max)

    def _expand(
        self,
        cal: Calendar,
        master: Event,
        time_min: datetime | None,
        time_max: datetime | None,
        own_exceptions: bool = True,
    ) -> list[Event]:
        """The series' occurrences in the window; stored exceptions replace their occurrence.
        With ``own_exceptions=False`` the caller lists exceptions itself (full lists do)."""
        series = Series(master)
        found: list[Event] = []
        for original in series.occurrences(time_min, time_max, MAX_INSTANCES):
            instance = series.instance(master, original)
            exception = cal.events.get(instance["id"])
            if exception is None:
                found.append(instance)
            elif own_exceptions:
                found.append(exception)
        return found

    # -- writes ----------------------------------------------------------------------------

    def insert_event(self, calendar_id: str, body: Event) -> Event:
        with self.lock:
            cal = self.calendar(calendar_id)
            event_id = body.get("id")
            if event_id is None:
                event_id = _new_event_id()
            else:
                validate_event_id(str(event_id))
                if event_id in cal.events:
                    raise ApiError(409, "duplicate", "The requested identifier already exists.")
            return self._save(cal, build_event(cal.id, str(event_id), body))

    def import_event(self, calendar_id: str, body: Event) -> Event:
        """events.import: an event with the same iCalUID is replaced, otherwise inserted."""
        with self.lock:
            cal = self.calendar(calendar_id)
            uid = body.get("iCalUID")
            if not uid:
                raise bad_request("Missing iCalUID.", "required", location="iCalUID")
            for existing in cal.events.values():
                if existing.get("iCalUID") == uid:
                    return self._save(cal, build_event(cal.id, existing["id"], body, existing))
            event_id = body.get("id")
            if event_id is not None:
                validate_event_id(str(event_id))
                if event_id in cal.events:
                    raise ApiError(409, "duplicate", "The requested identifier already exists.")
            return self._save(cal, build_event(cal.id, str(event_id or _new_event_id()), body))

    def _current(self, cal: Calendar, event_id: str) -> Event:
        """The stored event, or the virtual instance a write turns into an exception."""
        found = cal.events.get(event_id)
        return found if found is not None else self._virtual_instance(cal, event_id)

    def update_event(self, calendar_id: str, event_id: str, body: Event) -> Event:
        with self.lock:
            cal = self.calendar(calendar_id)
            previous = self._current(cal, event_id)
            replacement = dict(body)
            for key in ("recurringEventId", "originalStartTime"):
                if key in previous:
                    replacement[key] = previous[key]
            return self._save(cal, build_event(cal.id, event_id, replacement, previous))

    def patch_event(self, calendar_id: str, event_id: str, body: Event) -> Event:
        with self.lock:
            cal = self.calendar(calendar_id)
            previous = self._current(cal, event_id)
            merged = merge_patch(previous, {k: v for k, v in body.items() if k != "id"})
            return self._save(cal, build_event(cal.id, event_id, merged, previous))

    def delete_event(self, calendar_id: str, event_id: str) -> Event:
        with self.lock:
            cal = self.calendar(calendar_id)
            previous = self._current(cal, event_id)
            if previous.get("status") == "cancelled":
                raise ApiError(410, "deleted", "Resource has been deleted")
            cancelled = copy.deepcopy(previous)
            cancelled["status"] = "cancelled"
            stamp(cancelled)
            if is_master(previous):
                for other in list(cal.events.values()):
                    if other.get("recurringEventId") == event_id and other.get("status") != "cancelled":
                        other = copy.deepcopy(other)
                        other["status"] = "cancelled"
                        stamp(other)
                        self._save(cal, other)
            return self._save(cal, cancelled)
