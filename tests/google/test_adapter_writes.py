"""Batched writes against the shipped emulator: batching, faults, restore, quota and the limiter."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest
from adapter_support import FAST_RETRIES, event_body, inserts, make_client, new_calendar

from calsync_operator.emulator import EmulatorServer
from calsync_operator.google.ratelimit import TokenBucket
from calsync_operator.sync.port import QuotaExhausted, WriteKind, WriteOp


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(autouse=True)
def no_faults_left(emu: EmulatorServer) -> Iterator[None]:
    yield
    emu.clear_faults()


def test_n_writes_take_ceil_n_over_1000_round_trips(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    before = emu.counters.batches

    results = client.write(inserts(cal, 2100))

    assert all(r.ok for r in results)
    assert emu.counters.batches - before == math.ceil(2100 / 1000)
    assert len(emu.events(cal)) == 2100


def test_the_batch_size_is_configurable(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu, batch_size=50)
    before = emu.counters.batches

    assert all(r.ok for r in client.write(inserts(cal, 120)))
    assert emu.counters.batches - before == 3


def test_30_percent_429_and_503_with_retry_after_all_succeed_without_duplicates(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    # With a third of the calls failing, 8 attempts leave each op a 0.33**8 ≈ 1.4e-4 chance of
    # giving up, about 7 % for the ~700 calls here; 16 attempts make that ~1e-5 per run.
    client = make_client(emu, policy=replace(FAST_RETRIES, max_attempts=16))
    ops = inserts(cal, 300)
    for method in ("events.insert", "events.update", "events.delete"):
        # A 429 refuses the call; a 503 here comes after the write took effect (its answer was
        # lost), so the retry meets its own earlier write: the case that duplicates naive clients.
        emu.inject_fault(method, status=429, reason="rateLimitExceeded", retry_after=0.2, probability=0.165)
        emu.inject_fault(
            method, status=503, reason="backendError", retry_after=0.2, probability=0.165, lost_answer=True
        )

    inserted = client.write(ops)
    updated = client.write(
        [WriteOp(WriteKind.UPDATE, cal, op.event_id, event_body(1, summary="changed")) for op in ops[:100]]
    )
    deleted = client.write([WriteOp(WriteKind.DELETE, cal, op.event_id) for op in ops[200:]])

    assert all(r.ok for r in inserted + updated + deleted)
    counts = emu.counters
    assert counts.calls("events.insert", 429) > 0  # faults did fire...
    assert counts.calls("events.insert", 503) > 0
    assert counts.calls("events.insert", 409) > 0  # ...and a landed insert was restored, not redone
    assert counts.calls("events.delete", 410) > 0  # a landed delete answered "already deleted"
    live = emu.events(cal)
    ids = Counter(e["id"] for e in live)
    assert len(live) == 200
    assert max(ids.values()) == 1  # no duplicated writes
    assert sum(e["summary"] == "changed" for e in live) == 100


def test_a_failed_batch_request_is_sent_again_whole(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    emu.inject_fault(method="batch", status=503, reason="backendError", retry_after=0.1, count=2)

    assert all(r.ok for r in client.write(inserts(cal, 20)))
    assert len(emu.events(cal)) == 20


def test_a_batch_whose_answer_was_lost_is_resent_without_duplicates(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    before = emu.counters.calls("events.insert", 409)
    emu.inject_fault(method="batch", status=503, reason="backendError", lost_answer=True, count=1)

    results = client.write(inserts(cal, 20))  # all 20 landed; the client only heard 503

    assert all(r.ok and r.event is not None and r.event["status"] == "confirmed" for r in results)
    assert emu.counters.calls("events.insert", 409) - before == 20  # resent, restored in place
    assert sorted(e["id"] for e in emu.events(cal)) == [op.event_id for op in inserts(cal, 20)]


def test_parts_answered_401_are_refreshed_and_resent_once(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu, refresh_token="rt-batch-401")
    client.write(inserts(cal, 1))
    token_calls = emu.counters.calls("token")
    emu.expire_access_tokens()

    assert all(r.ok for r in client.write(inserts(cal, 10, prefix="evu")))
    assert emu.counters.calls("token") == token_calls + 1
    assert len(emu.events(cal)) == 11


def test_a_rejected_part_is_not_retried_and_the_rest_of_the_batch_lands(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    emu.inject_fault(method="events.insert", status=400, reason="badRequest", count=1)

    results = client.write(inserts(cal, 5))

    failed = [r for r in results if not r.ok]
    assert len(failed) == 1
    assert failed[0].error is not None
    assert failed[0].error.status == 400
    assert emu.counters.calls("events.insert") >= 5
    assert len(emu.events(cal)) == 4


def test_insert_on_a_deleted_id_restores_the_event(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    (op,) = inserts(cal, 1)
    client.write([op])
    client.write([WriteOp(WriteKind.DELETE, cal, op.event_id)])

    (result,) = client.write([op])

    assert result.ok
    assert result.event is not None
    assert result.event["status"] == "confirmed"
    assert [e["id"] for e in emu.events(cal)] == [op.event_id]
    assert emu.counters.calls("events.insert", 409) >= 1


def test_deleting_what_is_already_gone_succeeds(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    client.write(inserts(cal, 1))
    delete = WriteOp(WriteKind.DELETE, cal, "evt00000")

    own = WriteOp(WriteKind.DELETE, cal, "neverexisted0", chosen_id=True)
    theirs = WriteOp(WriteKind.DELETE, cal, "neverexisted1")

    first, again, never, unknown = client.write([delete, delete, own, theirs])

    assert first.ok
    assert again.ok  # 410 deleted
    assert never.ok  # 404 on an id calsync chose: it is gone, as wanted
    # 404 on an id Google generated (or a guessed one): the id was wrong, not the event gone.
    assert not unknown.ok
    assert unknown.error is not None
    assert unknown.error.status == 404


def test_quota_exhaustion_stops_the_pass(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    emu.inject_fault(method="events.insert", status=403, reason="quotaExceeded")

    with pytest.raises(QuotaExhausted) as caught:
        client.write(inserts(cal, 10))

    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 3600
    assert emu.counters.calls("events.insert", 403) == 10  # one batch, no retries


def test_the_limiter_keeps_every_minute_within_the_rate_over_http() -> None:
    """24 calls/min on a clock running 60x: a "minute" is 1 s of real time. A small rate keeps
    one token's spacing (50 ms) well above the jitter of local HTTP."""
    speed, rate = 60.0, 24
    limiter = TokenBucket(
        rate,
        burst=4,
        clock=lambda: time.monotonic() * speed,
        sleep=lambda seconds: time.sleep(seconds / speed),
    )
    with EmulatorServer() as emu:  # its own emulator: only this test's calls are on its clock
        cal = new_calendar(emu)
        client = make_client(emu, limiter=limiter)
        for n in range(4):
            client.write(inserts(cal, 8, prefix=f"ev{n}"))  # batches of at most the burst (4)
            for _ in range(4):
                client.get_event(cal, "ev000000")
        counts = emu.counters

    assert counts.calls("events.insert") + counts.calls("events.get") == 2 * rate
    assert counts.max_calls_in_window(60.0 / speed) <= rate
