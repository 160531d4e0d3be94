"""In-memory calendars with Google's event semantics; plain data in, plain data out, no I/O.

What clients rely on and the store therefore keeps exact:
- deletion is ``status: cancelled``; the id stays taken (insert -> 409 ``duplicate``), a second
  delete is 410 ``deleted``, ``get`` still returns the cancelled event;
- every change bumps a per-calendar sequence; a sync token remembers the sequence it was issued
  at, so an incremental list returns exactly the events changed since (deleted ones included);
  invalidating a calendar's tokens makes them answer 410 ``fullSyncRequired``;
- paging is consistent and ``nextSyncToken`` comes only on the last page (``paging``);
- recurring masters expand to instances with opaque ids (``instanceids``); writing to an
  instance id stores an exception; with ``singleEvents=true`` a deleted series shows up in
  incremental lists as its cancelled instances, not as its master;
- calendars exist only once created (``create_calendar``; a token's user has its ``primary``
  one): any other calendar id is 404 ``notFound``; writes Google refuses are refused
  (``refusals``).

The store is guarded by one lock: the HTTP app and the test's Python API share it. A stored
event dict is never mutated (every write stores a new one), so snapshots hold references and
only the page handed out is copied.
"""

from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from calsync_operator.emulator import refusals
from calsync_operator.emulator.errors import ApiError, bad_request
from calsync_operator.emulator.instanceids import InstanceIds
from calsync_operator.emulator.listing import ListQuery, matches_filters, start_key
from calsync_operator.emulator.paging import Pager, Snapshot, SyncState
from calsync_operator.emulator.recurrence import MAX_INSTANCES, Series, is_master
from calsync_operator.emulator.resource import Event, build_event, merge_patch, stamp, validate_event_id
from calsync_operator.emulator.resource import new_event_id as _new_event_id
from calsync_operator.emulator.times import now, overlaps, parse_event_time, parse_instant

# How far ahead a deleted series' cancelled instances reach in a singleEvents=true incremental
# list: Google lists about six months of them (google-api-ruby-client#860).
CANCELLED_INSTANCES_HORIZON = timedelta(days=183)


@dataclass
class Calendar:
    id: str
    resource_id: str = field(default_factory=lambda: uuid.uuid4().hex[:27])
    events: dict[str, Event] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    epoch: int = 0  # invalidate_sync_tokens() bumps it: older tokens answer 410
    primary: bool = False  # a user's primary calendar (status event types live only there)


class CalendarStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._calendars: dict[str, Calendar] = {}
        self.pager = Pager()
        self.ids = InstanceIds()

    # -- calendars -------------------------------------------------------------------------

    def create_calendar(self, calendar_id: str, *, primary: bool = False) -> Calendar:
        """Make a calendar exist (idempotent): Google's calendars are created, not conjured."""
        if not calendar_id or calendar_id == "primary":
            raise ValueError(f"not a calendar id: {calendar_id!r}")
        with self.lock:
            found = self._calendars.get(calendar_id)
            if found is None:
                found = self._calendars[calendar_id] = Calendar(calendar_id, primary=primary)
            found.primary = found.primary or primary
            return found

    def calendar(self, calendar_id: str) -> Calendar:
        """A calendar that exists; 404 ``notFound`` (Google's answer) for any other id."""
        with self.lock:
            found = self._calendars.get(calendar_id)
            if found is None:
                raise ApiError(404, "notFound", "Not Found")
            return found

    def calendar_ids(self) -> list[str]:
        with self.lock:
            return sorted(self._calendars)

    def reset(self) -> None:
        with self.lock:
            self._calendars.clear()
            self.pager.reset()
            self.ids.reset()

    def invalidate_sync_tokens(self, calendar_id: str) -> None:
        with self.lock:
            self.calendar(calendar_id).epoch += 1

    def events(self, calendar_id: str, include_cancelled: bool = False) -> list[Event]:
        """The stored events of a calendar (none for a calendar that does not exist)."""
        with self.lock:
            found = self._calendars.get(calendar_id)
            stored = found.events.values() if found is not None else ()
            return [copy.deepcopy(e) for e in stored if include_cancelled or e.get("status") != "cancelled"]

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
        parts = self.ids.resolve(event_id)
        master = cal.events.get(parts[0]) if parts else None
        if parts is None or master is None or not is_master(master):
            raise ApiError(404, "notFound", "Not Found")
        series = Series(master)
        original = series.original_from_suffix(parts[1])
        if original is None or not series.contains(original):
            raise ApiError(404, "notFound", "Not Found")
        return series.instance(master, original, event_id)

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
            wanted = _original_start(query.original_start)
            if is_master(master) and master.get("status") != "cancelled":
                for instance in self._expand(cal, master, query.time_min, query.time_max):
                    if instance.get("status") == "cancelled" and not query.show_deleted:
                        continue
                    if wanted is not None and _original_key(instance) != wanted:
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
        if state is None or state.calendar_id != cal.id:
            # A token this calendar never issued (garbage, or another calendar's): Google's
            # answer is not documented; clients must treat it like 410 (docs/emulator.md).
            raise bad_request("Invalid sync token value.", location="syncToken")
        if state.epoch != cal.epoch:
            raise ApiError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
        changed = sorted((cal.seqs[i], e) for i, e in cal.events.items() if cal.seqs[i] > state.seq)
        items: list[Event] = []
        for _, event in changed:
            if query.single_events and is_master(event):
                if event.get("status") != "cancelled":
                    items.extend(self._expand(cal, event, state.time_min, state.time_max))
                else:
                    items.extend(self._cancelled_instances(event, state.time_min, state.time_max))
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

    def _cancelled_instances(
        self, master: Event, time_min: datetime | None, time_max: datetime | None
    ) -> list[Event]:
        """A deleted series as ``singleEvents=true`` lists it: its instances, cancelled, up to
        about six months ahead (the master itself is not listed)."""
        horizon = now() + CANCELLED_INSTANCES_HORIZON
        series = Series(master)
        found = []
        for original in series.occurrences(time_min, min(time_max or horizon, horizon), MAX_INSTANCES):
            instance = series.instance(master, original, self.ids.make(master["id"], original))
            instance["status"] = "cancelled"
            found.append(instance)
        return found

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
            instance = series.instance(master, original, self.ids.make(master["id"], original))
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
            refusals.check_fields(body)
            refusals.check_new_type(body, primary=cal.primary, importing=False)
            event_id = body.get("id")
            if event_id is None:
                event_id = _new_event_id()
            else:
                validate_event_id(str(event_id))
                if event_id in cal.events:
                    raise ApiError(409, "duplicate", "The requested identifier already exists.")
            return self._save(cal, build_event(cal.id, str(event_id), body))

    def add_split_series(self, calendar_id: str, series: Event) -> Event:
        """Store the new series of a "this and following" split under the id Google gives it
        (``<old id>_R<time>``, not a client-chosen id); see ``splits``."""
        with self.lock:
            cal = self.calendar(calendar_id)
            refusals.check_fields(series)
            return self._save(cal, build_event(cal.id, str(series["id"]), series))

    def import_event(self, calendar_id: str, body: Event) -> Event:
        """events.import: an event with the same iCalUID is replaced, otherwise inserted."""
        with self.lock:
            cal = self.calendar(calendar_id)
            uid = body.get("iCalUID")
            if not uid:
                raise bad_request("Missing iCalUID.", "required", location="iCalUID")
            refusals.check_fields(body)
            refusals.check_new_type(body, primary=cal.primary, importing=True)
            organizer = body.get("organizer")  # import is the one write that may name another
            for existing in cal.events.values():
                if existing.get("iCalUID") == uid:
                    return self._save(cal, build_event(cal.id, existing["id"], body, existing, organizer))
            event_id = body.get("id")
            if event_id is not None:
                validate_event_id(str(event_id))
                if event_id in cal.events:
                    raise ApiError(409, "duplicate", "The requested identifier already exists.")
            new_id = str(event_id or _new_event_id())
            return self._save(cal, build_event(cal.id, new_id, body, None, organizer))

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
            replacement.setdefault("eventType", previous.get("eventType", "default"))
            self._check_change(cal, previous, replacement)
            return self._save(cal, build_event(cal.id, event_id, replacement, previous))

    def patch_event(self, calendar_id: str, event_id: str, body: Event) -> Event:
        with self.lock:
            cal = self.calendar(calendar_id)
            previous = self._current(cal, event_id)
            merged = merge_patch(previous, {k: v for k, v in body.items() if k != "id"})
            self._check_change(cal, previous, merged)
            return self._save(cal, build_event(cal.id, event_id, merged, previous))

    @staticmethod
    def _check_change(cal: Calendar, previous: Event, new: Event) -> None:
        refusals.check_fields(new)
        refusals.check_change(cal.id, previous, new)

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


def _original_start(value: str | None) -> datetime | str | None:
    """``events.instances``' ``originalStart``: an instant, or a date for all-day series."""
    if value is None:
        return None
    if len(value) == 10:
        return value
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise bad_request(f"Invalid value for originalStart: {value}", location="originalStart") from exc


def _original_key(instance: Event) -> datetime | str | None:
    original = instance.get("originalStartTime") or {}
    if "date" in original:
        return str(original["date"])
    try:
        return parse_event_time(original).instant()
    except ValueError:
        return None
