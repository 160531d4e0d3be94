"""The delete guard over a sliding hour: a calendar emptied one event at a time trips it exactly
as one emptied at once (docs/sync.md, "Delete guard"). Pure window arithmetic first, then whole
passes against the emulator over real HTTP, the way pushes hand them to the engine."""

from __future__ import annotations

from datetime import timedelta

from calsync_operator.api.records import DELETE_WINDOW, DeleteWindow
from calsync_operator.api.status import SourceStatus
from calsync_operator.sync.deleteguard import GUARD_MIN_DELETES, judge_deletes
from calsync_operator.sync.port import Event, WriteKind
from engine.conftest import World
from engine.factories import NOW, SRC_A, TARGET, rfc, source, spec


def judge(planned: int, live: int, window: DeleteWindow, minutes: float = 0) -> bool:
    return judge_deletes(
        source_calendar_id=SRC_A,
        planned=planned,
        live_copies=live,
        max_fraction=0.2,
        window=window,
        now=NOW + timedelta(minutes=minutes),
    ).tripped


def test_one_pass_trips_above_the_fraction_and_the_minimum_only() -> None:
    assert judge(21, 100, DeleteWindow())
    assert not judge(19, 100, DeleteWindow())
    assert not judge(1, 3, DeleteWindow())  # deleting 1 of 3 is a user, not a wipe
    assert not judge(GUARD_MIN_DELETES, 10, DeleteWindow())
    assert judge(GUARD_MIN_DELETES + 1, 10, DeleteWindow())
    assert not judge(0, 0, DeleteWindow())


def test_single_deletions_add_up_within_the_hour_against_the_copies_at_its_start() -> None:
    window, live, tripped_at = DeleteWindow(), 20, None
    for n in range(16):
        if judge(1, live, window, minutes=n):
            tripped_at = n
            break
        window = window.after(NOW + timedelta(minutes=n), live, 1)
        live -= 1
    # The same verdict as one pass of 5 deletions of 20: more than 20 % (4).
    assert tripped_at == 4
    assert not judge(4, 20, DeleteWindow())
    assert judge(5, 20, DeleteWindow())
    assert window.baseline(live) == 20
    assert window.deleted == 4


def test_deletions_older_than_the_window_fall_out_and_minutes_share_a_record() -> None:
    window = DeleteWindow().after(NOW, 100, 10).after(NOW + timedelta(seconds=30), 90, 5)
    assert [(r.copies, r.deleted) for r in window.records] == [(100, 15)]
    later = NOW + DELETE_WINDOW + timedelta(seconds=1)
    assert window.current(later).records == ()
    assert not judge(15, 85, window, minutes=61)
    assert judge(15, 85, window, minutes=30)
    assert DeleteWindow.from_status(window.to_status()) == window


def event(n: int) -> Event:
    start = NOW + timedelta(hours=n + 1)
    return {
        "id": f"evt{n:05d}",
        "summary": f"Event {n}",
        "start": {"dateTime": rfc(start)},
        "end": {"dateTime": rfc(start + timedelta(hours=1))},
    }


def test_a_calendar_emptied_by_pushes_trips_the_guard_and_confirming_deletes_the_rest(world: World) -> None:
    src = source()
    the_spec = spec(src)
    events = [event(n) for n in range(20)]
    world.write(SRC_A, WriteKind.INSERT, events)
    world.sync(the_spec, src, now=NOW)
    assert len(world.copies(TARGET)) == 20

    # 16 originals deleted one after another; each push hands the engine one deletion.
    held = 0
    for n, gone in enumerate(events[:16]):
        world.write(SRC_A, WriteKind.DELETE, [gone])
        outcome = world.sync(the_spec, src, now=NOW + timedelta(seconds=10 * n))
        held = outcome.state.held_deletes
    state: SourceStatus = world.states[(TARGET, SRC_A)]

    assert outcome.guard.tripped
    assert len(world.copies(TARGET)) == 16  # 4 of 20 (maxDeleteFraction 0.2), nothing beyond
    assert held == 12  # every later deletion is held, and shown
    assert "maxDeleteFraction" in (state.last_error or "")
    assert state.to_status()["heldDeletes"] == held

    confirmed = world.sync(the_spec, src, now=NOW + timedelta(minutes=5), confirm_delete=True)

    assert confirmed.counts.deleted == held
    assert len(world.copies(TARGET)) == 4
    assert confirmed.state.held_deletes == 0
    assert confirmed.state.delete_window.records == ()  # the confirmed calendar is the new baseline


def test_deletions_spread_over_more_than_an_hour_do_not_trip(world: World) -> None:
    src = source()
    the_spec = spec(src)
    events = [event(n) for n in range(20)]
    world.write(SRC_A, WriteKind.INSERT, events)
    world.sync(the_spec, src, now=NOW)
    for n, gone in enumerate(events[:8]):
        world.write(SRC_A, WriteKind.DELETE, [gone])
        outcome = world.sync(the_spec, src, now=NOW + timedelta(minutes=20 * n))
        assert not outcome.guard.tripped
    assert len(world.copies(TARGET)) == 12
