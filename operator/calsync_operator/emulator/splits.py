""" "This and following events": what Google Calendar does when a user edits a series from one
occurrence on. The API has no method for it (clients do it with two writes); Google Calendar's
own edit ends the old series before that occurrence and creates a new series whose id is
``<old id>_R<yyyymmddThhmmss>`` (``instanceids.split_series_id``). Sync clients then see a
shortened master and a new series, and when the new series is deleted, only its id.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

from calsync_operator.emulator.errors import ApiError
from calsync_operator.emulator.instanceids import split_series_id
from calsync_operator.emulator.recurrence import Series, is_master
from calsync_operator.emulator.store import CalendarStore
from calsync_operator.emulator.times import EventTime, zone

Event = dict[str, Any]
_SERVER_OWNED = ("id", "iCalUID", "etag", "updated", "created", "htmlLink", "sequence", "kind")


def _rule_parts(line: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in line.removeprefix("RRULE:").split(";") if "=" in p)


def _rule(parts: dict[str, str]) -> str:
    return "RRULE:" + ";".join(f"{k}={v}" for k, v in parts.items())


def _until(split_at: datetime | date) -> str:
    if isinstance(split_at, datetime):
        return (split_at.astimezone(UTC) - timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    return (split_at - timedelta(days=1)).strftime("%Y%m%d")


def split_series(
    store: CalendarStore, calendar_id: str, master_id: str, split_at: datetime | date, changes: Event
) -> Event:
    """Split ``master_id`` at the occurrence that starts at ``split_at``; the new series (with
    ``changes`` applied) is returned."""
    with store.lock:
        master = store.get_event(calendar_id, master_id)
        if not is_master(master) or master.get("status") == "cancelled":
            raise ApiError(400, "invalid", f"{master_id} is not a live recurring event")
        series = Series(master)
        if not series.contains(split_at):
            raise ApiError(400, "invalid", f"{master_id} has no occurrence at {split_at}")
        split_instant = EventTime(split_at).instant()
        before = len(series.occurrences(None, split_instant))
        old_rules, new_rules = [], []
        for line in master.get("recurrence", []):
            if not line.startswith("RRULE"):
                old_rules.append(line)
                new_rules.append(line)
                continue
            parts = _rule_parts(line)
            count = parts.pop("COUNT", None)
            old_rules.append(
                _rule({**{k: v for k, v in parts.items() if k != "UNTIL"}, "UNTIL": _until(split_at)})
            )
            new_rules.append(_rule({**parts, "COUNT": str(int(count) - before)} if count else parts))
        shortened = {**master, "recurrence": old_rules}
        store.update_event(calendar_id, master_id, shortened)
        duration = series.end.instant() - series.start.instant()
        zone_name = master["start"].get("timeZone")
        new = {k: copy.deepcopy(v) for k, v in master.items() if k not in _SERVER_OWNED}
        if isinstance(split_at, datetime):
            local = split_at.astimezone(zone(zone_name) or UTC)
            new["start"] = EventTime(local, zone_name).to_json()
            new["end"] = EventTime(local + duration, zone_name).to_json()
        else:
            new["start"] = {"date": split_at.isoformat()}
            new["end"] = {"date": (split_at + timedelta(days=max(1, duration.days))).isoformat()}
        new.update(copy.deepcopy(changes))
        new["recurrence"] = new_rules
        new["id"] = split_series_id(master_id, EventTime(split_at).instant())
        return store.add_split_series(calendar_id, new)
