"""Recurring events: RRULE/EXDATE expansion and Google's instance ids.

dateutil's ``rrule`` does the RFC 5545 arithmetic (FREQ, INTERVAL, COUNT, UNTIL, BYDAY, ...);
this module adapts Google's ``recurrence`` lines to it and builds the instance resources
Google would return, with ``recurringEventId`` and ``originalStartTime`` (their ids come from
``instanceids``). Expansion happens in the event's own time zone
so a 09:00 Berlin meeting stays at 09:00 across daylight-saving changes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import islice
from typing import Any

from dateutil.rrule import rruleset, rrulestr

from calsync_operator.emulator.times import EventTime, parse_event_time, zone

# Expansion without a timeMax stops here: Google also bounds open-ended series.
MAX_INSTANCES = 1000
_SUFFIX = re.compile(r"^(\d{8})(T\d{6}Z)?$")


class RecurrenceError(ValueError):
    """The ``recurrence`` lines cannot be expanded (Google answers 400 invalid)."""


def is_master(event: dict[str, Any]) -> bool:
    return bool(event.get("recurrence")) and not event.get("recurringEventId")


def instance_suffix(original: datetime | date) -> str:
    if isinstance(original, datetime):
        return original.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return original.strftime("%Y%m%d")


def split_instance_id(event_id: str) -> tuple[str, str] | None:
    """``("master", "20261125T090000Z")`` for an instance id, else None."""
    master, sep, suffix = event_id.rpartition("_")
    if not sep or not master or not _SUFFIX.match(suffix):
        return None
    return master, suffix


def _normalise_rrule(line: str, aware: bool) -> str:
    """dateutil wants UNTIL in UTC for a zoned DTSTART and floating for an all-day one."""

    def fix(match: re.Match[str]) -> str:
        value = match.group(1)
        if aware:
            if len(value) == 8:
                value += "T235959Z"
            elif not value.endswith("Z"):
                value += "Z"
        else:
            value = value[:8]
        return f"UNTIL={value}"

    return re.sub(r"UNTIL=([0-9TZ]+)", fix, line)


def _exdates(line: str, tz: tzinfo | None, aware: bool) -> Iterator[datetime | date]:
    head, _, values = line.partition(":")
    params = dict(p.split("=", 1) for p in head.split(";")[1:] if "=" in p)
    named = zone(params.get("TZID")) or tz
    for value in filter(None, values.split(",")):
        if len(value) == 8:
            yield datetime.strptime(value, "%Y%m%d").date()
            continue
        moment = datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S")
        if value.endswith("Z"):
            moment = moment.replace(tzinfo=UTC)
        elif named is not None:
            moment = moment.replace(tzinfo=named)
        if aware and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        elif not aware and moment.tzinfo is not None:
            moment = moment.replace(tzinfo=None)
        yield moment


class Series:
    """A master's occurrence generator; original start values in the master's zone."""

    def __init__(self, master: dict[str, Any]) -> None:
        try:
            self.start = parse_event_time(master.get("start"))
            self.end = parse_event_time(master.get("end"))
        except ValueError as exc:
            raise RecurrenceError(str(exc)) from exc
        self.duration = self.end.instant() - self.start.instant()
        aware = not self.start.all_day
        tz = self.start.value.tzinfo if isinstance(self.start.value, datetime) else None
        dtstart = (
            self.start.value
            if isinstance(self.start.value, datetime)
            else datetime(self.start.value.year, self.start.value.month, self.start.value.day)
        )
        rules = [
            _normalise_rrule(line, aware) for line in master.get("recurrence", []) if line.startswith("RRULE")
        ]
        if not rules:
            raise RecurrenceError("Invalid recurrence rule: no RRULE line.")
        self._excluded: set[datetime | date] = set()
        try:
            parsed = rrulestr("\n".join(rules), dtstart=dtstart, forceset=True)
            for line in master.get("recurrence", []):
                if line.startswith("EXDATE"):
                    self._excluded.update(_exdates(line, tz, aware))
        except (ValueError, TypeError) as exc:
            raise RecurrenceError(f"Invalid recurrence rule: {exc}") from exc
        assert isinstance(parsed, rruleset)
        self._set = parsed

    def _keep(self, moment: datetime) -> bool:
        if moment in self._excluded:
            return False
        return moment.date() not in self._excluded

    def _to_original(self, moment: datetime) -> datetime | date:
        return moment.date() if self.start.all_day else moment

    def _to_rule_time(self, moment: datetime) -> datetime:
        if self.start.all_day:
            return moment.astimezone(UTC).replace(tzinfo=None)
        return moment

    def occurrences(
        self, time_min: datetime | None = None, time_max: datetime | None = None, limit: int = MAX_INSTANCES
    ) -> list[datetime | date]:
        """Original starts whose occurrence overlaps [time_min, time_max), at most ``limit``."""
        after = self._to_rule_time(time_min - self.duration) if time_min else None
        found: list[datetime | date] = []
        iterator: Iterator[datetime] = (
            self._set.xafter(after, inc=False) if after is not None else iter(self._set)
        )
        for moment in islice(iterator, limit * 4):
            if time_max is not None and self._instant(moment) >= time_max:
                break
            if not self._keep(moment):
                continue
            if time_min is not None and self._instant(moment) + self.duration <= time_min:
                continue
            found.append(self._to_original(moment))
            if len(found) >= limit:
                break
        return found

    def _instant(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    def contains(self, original: datetime | date) -> bool:
        """Whether ``original`` is one of the series' (non-excluded) starts."""
        if isinstance(original, datetime):
            probe = original
            if isinstance(self.start.value, datetime):
                probe = original.astimezone(self.start.value.tzinfo)
        else:
            probe = datetime(original.year, original.month, original.day)
        window_start = probe - timedelta(seconds=1)
        for moment in self._set.xafter(window_start, inc=False):
            if self._instant(moment) > self._instant(probe):
                return False
            if self._instant(moment) == self._instant(probe):
                return self._keep(moment)
        return False

    def original_from_suffix(self, suffix: str) -> datetime | date | None:
        match = _SUFFIX.match(suffix)
        if not match:
            return None
        if self.start.all_day:
            return None if match.group(2) else datetime.strptime(suffix, "%Y%m%d").date()
        if not match.group(2):
            return None
        moment = datetime.strptime(suffix, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        assert isinstance(self.start.value, datetime)
        return moment.astimezone(self.start.value.tzinfo)

    def instance(self, master: dict[str, Any], original: datetime | date, event_id: str) -> dict[str, Any]:
        """The occurrence as Google returns it when nobody modified it (``event_id``: its id,
        see ``instanceids``)."""
        body = copy.deepcopy(master)
        body.pop("recurrence", None)
        tz_name = self.start.time_zone
        original_time = EventTime(original, tz_name if isinstance(original, datetime) else None)
        if isinstance(original, datetime):
            end: datetime | date = original + self.duration
        else:
            end = original + timedelta(days=self.duration.days or 1)
        body["id"] = event_id
        body["recurringEventId"] = master["id"]
        body["originalStartTime"] = original_time.to_json()
        body["start"] = original_time.to_json()
        body["end"] = EventTime(end, tz_name if isinstance(end, datetime) else None).to_json()
        return body
