"""The demo's script: a few events a person creates, edits, moves and deletes in the source
calendars of ``examples/calendarsync.yaml``, and what the target must show after each change.

Pure data and pure predicates: the runner performs a ``Change`` through the Google API and then
waits until ``arrived(change, target_events)`` holds. Copies are found by the tag every copy
carries (``extendedProperties.private.calsyncEvent`` = the source event id), the same way the
operator recognises them. Times are relative to the day the demo runs, so every event is
inside the example's sync window (7 days back, 365 ahead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from calsync_operator.api.names import TAG_EVENT

PERSONAL = "alice.personal@example.com"
WORK = "alice@work.example.com"
CENTRAL = "alice.central@example.com"
# The example's Secrets and the refresh token each one holds (tokens for the emulator).
TOKENS = {
    "personal-token": "rt-demo-personal",
    "work-token": "rt-demo-work",
    "central-token": "rt-demo-central",
}
SOURCE_TOKENS = {PERSONAL: "rt-demo-personal", WORK: "rt-demo-work"}
# Whose calendar each refresh token opens: Alice's three calendars (the emulator, like Google,
# knows only calendars that exist).
USERS = {"rt-demo-personal": PERSONAL, "rt-demo-work": WORK, "rt-demo-central": CENTRAL}
PREFIXES = {PERSONAL: "[home] ", WORK: "[work] "}
SHORT_NAMES = {PERSONAL: "personal", WORK: "work", CENTRAL: "central"}


class Kind(StrEnum):
    CREATE = "create"
    EDIT = "edit"
    MOVE = "move"
    DELETE = "delete"


@dataclass(frozen=True)
class Change:
    """One edit of a source calendar, and the copy the target must show afterwards."""

    kind: Kind
    calendar_id: str
    event_id: str
    label: str  # what a person reads: 'create "Dentist" (personal)'
    body: Mapping[str, Any] | None = None  # the insert body, or the patch
    expect_title: str | None = None  # None: the copy must be gone
    expect_start: str | None = None
    expect_copy: bool = True


@dataclass(frozen=True)
class Story:
    seed: tuple[Change, ...]  # events that exist before the CalendarSync is applied
    changes: tuple[Change, ...] = field(default=())


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event(event_id: str, title: str, day: date, start: tuple[int, int], minutes: int) -> dict[str, Any]:
    begin = datetime.combine(day, time(*start), tzinfo=UTC)
    return {
        "id": event_id,
        "summary": title,
        "start": {"dateTime": _at(day, *start)},
        "end": {"dateTime": (begin + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


def _create(
    calendar_id: str, event_id: str, title: str, day: date, start: tuple[int, int], minutes: int
) -> Change:
    return Change(
        Kind.CREATE,
        calendar_id,
        event_id,
        f'create "{title}" ({SHORT_NAMES[calendar_id]})',
        _event(event_id, title, day, start, minutes),
        PREFIXES[calendar_id] + title,
        _at(day, *start),
    )


def demo_story(today: date) -> Story:
    """Two seeded events, then five changes: two creates, an edit, a move and a delete.
    (Event ids use Google's base32hex alphabet: 0-9 and a-v.)"""
    tomorrow, later = today + timedelta(days=1), today + timedelta(days=2)
    yoga = _create(PERSONAL, "demo0001", "Yoga", tomorrow, (7, 0), 60)
    planning = _create(WORK, "demo0002", "Sprint planning", tomorrow, (13, 0), 90)
    dentist = _create(PERSONAL, "demo0003", "Dentist", later, (9, 0), 60)
    standup = _create(WORK, "demo0004", "Standup", tomorrow, (9, 30), 15)
    changes = (
        dentist,
        standup,
        Change(
            Kind.EDIT,
            PERSONAL,
            dentist.event_id,
            'rename "Dentist" to "Dentist (bring X-rays)" (personal)',
            {"summary": "Dentist (bring X-rays)"},
            "[home] Dentist (bring X-rays)",
            dentist.expect_start,
        ),
        Change(
            Kind.MOVE,
            WORK,
            standup.event_id,
            'move "Standup" to 11:00 (work)',
            {"start": {"dateTime": _at(tomorrow, 11)}, "end": {"dateTime": _at(tomorrow, 11, 15)}},
            "[work] Standup",
            _at(tomorrow, 11),
        ),
        Change(Kind.DELETE, PERSONAL, yoga.event_id, 'delete "Yoga" (personal)', expect_copy=False),
    )
    return Story(seed=(yoga, planning), changes=changes)


def copy_of(event_id: str, target_events: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The live copy of a source event in the target, found by its calsync tag."""
    for event in target_events:
        tags = (event.get("extendedProperties") or {}).get("private") or {}
        if tags.get(TAG_EVENT) == event_id and event.get("status") != "cancelled":
            return event
    return None


def arrived(change: Change, target_events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the target shows the outcome of ``change``."""
    copy = copy_of(change.event_id, target_events)
    if not change.expect_copy:
        return copy is None
    if copy is None:
        return False
    start = (copy.get("start") or {}).get("dateTime")
    return copy.get("summary") == change.expect_title and _same_instant(start, change.expect_start)


def _same_instant(actual: object, expected: str | None) -> bool:
    if expected is None:
        return True
    if not isinstance(actual, str):
        return False
    return datetime.fromisoformat(actual.replace("Z", "+00:00")) == datetime.fromisoformat(
        expected.replace("Z", "+00:00")
    )
