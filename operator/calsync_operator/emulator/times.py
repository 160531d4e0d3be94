"""Time values as Calendar v3 writes them: RFC 3339 instants and event start/end objects.

An event's ``start``/``end`` is either ``{"date": "2026-11-25"}`` (all-day) or
``{"dateTime": "...", "timeZone": "Europe/Berlin"}``. The emulator's calendars live in UTC,
so an all-day event covers its date in UTC when compared against ``timeMin``/``timeMax``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def now() -> datetime:
    return datetime.now(UTC)


def format_instant(moment: datetime) -> str:
    """``updated``/``created`` style: UTC with milliseconds, like Google's responses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    """RFC 3339 with a mandatory offset (``Z`` or ``+01:00``); ``ValueError`` otherwise."""
    value = datetime.fromisoformat(text.replace("z", "Z"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone offset")
    return value


def zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class EventTime:
    """One side of an event: an all-day date or an aware instant (in its own zone)."""

    value: datetime | date
    time_zone: str | None = None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.value, datetime)

    def instant(self) -> datetime:
        """A comparable UTC instant; an all-day date starts at midnight UTC."""
        if isinstance(self.value, datetime):
            return self.value.astimezone(UTC)
        return datetime(self.value.year, self.value.month, self.value.day, tzinfo=UTC)

    def to_json(self) -> dict[str, str]:
        if isinstance(self.value, datetime):
            text = self.value.isoformat()
            if text.endswith("+00:00") and self.time_zone in (None, "UTC", "Etc/UTC"):
                text = text[: -len("+00:00")] + "Z"  # how Google writes UTC times
            body = {"dateTime": text}
            if self.time_zone:
                body["timeZone"] = self.time_zone
            return body
        return {"date": self.value.isoformat()}


def parse_event_time(raw: Any) -> EventTime:
    """``ValueError`` with Google's wording when the object is not a usable start/end."""
    if not isinstance(raw, dict):
        raise ValueError("Missing time.")
    tz_name = raw.get("timeZone")
    if raw.get("date"):
        return EventTime(date.fromisoformat(str(raw["date"])), None)
    if raw.get("dateTime"):
        value = datetime.fromisoformat(str(raw["dateTime"]).replace("z", "Z"))
        named = zone(tz_name)
        if tz_name and named is None:
            raise ValueError(f"Invalid time zone definition: {tz_name}.")
        if value.tzinfo is None:
            if named is None:
                raise ValueError("Missing time zone definition for start time.")
            value = value.replace(tzinfo=named)
        elif named is not None:
            value = value.astimezone(named)
        return EventTime(value, tz_name)
    raise ValueError("Missing time.")


def overlaps(start: datetime, end: datetime, time_min: datetime | None, time_max: datetime | None) -> bool:
    """Google's window test: the event ends after timeMin and starts before timeMax."""
    if time_min is not None and end <= time_min:
        return False
    return not (time_max is not None and start >= time_max)
