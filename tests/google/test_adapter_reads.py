"""The adapter's reads, channels and auth against the shipped emulator over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from adapter_support import event_body, inserts, make_client, new_calendar

from calsync_operator.emulator import EmulatorServer
from calsync_operator.sync.port import AuthExpired, GoogleError, SyncTokenExpired, WriteKind, WriteOp


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


def test_full_listing_reads_every_page_then_incremental_sees_changes(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu, page_size=10)
    client.write(inserts(cal, 25))

    full = client.list_events(cal, time_min="2026-11-01T00:00:00Z", time_max="2027-11-01T00:00:00Z")
    assert (len(full.events), full.pages) == (25, 3)
    assert full.next_sync_token

    client.write(
        [
            WriteOp(WriteKind.UPDATE, cal, "evt00003", event_body(3, summary="moved")),
            WriteOp(WriteKind.DELETE, cal, "evt00004"),
        ]
    )
    changes = client.list_events(cal, sync_token=full.next_sync_token)

    statuses = {e["id"]: e["status"] for e in changes.events}
    assert statuses == {"evt00003": "confirmed", "evt00004": "cancelled"}
    assert changes.next_sync_token not in ("", full.next_sync_token)


def test_an_invalidated_sync_token_asks_for_a_full_sync(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    token = client.list_events(cal).next_sync_token
    emu.invalidate_sync_tokens(cal)

    with pytest.raises(SyncTokenExpired) as caught:
        client.list_events(cal, sync_token=token)
    assert caught.value.status == 410


def test_get_returns_the_event_or_none(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    client.write(inserts(cal, 1))

    found = client.get_event(cal, "evt00000")
    assert found is not None
    assert found["summary"] == "event 0"
    assert client.get_event(cal, "nosuchevent0") is None


def test_instances_of_a_recurring_event(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    weekly = event_body(0, recurrence=["RRULE:FREQ=WEEKLY;COUNT=5"])
    weekly["start"]["timeZone"] = weekly["end"]["timeZone"] = "UTC"  # required for a series
    (written,) = client.write([WriteOp(WriteKind.INSERT, cal, "recur0", weekly)])
    assert written.ok

    instances = client.instances(cal, "recur0")

    assert len(instances) == 5
    assert {i["recurringEventId"] for i in instances} == {"recur0"}
    assert client.instances(cal, "nosuchevent0") == []


def test_watch_returns_what_google_answered_and_stop_is_idempotent(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)

    channel = client.watch(
        cal, channel_id="chan-1", address="https://127.0.0.1:9/push", token="tok", ttl_seconds=3600
    )

    assert (channel.id, channel.token) == ("chan-1", "tok")
    assert channel.resource_id
    assert channel.expiration_ms > 0
    client.stop_channel(channel.id, channel.resource_id)
    client.stop_channel(channel.id, channel.resource_id)  # already stopped: not an error


def test_a_bad_request_is_not_retried(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    before = emu.counters.calls("events.get")
    emu.inject_fault(method="events.get", status=400, reason="badRequest", count=1)

    with pytest.raises(GoogleError) as caught:
        client.get_event(cal, "evt00000")

    assert caught.value.status == 400
    assert emu.counters.calls("events.get") == before + 1


def test_reads_survive_30_percent_rate_limits_and_server_errors(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu, page_size=2)  # 20 pages: some faults fire for sure
    client.write(inserts(cal, 40))
    emu.inject_fault("events.list", status=429, reason="rateLimitExceeded", retry_after=0.05, probability=0.1)
    emu.inject_fault("events.list", status=503, reason="backendError", probability=0.2)
    try:
        listing = client.list_events(cal)
    finally:
        emu.clear_faults()

    assert len(listing.events) == 40
    assert emu.counters.calls("events.list", 429) + emu.counters.calls("events.list", 503) > 0


def test_one_client_serves_many_threads(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu)
    client.write(inserts(cal, 8))
    seen: list[str] = []
    lock = threading.Lock()

    def read(n: int) -> None:
        for _ in range(10):
            event = client.get_event(cal, f"evt{n:05d}")
            assert event is not None
            with lock:
                seen.append(event["id"])

    threads = [threading.Thread(target=read, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(seen) == 80


def test_an_expired_access_token_is_refreshed_once(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu, refresh_token="rt-refresh-once")
    client.list_events(cal)
    token_calls = emu.counters.calls("token")
    emu.expire_access_tokens()

    client.list_events(cal)

    assert emu.counters.calls("token") == token_calls + 1


def test_invalid_grant_is_auth_expired_without_a_retry_storm(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu, refresh_token="rt-revoked")
    emu.revoke_refresh_token("rt-revoked")
    token_calls = emu.counters.calls("token")

    for _ in range(3):
        with pytest.raises(AuthExpired, match="calsync auth"):
            client.list_events(cal)
    with pytest.raises(AuthExpired):
        client.write(inserts(cal, 3))

    assert emu.counters.calls("token") == token_calls + 1  # asked once, then remembered
    assert client.credentials.refused


def test_a_rotated_refresh_token_is_handed_back_for_the_secret(emu: EmulatorServer) -> None:
    cal = new_calendar(emu)
    client = make_client(emu, refresh_token="rt-rotating")
    emu.rotate_refresh_tokens()
    try:
        client.list_events(cal)
    finally:
        emu.rotate_refresh_tokens(False)

    rotated = client.credentials.rotated_token_json()
    assert rotated is not None
    assert '"rt-rotating"' not in rotated
    client.credentials.mark_written_back(rotated)
    assert client.credentials.rotated_token_json() is None
