"""No write is lost silently: writes Google refuses after retries are remembered in the source's
state (``status.sources[].failedWrites``) until they succeed, whether the sync token was kept
(5xx: retried with back-off) or moved on (a refusal: retried when the event is listed again)."""

from __future__ import annotations

from datetime import timedelta

from calsync_operator.api.records import MAX_REMEMBERED, FailedWrites
from calsync_operator.api.spec import Delivery
from calsync_operator.sync.port import Event, WriteKind
from calsync_operator.sync.writefailures import failed_write, settle
from engine.conftest import World
from engine.factories import NOW, SRC_A, TARGET, rfc, source, spec


def event(n: int, title: str = "Event") -> Event:
    start = NOW + timedelta(hours=n + 1)
    return {
        "id": f"evt{n:05d}",
        "summary": f"{title} {n}",
        "start": {"dateTime": rfc(start)},
        "end": {"dateTime": rfc(start + timedelta(hours=1))},
    }


def test_every_insert_failing_is_remembered_and_retried_until_it_lands(
    world: World, emulator: object
) -> None:
    src = source()
    the_spec = spec(src)
    world.write(SRC_A, WriteKind.INSERT, [event(n) for n in range(3)])
    world.emulator.inject_fault("events.insert", status=500, reason="backendError")

    failing = world.sync(the_spec, src, now=NOW)

    failed = failing.state.failed_writes
    assert (failed.count, failed.retrying) == (3, 3)
    assert [item.error for item in failed.items] == ["500 backendError"] * 3
    assert failing.state.sync_token is None  # nothing settled: the same changes come again
    assert "3 write(s) to Google failed" in failed.summary()
    assert "retried with back-off" in failed.summary()
    assert FailedWrites.from_status(failing.state.to_status()["failedWrites"]) == failed

    world.emulator.clear_faults()
    recovered = world.sync(the_spec, src, now=NOW)

    assert recovered.counts.created == 3
    assert not recovered.state.failed_writes
    assert len(world.copies(TARGET)) == 3


def test_a_refused_write_moves_the_token_on_only_because_it_is_remembered(world: World) -> None:
    src = source()
    the_spec = spec(src)
    world.write(SRC_A, WriteKind.INSERT, [event(n) for n in range(3)])
    world.sync(the_spec, src, now=NOW)
    world.write(SRC_A, WriteKind.UPDATE, [event(0, "Renamed"), event(1, "Renamed")])
    world.emulator.inject_fault("events.update", status=400, reason="invalid", count=1)

    refused = world.sync(the_spec, src, now=NOW)

    assert refused.counts.updated == 1
    assert refused.state.sync_token  # the source is not held back by one bad event...
    failed = refused.state.failed_writes
    assert (failed.count, failed.retrying) == (1, 0)  # ...because the failure is remembered
    assert failed.items[0].error == "400 invalid"
    assert "when the event changes or at the next full listing" in failed.summary()

    # Another event changes: the refused one stays remembered.
    world.write(SRC_A, WriteKind.UPDATE, [event(2, "Other")])
    other = world.sync(the_spec, src, now=NOW)
    assert other.state.failed_writes == failed

    # The full listing (here forced, as after a spec change) retries it and it lands.
    relisted = world.sync(the_spec, src, now=NOW, force_full=True)
    assert not relisted.state.failed_writes
    titles = sorted(e["summary"] for e in world.copies(TARGET))
    assert titles == ["Other 2", "Renamed 0", "Renamed 1"]


def test_an_invite_the_source_account_may_not_send_names_the_reason(world: World) -> None:
    src = source()
    the_spec = spec(src, delivery=Delivery.INVITE)
    world.write(SRC_A, WriteKind.INSERT, [event(0)])
    world.emulator.inject_fault("events.patch", status=403, reason="forbiddenForNonOrganizer")

    outcome = world.sync(the_spec, src, now=NOW)

    [item] = outcome.state.failed_writes.items
    assert (item.op, item.event_id, item.error) == ("invite", "evt00000", "403 forbiddenForNonOrganizer")
    assert "does not organise this event" in item.describe()
    assert "delivery: copy" in outcome.state.failed_writes.summary()


def test_many_failures_are_counted_and_the_first_few_named() -> None:
    many = [failed_write("insert", f"e{n}", None) for n in range(MAX_REMEMBERED + 5)]
    remembered = settle(
        FailedWrites(), many, {f"e{n}" for n in range(30)}, full_listing=True, now="2026-11-25T08:00:00Z"
    )
    assert remembered.count == MAX_REMEMBERED + 5
    assert len(remembered.items) == MAX_REMEMBERED
    assert remembered.items[0].error == "not confirmed"
    assert remembered.since == "2026-11-25T08:00:00Z"  # the back-off grows from here
