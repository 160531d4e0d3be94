"""The window rolls: with an injected clock (``now=``), day after day, never by waiting.

Incremental listings carry only events that changed; a full listing at least once a day
(``rolling``) brings what time moves into the window, and the sweep and the occurrence check
take away what is gone (docs/sync.md, "The window rolls")."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from calsync_operator.api.spec import RecurringMode, Window
from calsync_operator.sync.filters import parse_event_time
from calsync_operator.sync.port import Event, WriteKind
from engine.conftest import World
from engine.factories import NOW, SRC_A, TARGET, rfc, source, spec, timed

SRC = source(SRC_A)


def future_copies(world: World, now: datetime, days: int) -> list[datetime]:
    starts = [parse_event_time(e.get("start")) for e in world.copies(TARGET, SRC_A)]
    return sorted(s for s in starts if s is not None and now <= s < now + timedelta(days=days))


def daily_series(event_id: str, **extra: object) -> Event:
    start = NOW.replace(hour=9)  # an hour after NOW
    return {
        "id": event_id,
        "summary": "Standup",
        "start": {"dateTime": rfc(start), "timeZone": "UTC"},
        "end": {"dateTime": rfc(start + timedelta(minutes=15)), "timeZone": "UTC"},
        **extra,
    }


def test_an_event_beyond_the_window_is_copied_once_it_enters(world: World) -> None:
    the_spec = spec(SRC)  # futureDays 365
    world.sync(the_spec, SRC, now=NOW)
    world.write(SRC_A, WriteKind.INSERT, [timed("later00001", hours_from_now=400 * 24)])
    first = world.sync(the_spec, SRC, now=NOW + timedelta(hours=1))  # incremental: listed, outside
    assert not first.full_sync
    assert [op.reason for op in first.plan.ops] == ["outsideWindow"]

    copied_on = None
    for day in range(1, 40):
        outcome = world.sync(the_spec, SRC, now=NOW + timedelta(days=day))
        assert outcome.full_sync  # once a day, in this source's slot
        if world.copies(TARGET, SRC_A):
            copied_on = day
            break

    assert copied_on == 36  # 400 days ahead enters a 365-day window after 35 days


def test_between_two_full_listings_passes_are_incremental(world: World) -> None:
    the_spec = spec(SRC)
    fulls = [world.sync(the_spec, SRC, now=NOW + timedelta(hours=h)).full_sync for h in range(0, 49)]

    assert fulls[0]
    assert 2 <= sum(fulls) <= 3  # the first pass, then once in each day's slot


def test_instances_mode_keeps_future_days_of_copies_day_after_day(world: World) -> None:
    the_spec = spec(SRC, recurring=RecurringMode.INSTANCES)
    the_spec = replace(
        the_spec, filters=replace(the_spec.filters, window=Window(past_days=0, future_days=14))
    )
    world.write(SRC_A, WriteKind.INSERT, [daily_series("repeat0001", recurrence=["RRULE:FREQ=DAILY"])])

    counts = []
    for day in (0, 7, 14, 21, 60):
        now = NOW + timedelta(days=day)
        world.sync(the_spec, SRC, now=now)
        counts.append(len(future_copies(world, now, 14)))

    assert counts == [14, 14, 14, 14, 14]


def test_a_deleted_series_in_instances_mode_leaves_no_ghost_copies(world: World) -> None:
    """Google lists about six months of a deleted series' cancelled instances: the copies of the
    occurrences beyond them must go too."""
    the_spec = spec(SRC, recurring=RecurringMode.INSTANCES)
    world.write(SRC_A, WriteKind.INSERT, [daily_series("repeat0002", recurrence=["RRULE:FREQ=WEEKLY"])])
    world.sync(the_spec, SRC, now=NOW)
    assert len(world.copies(TARGET, SRC_A)) == 53  # a year of weeks, today included
    world.write(SRC_A, WriteKind.DELETE, [{"id": "repeat0002"}])

    outcome = world.sync(the_spec, SRC, now=NOW + timedelta(hours=1), confirm_delete=True)

    assert not outcome.full_sync
    assert outcome.counts.deleted == 53
    assert world.copies(TARGET, SRC_A) == []
