"""Changes to an already copied event, end to end: the copy follows, or goes, never goes stale.

Each test arranges a synced state, changes the source (or the spec) once, syncs, and compares
what a person sees in the target with what they see in the source.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

from calsync_operator.api.names import copy_event_id
from calsync_operator.api.spec import RecurringMode
from calsync_operator.sync.port import Event, WriteKind
from engine.conftest import World
from engine.factories import NOW, SRC_A, TARGET, all_day, attempted, rfc, source, spec, timed

SRC = source(SRC_A, title_prefix="[A] ")


def copy_of(world: World, event_id: str) -> Event | None:
    copy_id = copy_event_id(TARGET, SRC_A, event_id)
    return next((e for e in world.copies(TARGET, SRC_A) if e["id"] == copy_id), None)


def shown(world: World, calendar_id: str, master_id: str) -> list[tuple[Any, str]]:
    items = world.client(calendar_id).instances(calendar_id, master_id)
    return [(i["start"], i.get("summary", "")) for i in items if i.get("status") != "cancelled"]


def test_event_moved_out_of_the_window_loses_its_copy_and_gets_it_back(world: World) -> None:
    the_spec = spec(SRC)
    world.write(SRC_A, WriteKind.INSERT, [timed("mover00001", hours_from_now=24)])
    world.sync(the_spec, SRC, now=NOW)
    far = NOW + timedelta(days=400)
    moved = {
        **timed("mover00001"),
        "start": {"dateTime": rfc(far)},
        "end": {"dateTime": rfc(far + timedelta(hours=1))},
    }
    world.write(SRC_A, WriteKind.UPDATE, [moved])

    outcome = world.sync(the_spec, SRC, now=NOW)

    assert outcome.counts.deleted == 1
    assert copy_of(world, "mover00001") is None
    world.write(SRC_A, WriteKind.UPDATE, [timed("mover00001", "Back", hours_from_now=48)])
    world.sync(the_spec, SRC, now=NOW)
    back = copy_of(world, "mover00001")
    assert back is not None
    assert back["summary"] == "[A] Back"


def test_event_type_no_longer_copied_removes_the_copy(world: World) -> None:
    """Google never changes an event's type (the emulator refuses it too), so a copy of one type
    goes when the spec stops copying that type."""
    the_spec = spec(SRC)  # copies default, outOfOffice and focusTime events
    world.write(SRC_A, WriteKind.INSERT, [timed("kind000001", eventType="outOfOffice")])
    world.sync(the_spec, SRC, now=NOW)
    assert copy_of(world, "kind000001") is not None
    default_only = replace(the_spec, filters=replace(the_spec.filters, event_types=("default",)))

    world.sync(default_only, SRC, now=NOW, force_full=True)

    assert copy_of(world, "kind000001") is None


def test_title_filter_added_to_the_spec_removes_matching_copies(world: World) -> None:
    the_spec = spec(SRC)
    world.write(SRC_A, WriteKind.INSERT, [timed("keep000001", "Planning"), timed("drop000001", "Lunch")])
    world.sync(the_spec, SRC, now=NOW)
    stricter = replace(the_spec, filters=replace(the_spec.filters, title_exclude=re.compile("Lunch")))

    world.sync(stricter, SRC, now=NOW, force_full=True)

    assert copy_of(world, "drop000001") is None
    assert copy_of(world, "keep000001") is not None
    world.write(SRC_A, WriteKind.UPDATE, [timed("keep000001", "Lunch with the team")])
    world.sync(stricter, SRC, now=NOW)
    assert copy_of(world, "keep000001") is None


def test_timed_event_becomes_all_day_and_back(world: World) -> None:
    the_spec = spec(SRC)
    world.write(SRC_A, WriteKind.INSERT, [timed("shape00001", hours_from_now=30)])
    world.sync(the_spec, SRC, now=NOW)
    world.write(SRC_A, WriteKind.UPDATE, [all_day("shape00001", summary="Offsite")])

    world.sync(the_spec, SRC, now=NOW)
    day = copy_of(world, "shape00001")
    assert day is not None
    assert (day["start"], day["summary"]) == ({"date": "2026-12-01"}, "[A] Offsite")

    world.write(SRC_A, WriteKind.UPDATE, [timed("shape00001", "Call", hours_from_now=30)])
    world.sync(the_spec, SRC, now=NOW)
    timed_again = copy_of(world, "shape00001")
    assert timed_again is not None
    assert "dateTime" in timed_again["start"]
    assert "date" not in timed_again["start"]


SERIES_START = NOW.replace(hour=9) + timedelta(days=2)


def weekly(count: int, **extra: Any) -> Event:
    return {
        "id": "series0001",
        "summary": "Review",
        "start": {"dateTime": rfc(SERIES_START), "timeZone": "UTC"},
        "end": {"dateTime": rfc(SERIES_START + timedelta(minutes=30)), "timeZone": "UTC"},
        "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"],
        **extra,
    }


def test_shortened_series_drops_occurrences_with_exceptions(world: World) -> None:
    the_spec = spec(SRC)
    world.write(SRC_A, WriteKind.INSERT, [weekly(6)])
    fifth = world.occurrence(SRC_A, "series0001", SERIES_START + timedelta(weeks=4))
    assert fifth is not None
    world.write(SRC_A, WriteKind.UPDATE, [{**fifth, "summary": "Review (long)"}])
    world.sync(the_spec, SRC, now=NOW)
    world.write(SRC_A, WriteKind.UPDATE, [weekly(3)])

    outcome = world.sync(the_spec, SRC, now=NOW)

    assert outcome.report is not None
    assert not outcome.report.failures
    target_master = copy_event_id(TARGET, SRC_A, "series0001")
    assert [t for _, t in shown(world, TARGET, target_master)] == [
        "[A] " + t for _, t in shown(world, SRC_A, "series0001")
    ]
    world.restart()
    again = world.sync(the_spec, SRC, now=NOW, force_full=True)
    assert again.report is not None
    assert [r for r in again.report.results if attempted(r)] == []


def test_instances_mode_series_deleted_removes_every_occurrence_copy(world: World) -> None:
    the_spec = spec(SRC, recurring=RecurringMode.INSTANCES)
    world.write(SRC_A, WriteKind.INSERT, [weekly(4)])
    world.sync(the_spec, SRC, now=NOW)
    assert len(world.copies(TARGET, SRC_A)) == 4
    world.write(SRC_A, WriteKind.DELETE, [weekly(4)])

    world.sync(the_spec, SRC, now=NOW)

    assert world.copies(TARGET, SRC_A) == []


def test_instances_mode_shortened_series_loses_the_dropped_occurrence_copies(world: World) -> None:
    the_spec = spec(SRC, recurring=RecurringMode.INSTANCES)
    world.write(SRC_A, WriteKind.INSERT, [weekly(5)])
    world.sync(the_spec, SRC, now=NOW)
    world.write(SRC_A, WriteKind.UPDATE, [weekly(2, summary="Review (short)")])

    world.sync(the_spec, SRC, now=NOW)

    copies = sorted(world.copies(TARGET, SRC_A), key=lambda e: e["start"]["dateTime"])
    assert [(c["start"]["dateTime"], c["summary"]) for c in copies] == [
        (rfc(SERIES_START + timedelta(weeks=w)), "[A] Review (short)") for w in range(2)
    ]


def test_series_switched_between_all_day_and_timed_shows_the_same_occurrences(world: World) -> None:
    the_spec = spec(SRC)
    days = {**weekly(4), "start": {"date": "2026-11-30"}, "end": {"date": "2026-12-01"}}
    world.write(SRC_A, WriteKind.INSERT, [days])
    second = world.occurrence(SRC_A, "series0001", "2026-12-07")
    world.write(SRC_A, WriteKind.UPDATE, [{**second, "summary": "Review (moved)"}])
    world.sync(the_spec, SRC, now=NOW)
    world.write(SRC_A, WriteKind.UPDATE, [weekly(4)])

    world.sync(the_spec, SRC, now=NOW)

    target_master = copy_event_id(TARGET, SRC_A, "series0001")
    source_view = shown(world, SRC_A, "series0001")
    assert shown(world, TARGET, target_master) == [(s, "[A] " + t) for s, t in source_view]
    assert all("dateTime" in s for s, _ in source_view)


def visible(world: World, calendar_id: str) -> list[tuple[str, str]]:
    """Every occurrence a person sees (series expanded), as (start, title), in order."""
    client = world.client(calendar_id)
    listing = client.list_events(calendar_id, single_events=True)
    return sorted(
        (e["start"].get("dateTime", e["start"].get("date", "")), e.get("summary", ""))
        for e in listing.events
        if e.get("status") != "cancelled"
    )


def test_switching_recurring_mode_leaves_each_occurrence_shown_once(world: World) -> None:
    series_spec = spec(SRC)
    world.write(SRC_A, WriteKind.INSERT, [weekly(4)])
    third = world.occurrence(SRC_A, "series0001", SERIES_START + timedelta(weeks=2))
    assert third is not None
    world.write(SRC_A, WriteKind.UPDATE, [{**third, "summary": "Review (demo)"}])
    expected = [(start, "[A] " + title) for start, title in visible(world, SRC_A)]
    world.sync(series_spec, SRC, now=NOW)
    assert visible(world, TARGET) == expected

    instances_spec = replace(series_spec, recurring=RecurringMode.INSTANCES)
    world.sync(instances_spec, SRC, now=NOW, force_full=True)
    assert visible(world, TARGET) == expected

    # Later than the delete guard's hour: two switches within it add up (1 + 4 copies deleted).
    world.sync(series_spec, SRC, now=NOW + timedelta(hours=2), force_full=True)
    assert visible(world, TARGET) == expected


def test_series_copied_again_after_a_filter_gets_its_exceptions_back(world: World) -> None:
    the_spec = spec(SRC)
    the_spec = replace(the_spec, filters=replace(the_spec.filters, title_exclude=re.compile("Private")))
    world.write(SRC_A, WriteKind.INSERT, [weekly(4)])
    third = world.occurrence(SRC_A, "series0001", SERIES_START + timedelta(weeks=2))
    assert third is not None
    world.write(SRC_A, WriteKind.UPDATE, [{**third, "summary": "Review (demo)"}])
    world.sync(the_spec, SRC, now=NOW)
    world.write(SRC_A, WriteKind.UPDATE, [weekly(4, summary="Review Private")])
    world.sync(the_spec, SRC, now=NOW)
    assert visible(world, TARGET) == []

    world.write(SRC_A, WriteKind.UPDATE, [weekly(4, summary="Review")])
    world.sync(the_spec, SRC, now=NOW)

    assert visible(world, TARGET) == [(start, "[A] " + title) for start, title in visible(world, SRC_A)]
