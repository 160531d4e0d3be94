"""Whole passes against the emulator over real HTTP: volume, edits, replays, crashes, 410, guard."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

import pytest

from calsync_operator.api.names import TAG_EVENT, copy_event_id
from calsync_operator.api.spec import CalendarSyncSpec, Source
from calsync_operator.sync.filters import window_bounds
from calsync_operator.sync.port import (
    CalendarClient,
    Channel,
    Event,
    ListResult,
    WriteKind,
    WriteOp,
    WriteResult,
)
from calsync_operator.sync.render import render_copy
from engine.conftest import World
from engine.factories import NOW, SRC_A, SRC_B, TARGET, attempted, rfc, source, spec

SOURCES = (source(SRC_A, title_prefix="[A] "), source(SRC_B, color_id="7"))


class Abort(Exception):
    """Stands in for the operator process dying between two batches."""


def event(event_id: str, n: int, title: str | None = None, shift_hours: int = 0) -> Event:
    start = NOW.replace(minute=0) + timedelta(hours=n % 2000 + shift_hours)
    return {
        "id": event_id,
        "summary": title or f"event {n}",
        "description": f"about {n}",
        "start": {"dateTime": rfc(start), "timeZone": "Europe/Paris"},
        "end": {"dateTime": rfc(start + timedelta(minutes=30)), "timeZone": "Europe/Paris"},
    }


def seed(world: World, calendar_id: str, count: int, offset: int = 0) -> list[Event]:
    events = [event(f"evt{calendar_id[0]}{i:05d}", offset + i) for i in range(count)]
    world.write(calendar_id, WriteKind.INSERT, events)
    return events


def sync_all(world: World, the_spec: CalendarSyncSpec, **kwargs: Any) -> int:
    """One pass over every source; returns the writes it confirmed."""
    writes = 0
    for src in the_spec.sources:
        outcome = world.sync(the_spec, src, now=NOW, **kwargs)
        writes += sum(1 for r in outcome.report.results if r.ok and attempted(r)) if outcome.report else 0
    return writes


def assert_target_matches(world: World, the_spec: CalendarSyncSpec) -> None:
    """Exactly one copy per live source event, each equal to its expected rendering."""
    expected: dict[str, Event] = {}
    for src in the_spec.sources:
        for ev in world.emulator.events(src.calendar_id):
            copy_id = copy_event_id(TARGET, src.calendar_id, ev["id"])
            expected[copy_id] = render_copy(ev, the_spec, src, copy_id=copy_id)
    actual = {e["id"]: e for e in world.copies(TARGET)}
    assert sorted(actual) == sorted(expected)
    for copy_id, body in expected.items():
        assert {k: actual[copy_id].get(k) for k in body} == body, copy_id


def assert_no_duplicates(world: World) -> None:
    per_source_event = Counter(e["extendedProperties"]["private"][TAG_EVENT] for e in world.copies(TARGET))
    assert per_source_event, "no copies at all"
    assert max(per_source_event.values()) == 1


def test_thousand_events_two_sources_then_edits_deletes_moves(world: World) -> None:
    the_spec = spec(*SOURCES)
    a_events = seed(world, SRC_A, 600)
    seed(world, SRC_B, 400)

    assert sync_all(world, the_spec) == 1000
    assert len(world.copies(TARGET)) == 1000
    assert_target_matches(world, the_spec)

    edited = [event(e["id"], i, title=f"edited {i}") for i, e in enumerate(a_events[:100])]
    moved = [event(e["id"], 100 + i, shift_hours=3) for i, e in enumerate(a_events[100:120])]
    world.write(SRC_A, WriteKind.UPDATE, edited + moved)
    world.write(SRC_A, WriteKind.DELETE, a_events[120:170])
    # Moved to the other calendar (Google's events.move keeps the id): a new source, a new copy.
    world.write(SRC_A, WriteKind.DELETE, a_events[170:180])
    world.write(SRC_B, WriteKind.INSERT, a_events[170:180])
    calls_before = world.calls()
    assert sync_all(world, the_spec) == 190
    # An incremental pass costs its listings, one batch per source and a call per change.
    assert world.calls() - calls_before == 190 + 2
    assert len(world.copies(TARGET)) == 950
    assert_target_matches(world, the_spec)

    calls_before = world.calls()
    assert sync_all(world, the_spec) == 0
    assert world.calls() - calls_before == 2  # the two incremental listings, nothing else

    world.restart()  # index rebuilt from one listing of the target; still nothing to write
    assert sync_all(world, the_spec, force_full=True) == 0
    assert_target_matches(world, the_spec)


class DiesMidBatch:
    """The target's client in an operator process that dies while its ``dies_at``-th batch is in
    flight: Google applies some of that batch's parts (any subset: parts run in any order), and
    no answer is ever read. Reads and earlier batches go through untouched."""

    def __init__(
        self, client: CalendarClient, rng: random.Random, dies_at: int, land_all: bool = False
    ) -> None:
        self.client, self.rng, self.left, self.land_all = client, rng, dies_at, land_all

    def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        self.left -= 1
        if self.left > 0:
            return self.client.write(ops)
        count = len(ops) if self.land_all else self.rng.randint(0, len(ops))
        landed = self.rng.sample(list(ops), count)
        self.client.write(landed)
        raise Abort

    def list_events(self, calendar_id: str, **kwargs: Any) -> ListResult:
        return self.client.list_events(calendar_id, **kwargs)

    def get_event(self, calendar_id: str, event_id: str) -> Event | None:
        return self.client.get_event(calendar_id, event_id)

    def instances(self, calendar_id: str, event_id: str, **kwargs: Any) -> list[Event]:
        return self.client.instances(calendar_id, event_id, **kwargs)

    def watch(self, calendar_id: str, **kwargs: Any) -> Channel:
        return self.client.watch(calendar_id, **kwargs)

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        self.client.stop_channel(channel_id, resource_id)


def crashing_pass(world: World, the_spec: CalendarSyncSpec, rng: random.Random) -> bool:
    """A pass over every source (in random order) whose process dies in the middle of one of
    the first three batches of one random source's pass; True if it died."""
    victim = rng.choice(the_spec.sources)
    dying = DiesMidBatch(world.client(TARGET), rng, dies_at=rng.randint(1, 3))
    try:
        for src in rng.sample(the_spec.sources, len(the_spec.sources)):
            target = cast(CalendarClient, dying) if src is victim else None
            world.sync(the_spec, src, now=NOW, batch_size=7, target_client=target)
    except Abort:
        return True
    return False


def test_crash_at_random_points_never_duplicates_or_loses(world: World, emulator: Any) -> None:
    # 60 deletions within one (pinned) hour would trip the delete guard, tested on its own below.
    the_spec = spec(*SOURCES, max_delete_fraction=1.0)
    rng = random.Random(4)
    live = {SRC_A: seed(world, SRC_A, 150), SRC_B: seed(world, SRC_B, 150, offset=500)}
    sync_all(world, the_spec)
    deaths = 0
    for round_no in range(20):
        # The user keeps changing things...
        for cal, events in live.items():
            changed = [event(e["id"], rng.randrange(3000), f"r{round_no}") for e in rng.sample(events, 10)]
            world.write(cal, WriteKind.UPDATE, changed)
            gone = rng.sample(events, 3)
            world.write(cal, WriteKind.DELETE, gone)
            fresh = [event(f"fresh{cal[0]}{round_no:02d}{i}", rng.randrange(3000)) for i in range(5)]
            world.write(cal, WriteKind.INSERT, fresh)
            live[cal] = [e for e in events if e not in gone] + fresh
        # ...while the operator dies: some batch parts fail, then the process stops with a batch
        # half applied (and half the time restarts, losing its in-memory copy index).
        emulator.inject_fault("events.update", status=503, probability=0.3, count=4)
        deaths += crashing_pass(world, the_spec, rng)
        emulator.clear_faults()
        if rng.random() < 0.5:
            world.restart()
    sync_all(world, the_spec)  # the re-run after the last crash
    assert deaths >= 18  # a pass with fewer batches than planned for its death survives
    assert sync_all(world, the_spec) == 0  # settled
    assert_no_duplicates(world)
    assert_target_matches(world, the_spec)


def test_a_batch_that_landed_unseen_is_replayed_onto_the_same_ids(world: World, emulator: Any) -> None:
    src = SOURCES[0]
    the_spec = spec(src)
    seed(world, SRC_A, 5)
    settled = world.sync(the_spec, src, now=NOW)
    world.write(SRC_A, WriteKind.INSERT, [event(f"late{n:05d}", 100 + n) for n in range(12)])
    dying = DiesMidBatch(world.client(TARGET), random.Random(1), dies_at=1, land_all=True)

    with pytest.raises(Abort):  # every insert reached Google; the answer never came back
        world.sync(the_spec, src, now=NOW, target_client=cast(CalendarClient, dying))
    assert len(world.copies(TARGET)) == 17
    assert world.states[(TARGET, SRC_A)] == settled.state  # nothing recorded: the pass is replayed

    replay = world.sync(the_spec, src, now=NOW)  # same process: its copy index never saw them

    # Each insert hit its taken id (409) and was restored with get + update: no second copy.
    assert emulator.counters.calls("events.insert", 409) == 12
    assert replay.counts.created == 12
    assert_no_duplicates(world)
    assert_target_matches(world, the_spec)
    assert world.sync(the_spec, src, now=NOW).report.results == []


@pytest.mark.parametrize("expiry", ["invalidated", "410 on the listing"])
def test_expired_sync_token_resyncs_and_sweeps_stale_copies(world: World, emulator: Any, expiry: str) -> None:
    the_spec = spec(*SOURCES)
    a_events = seed(world, SRC_A, 300)
    seed(world, SRC_B, 100)
    sync_all(world, the_spec)
    world.write(SRC_A, WriteKind.UPDATE, [event(a_events[299]["id"], 299, "incremental")])
    assert world.sync(the_spec, SOURCES[0], now=NOW).full_sync is False  # the token chain runs
    # Changes the incremental stream will never deliver: the token dies before the next pass.
    world.write(SRC_A, WriteKind.DELETE, a_events[:40])
    world.write(SRC_A, WriteKind.UPDATE, [event(e["id"], 7, "after 410") for e in a_events[40:50]])
    if expiry == "invalidated":
        emulator.invalidate_sync_tokens(SRC_A)
    else:
        emulator.inject_fault("events.list", status=410, reason="fullSyncRequired", count=1)

    outcome = world.sync(the_spec, SOURCES[0], now=NOW)

    assert outcome.full_sync
    assert outcome.counts.deleted == 40
    assert outcome.counts.updated == 10
    assert outcome.state.sync_token
    assert outcome.state.last_full_sync_time == rfc(NOW)
    assert len(world.copies(TARGET, SRC_A)) == 260
    assert_no_duplicates(world)
    assert_target_matches(world, the_spec)


def test_sweep_keeps_copies_the_window_could_not_see(world: World, emulator: Any) -> None:
    src = SOURCES[0]
    the_spec = spec(src)
    low, _ = window_bounds(the_spec.filters.window, NOW)
    old_single = event("oldsingle", 0)
    old_single["start"]["dateTime"] = rfc(low - timedelta(days=3))
    old_single["end"]["dateTime"] = rfc(low - timedelta(days=3) + timedelta(hours=1))
    old_series = event("oldseries", 0)
    old_series["start"]["dateTime"] = rfc(low - timedelta(days=60))
    old_series["end"]["dateTime"] = rfc(low - timedelta(days=60) + timedelta(hours=1))
    old_series["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=3"]
    seed(world, SRC_A, 20)
    world.write(SRC_A, WriteKind.INSERT, [old_single, old_series])
    # Copies made back when both were inside the window (an earlier pass, another "now").
    world.sync(the_spec, src, now=NOW - timedelta(days=80))
    assert len(world.copies(TARGET, SRC_A)) == 22
    emulator.invalidate_sync_tokens(SRC_A)

    outcome = world.sync(the_spec, src, now=NOW)

    assert outcome.full_sync
    assert outcome.counts.deleted == 0
    assert len(world.copies(TARGET, SRC_A)) == 22


@pytest.mark.parametrize(("deleted", "trips"), [(21, True), (19, False)])
def test_delete_guard(world: World, deleted: int, trips: bool) -> None:
    src: Source = SOURCES[0]
    the_spec = spec(src)
    events = seed(world, SRC_A, 100)
    world.sync(the_spec, src, now=NOW)
    world.write(SRC_A, WriteKind.DELETE, events[:deleted])
    world.write(SRC_A, WriteKind.UPDATE, [event(events[50]["id"], 50, "still synced")])

    outcome = world.sync(the_spec, src, now=NOW)

    assert outcome.guard.tripped is trips
    assert outcome.counts.updated == 1  # the rest of the pass goes ahead either way
    if trips:
        assert outcome.counts.deleted == 0
        assert len(world.copies(TARGET)) == 100
        assert "maxDeleteFraction" in (outcome.state.last_error or "")
        # The held deletions are not lost: confirming lets exactly them through.
        confirmed = world.sync(the_spec, src, now=NOW, confirm_delete=True)
        assert confirmed.counts.deleted == deleted
        assert confirmed.state.last_error is None
    else:
        assert outcome.counts.deleted == deleted
    assert len(world.copies(TARGET)) == 100 - deleted
    assert_target_matches(world, the_spec)


def test_dry_run_plans_without_writing(world: World) -> None:
    src = SOURCES[0]
    seed(world, SRC_A, 30)
    calls_before = world.calls()

    outcome = world.sync(spec(src, dry_run=True), src, now=NOW)

    assert outcome.report is None
    assert outcome.plan.counts()["insert"] == 30
    assert outcome.state.sync_token is None
    assert world.copies(TARGET) == []
    assert world.calls() - calls_before == 2  # the index listing and the source listing


def test_an_unreachable_target_keeps_the_sync_token_so_the_changes_land_later(world: World) -> None:
    src = SOURCES[0]
    the_spec = spec(src)
    events = seed(world, SRC_A, 10)
    world.sync(the_spec, src, now=NOW)
    token = world.states[(TARGET, SRC_A)].sync_token
    world.write(SRC_A, WriteKind.UPDATE, [event(events[0]["id"], 0, "edited while Google was away")])

    # Every batch to the target is refused at the TCP level: no HTTP answer at all.
    down = world.sync(the_spec, src, now=NOW, target_client=world.unreachable_client(TARGET))

    assert down.report is not None
    assert down.counts.updated == 0
    assert down.report.retryable_failures == 1
    assert down.state.sync_token == token  # the change will be listed again
    assert "transportError" in (down.state.last_error or "")

    back = world.sync(the_spec, src, now=NOW)

    assert back.counts.updated == 1
    assert back.state.sync_token != token
    assert_target_matches(world, the_spec)
