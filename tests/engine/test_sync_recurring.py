"""Recurring events end to end: the target shows the same occurrences as the source."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from calsync_operator.api.names import copy_event_id
from calsync_operator.api.spec import RecurringMode
from calsync_operator.emulator import EmulatorServer
from calsync_operator.sync.port import Event, WriteKind
from engine.conftest import World
from engine.factories import NOW, SRC_A, TARGET, attempted, rfc, source, spec

SRC = source(SRC_A, title_prefix="[A] ")
FIRST = NOW.replace(hour=9) + timedelta(days=2)  # 2026-11-27 09:00 UTC = 10:00 in Berlin
MASTER = "standup0001"


@pytest.fixture(autouse=True, params=["opaque", "legacy"])
def instance_ids(request: pytest.FixtureRequest, emulator: EmulatorServer) -> None:
    """Google's occurrence ids are opaque (the emulator's default); the legacy
    ``<id>_<start>`` format must work as well: the engine never reads or builds either."""
    emulator.instance_ids(request.param)


def weekly_series() -> Event:
    return {
        "id": MASTER,
        "summary": "Weekly sync",
        "location": "Room 1",
        "start": {"dateTime": "2026-11-27T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-11-27T10:30:00+01:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=8"],
    }


def occurrence(world: World, week: int) -> Event:
    return world.occurrence(SRC_A, MASTER, FIRST + timedelta(weeks=week))


def shown(world: World, calendar_id: str, master_id: str) -> list[tuple[Any, Any, str]]:
    """The expanded occurrences, as a person looking at the calendar sees them."""
    items = world.client(calendar_id).instances(calendar_id, master_id)
    return [(i["start"], i["end"], i.get("summary", "")) for i in items if i.get("status") != "cancelled"]


def test_series_with_moved_cancelled_and_retitled_occurrences(world: World) -> None:
    the_spec = spec(SRC)
    world.write(SRC_A, WriteKind.INSERT, [weekly_series()])
    world.sync(the_spec, SRC, now=NOW)  # the series first: exceptions then arrive incrementally

    moved = occurrence(world, 1)
    moved["start"] = {"dateTime": rfc(FIRST + timedelta(weeks=1, hours=3)), "timeZone": "Europe/Berlin"}
    moved["end"] = {"dateTime": rfc(FIRST + timedelta(weeks=1, hours=4)), "timeZone": "Europe/Berlin"}
    retitled = {**occurrence(world, 5), "summary": "Weekly sync (with guests)"}
    world.write(SRC_A, WriteKind.UPDATE, [moved, retitled])
    world.write(SRC_A, WriteKind.DELETE, [occurrence(world, 3)])

    outcome = world.sync(the_spec, SRC, now=NOW)

    assert (outcome.counts.updated, outcome.counts.deleted) == (2, 1)
    source_view = shown(world, SRC_A, MASTER)
    target_view = shown(world, TARGET, copy_event_id(TARGET, SRC_A, MASTER))
    assert len(source_view) == 7
    assert [(s, e) for s, e, _ in target_view] == [(s, e) for s, e, _ in source_view]
    assert [t for _, _, t in target_view] == ["[A] " + t for _, _, t in source_view]
    assert world.sync(the_spec, SRC, now=NOW).report.results == []  # settled: nothing more


def test_series_and_exceptions_in_one_full_pass_after_restart(world: World) -> None:
    the_spec = spec(SRC)
    world.write(SRC_A, WriteKind.INSERT, [weekly_series()])
    retitled = {**occurrence(world, 2), "summary": "Moved room"}
    world.write(SRC_A, WriteKind.UPDATE, [retitled])
    world.write(SRC_A, WriteKind.DELETE, [occurrence(world, 4)])

    world.sync(the_spec, SRC, now=NOW)
    target_master = copy_event_id(TARGET, SRC_A, MASTER)
    assert [t for _, _, t in shown(world, TARGET, target_master)] == [
        "[A] " + t for _, _, t in shown(world, SRC_A, MASTER)
    ]
    world.restart()
    again = world.sync(the_spec, SRC, now=NOW, force_full=True)
    assert [r for r in again.report.results if attempted(r)] == []


def test_instances_mode_copies_each_occurrence_in_the_window(world: World) -> None:
    the_spec = spec(SRC, recurring=RecurringMode.INSTANCES)
    world.write(SRC_A, WriteKind.INSERT, [weekly_series()])
    world.write(SRC_A, WriteKind.DELETE, [occurrence(world, 6)])

    outcome = world.sync(the_spec, SRC, now=NOW)

    copies = sorted(world.copies(TARGET), key=lambda e: e["start"]["dateTime"])
    assert outcome.counts.created == 7
    assert all("recurrence" not in c and "recurringEventId" not in c for c in copies)
    assert [c["start"] for c in copies] == [s for s, _, _ in shown(world, SRC_A, MASTER)]


def test_all_day_series_exception_lands_on_the_dated_occurrence(world: World) -> None:
    the_spec = spec(SRC)
    series = {
        "id": "climbing01",
        "summary": "Gym",
        "start": {"date": "2026-11-30"},
        "end": {"date": "2026-12-01"},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
    }
    world.write(SRC_A, WriteKind.INSERT, [series])
    second = world.occurrence(SRC_A, "climbing01", "2026-12-07")
    world.write(SRC_A, WriteKind.UPDATE, [{**second, "summary": "Gym (closed)"}])

    world.sync(the_spec, SRC, now=NOW)

    target_view = shown(world, TARGET, copy_event_id(TARGET, SRC_A, "climbing01"))
    assert [(s, t) for s, _, t in target_view] == [
        ({"date": "2026-11-30"}, "[A] Gym"),
        ({"date": "2026-12-07"}, "[A] Gym (closed)"),
        ({"date": "2026-12-14"}, "[A] Gym"),
        ({"date": "2026-12-21"}, "[A] Gym"),
    ]
