"""Conformance: the batch endpoint as google-api-python-client's BatchHttpRequest uses it."""

from __future__ import annotations

import json
from typing import Any

import httpx
from emulator_client import calendar_service, new_calendar, timed
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from calsync_operator.emulator import EmulatorServer


def run_batch(emu: EmulatorServer, requests: list[Any]) -> dict[str, tuple[Any, HttpError | None]]:
    results: dict[str, tuple[Any, HttpError | None]] = {}

    def collect(request_id: str, response: Any, error: HttpError | None) -> None:
        results[request_id] = (response, error)

    batch = BatchHttpRequest(callback=collect, batch_uri=emu.batch_uri)
    for n, request in enumerate(requests):
        batch.add(request, request_id=f"op-{n}")
    batch.execute()
    return results


def test_each_part_gets_its_own_status_and_counts_as_a_call(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=timed(1, id="taken00001")).execute()
    before = emulator.counters

    results = run_batch(
        emulator,
        [
            service.events().insert(calendarId=cal, body=timed(2, id="neu0000001")),
            service.events().insert(calendarId=cal, body=timed(3, id="taken00001")),
            service.events().get(calendarId=cal, eventId="missing001"),
            service.events().delete(calendarId=cal, eventId="taken00001"),
        ],
    )

    after = emulator.counters
    assert results["op-0"][0]["id"] == "neu0000001"
    assert results["op-1"][1] is not None
    assert results["op-1"][1].status_code == 409
    assert results["op-2"][1] is not None
    assert results["op-2"][1].status_code == 404
    assert results["op-3"] == ("", None)  # 204: no body
    assert after.http_round_trips - before.http_round_trips == 1
    assert after.batch_parts - before.batch_parts == 4
    assert after.calls("events.insert") - before.calls("events.insert") == 2
    assert after.calls("events.insert", 409) == 1
    assert after.calls() - before.calls() == 4


def test_faults_apply_per_part_with_retry_after(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    emulator.inject_fault(
        method="events.insert", status=429, reason="rateLimitExceeded", retry_after=2, count=1
    )

    results = run_batch(emulator, [service.events().insert(calendarId=cal, body=timed(d)) for d in (1, 2, 3)])

    failed = [error for _, error in results.values() if error is not None]
    assert len(failed) == 1
    assert failed[0].status_code == 429
    assert failed[0].resp["retry-after"] == "2"
    assert json.loads(failed[0].content)["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    assert len(emulator.events(cal)) == 2


def test_unauthenticated_parts_are_retried_by_the_client_after_a_refresh(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().list(calendarId=cal).execute()  # obtains an access token
    emulator.expire_access_tokens()

    results = run_batch(emulator, [service.events().insert(calendarId=cal, body=timed(d)) for d in (1, 2)])

    assert all(error is None for _, error in results.values())
    assert emulator.counters.calls("events.insert", 401) == 2
    assert len(emulator.events(cal)) == 2


def test_a_thousand_parts_in_one_round_trip(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().list(calendarId=cal).execute()  # the token refresh is a round trip of its own
    before = emulator.counters.http_round_trips

    results = run_batch(
        emulator, [service.events().insert(calendarId=cal, body=timed(1 + n % 28)) for n in range(1000)]
    )

    assert all(error is None for _, error in results.values())
    assert emulator.counters.http_round_trips - before == 1
    assert len(emulator.events(cal)) == 1000


def test_more_than_a_thousand_parts_is_rejected(emulator: EmulatorServer) -> None:
    token = emulator.issue_access_token()
    part = (
        "--b\r\nContent-Type: application/http\r\nContent-ID: <p{n}>\r\n\r\n"
        "GET /calendar/v3/calendars/x%40example.com/events/abcdef HTTP/1.1\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    )
    body = "".join(part.format(n=n) for n in range(1001)) + "--b--\r\n"

    response = httpx.post(
        emulator.batch_uri, content=body, headers={"Content-Type": "multipart/mixed; boundary=b"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["reason"] == "batchSizeTooLarge"
    assert emulator.counters.calls("events.get") == 0
