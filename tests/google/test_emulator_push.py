"""Conformance: push channels — watch, the sync message, exists on change, headers, expiry, stop."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import pytest
from emulator_client import PushReceiver, calendar_service, new_calendar, timed
from googleapiclient.errors import HttpError

from calsync_operator.emulator import EmulatorServer


@pytest.fixture(autouse=True)
def http_receivers(emulator: EmulatorServer) -> None:
    """The receivers here listen on http://127.0.0.1: an explicit emulator option (Google
    accepts only https; test_emulator_strict.py shows the refusal)."""
    emulator.allow_http_push()


@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    made = PushReceiver()
    yield made
    made.close()


def watch_body(receiver: PushReceiver, channel_id: str = "chan-1", **extra: object) -> dict[str, object]:
    return {"id": channel_id, "type": "web_hook", "address": receiver.url, "token": "secret-token", **extra}


def test_watch_answers_like_google_and_sends_sync_first(
    emulator: EmulatorServer, receiver: PushReceiver
) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)

    before_ms = int(time.time() * 1000)
    channel = (
        service.events().watch(calendarId=cal, body=watch_body(receiver, params={"ttl": "3600"})).execute()
    )
    after_ms = int(time.time() * 1000)

    assert channel["id"] == "chan-1"
    assert channel["kind"] == "api#channel"
    assert channel["resourceId"]
    assert channel["resourceUri"].startswith(emulator.root_url + "calendar/v3/calendars/")
    assert isinstance(channel["expiration"], str)
    assert before_ms + 3_600_000 <= int(channel["expiration"]) <= after_ms + 3_600_000  # the ttl
    [sync] = receiver.wait_for(1)
    assert sync.body == b""
    assert sync.headers["x-goog-resource-state"] == "sync"
    assert sync.headers["x-goog-channel-id"] == "chan-1"
    assert sync.headers["x-goog-message-number"] == "1"
    assert sync.headers["x-goog-resource-id"] == channel["resourceId"]
    assert sync.headers["x-goog-resource-uri"] == channel["resourceUri"]
    assert sync.headers["x-goog-channel-token"] == "secret-token"
    expiry = parsedate_to_datetime(sync.headers["x-goog-channel-expiration"])
    assert int(expiry.timestamp()) == int(channel["expiration"]) // 1000


def test_every_change_sends_exists_with_growing_message_numbers(
    emulator: EmulatorServer, receiver: PushReceiver
) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().watch(calendarId=cal, body=watch_body(receiver)).execute()
    receiver.wait_for(1)

    service.events().insert(calendarId=cal, body=timed(1, id="pushed0001")).execute()
    service.events().patch(calendarId=cal, eventId="pushed0001", body={"summary": "x"}).execute()
    service.events().delete(calendarId=cal, eventId="pushed0001").execute()
    service.events().insert(calendarId=new_calendar(emulator), body=timed(1)).execute()  # another calendar
    pushes = receiver.wait_for(4)
    emulator.wait_for_pushes()

    assert len(receiver.pushes) == 4
    assert [p.headers["x-goog-resource-state"] for p in pushes] == ["sync", "exists", "exists", "exists"]
    numbers = sorted(int(p.headers["x-goog-message-number"]) for p in pushes)
    assert numbers[0] == 1
    assert all(b > a for a, b in itertools.pairwise(numbers))


def test_a_slow_receiver_never_blocks_the_write(emulator: EmulatorServer) -> None:
    gate = threading.Event()
    slow = PushReceiver(gate=gate)
    try:
        service, cal = calendar_service(emulator), new_calendar(emulator)
        service.events().watch(calendarId=cal, body=watch_body(slow)).execute()

        created = service.events().insert(calendarId=cal, body=timed(1)).execute()  # returns while blocked

        assert created["status"] == "confirmed"
        assert slow.pushes == []
        gate.set()
        assert len(slow.wait_for(2)) == 2
    finally:
        gate.set()
        slow.close()


def test_expired_channels_stop_delivering(emulator: EmulatorServer, receiver: PushReceiver) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    expiration = int(time.time() * 1000) + 300  # a requested expiration, in ms like Google's
    channel = (
        service.events().watch(calendarId=cal, body=watch_body(receiver, expiration=expiration)).execute()
    )
    receiver.wait_for(1)
    while int(channel["expiration"]) > time.time() * 1000:  # let the channel lapse
        time.sleep(0.05)

    service.events().insert(calendarId=cal, body=timed(1)).execute()
    emulator.wait_for_pushes()

    assert len(receiver.pushes) == 1
    assert emulator.channels(cal) == []


def test_stop_needs_the_matching_resource_id(emulator: EmulatorServer, receiver: PushReceiver) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    channel = service.events().watch(calendarId=cal, body=watch_body(receiver)).execute()

    with pytest.raises(HttpError) as mismatched:
        service.channels().stop(body={"id": channel["id"], "resourceId": "someone-else"}).execute()
    service.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]}).execute()
    with pytest.raises(HttpError) as unknown:
        service.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]}).execute()
    service.events().insert(calendarId=cal, body=timed(1)).execute()
    emulator.wait_for_pushes()

    assert mismatched.value.status_code == 404
    assert unknown.value.status_code == 404
    assert [p.headers["x-goog-resource-state"] for p in receiver.pushes] == ["sync"]


def test_channel_ids_must_be_unique_while_live(emulator: EmulatorServer, receiver: PushReceiver) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().watch(calendarId=cal, body=watch_body(receiver)).execute()

    with pytest.raises(HttpError) as caught:
        service.events().watch(calendarId=cal, body=watch_body(receiver)).execute()

    assert caught.value.status_code == 400
    assert [c["id"] for c in emulator.channels(cal)] == ["chan-1"]


def test_overlapping_channels_both_deliver(emulator: EmulatorServer, receiver: PushReceiver) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().watch(calendarId=cal, body=watch_body(receiver, "old")).execute()
    service.events().watch(calendarId=cal, body=watch_body(receiver, "new")).execute()
    receiver.wait_for(2)

    service.events().insert(calendarId=cal, body=timed(1)).execute()
    pushes = receiver.wait_for(4)

    exists = sorted(
        p.headers["x-goog-channel-id"] for p in pushes if p.headers["x-goog-resource-state"] == "exists"
    )
    assert exists == ["new", "old"]


def test_dropped_pushes_are_counted_not_sent(emulator: EmulatorServer, receiver: PushReceiver) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().watch(calendarId=cal, body=watch_body(receiver)).execute()
    receiver.wait_for(1)
    emulator.drop_pushes(1.0)

    for day in (1, 2, 3):
        service.events().insert(calendarId=cal, body=timed(day)).execute()
    emulator.wait_for_pushes()

    assert len(receiver.pushes) == 1
    assert emulator.counters.pushes_dropped == 3


def test_receiver_errors_are_retried_only_for_5xx(emulator: EmulatorServer) -> None:
    failing = PushReceiver(status=503)
    refusing = PushReceiver(status=404)
    try:
        service = calendar_service(emulator)
        service.events().watch(calendarId=new_calendar(emulator), body=watch_body(failing, "f")).execute()
        service.events().watch(calendarId=new_calendar(emulator), body=watch_body(refusing, "r")).execute()
        emulator.wait_for_pushes()

        assert len(failing.pushes) == 3  # Google retries 500/502/503/504
        assert len(refusing.pushes) == 1
        assert emulator.counters.pushes_failed == 1
    finally:
        failing.close()
        refusing.close()
