"""Conformance: OAuth refresh, 401s, injected faults, counters and the /_emulator/ control API."""

from __future__ import annotations

import json

import httpx
import pytest
from emulator_client import calendar_service, credentials, new_calendar, timed
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from calsync_operator.emulator import EmulatorServer


def test_token_json_refreshes_through_the_emulator(emulator: EmulatorServer) -> None:
    info = json.loads(emulator.token_json(refresh_token="rt-alice", client_id="cid", client_secret="csecret"))
    service = calendar_service(emulator)

    service.events().list(calendarId=new_calendar(emulator)).execute()

    assert info["token_uri"] == emulator.root_url + "token"
    assert {"refresh_token", "client_id", "client_secret", "scopes", "token"} <= set(info)
    assert emulator.counters.calls("token", 200) == 1


def test_revoked_refresh_token_is_invalid_grant(emulator: EmulatorServer) -> None:
    emulator.revoke_refresh_token("rt-bob")
    creds = credentials(emulator, "rt-bob")

    with pytest.raises(RefreshError) as caught:
        calendar_service(emulator, "rt-bob").events().list(calendarId=new_calendar(emulator)).execute()
    raw = httpx.post(
        emulator.root_url + "token", data={"grant_type": "refresh_token", "refresh_token": "rt-bob"}
    )

    assert "invalid_grant" in str(caught.value)
    assert raw.status_code == 400
    assert raw.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    emulator.restore_refresh_token("rt-bob")
    assert creds.refresh_token == "rt-bob"
    calendar_service(emulator, "rt-bob").events().list(calendarId=new_calendar(emulator)).execute()


def test_missing_or_unknown_bearer_is_401_in_google_shape(emulator: EmulatorServer) -> None:
    url = emulator.api_endpoint + "calendars/x%40example.com/events"

    missing = httpx.get(url)
    unknown = httpx.get(url, headers={"Authorization": "Bearer not-issued"})

    assert missing.status_code == unknown.status_code == 401
    error = unknown.json()["error"]
    assert error["code"] == 401
    assert error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0]["reason"] == "authError"


def test_expired_access_tokens_are_refreshed_once_by_the_client(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().list(calendarId=cal).execute()

    emulator.expire_access_tokens()
    service.events().list(calendarId=cal).execute()

    assert emulator.counters.calls("events.list", 401) == 1
    assert emulator.counters.calls("token", 200) == 2


def test_any_issued_token_works_for_any_calendar(emulator: EmulatorServer) -> None:
    alice, bob = calendar_service(emulator, "rt-alice"), calendar_service(emulator, "rt-bob")
    cal = new_calendar(emulator)

    alice.events().insert(calendarId=cal, body=timed(1, id="shared0001")).execute()

    assert bob.events().get(calendarId=cal, eventId="shared0001").execute()["id"] == "shared0001"


def test_fault_status_reason_and_retry_after(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    emulator.inject_fault(method="events.insert", status=403, reason="quotaExceeded", retry_after=30, count=1)

    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId=cal, body=timed(1)).execute()
    service.events().insert(calendarId=cal, body=timed(1)).execute()  # count=1: only once

    assert caught.value.status_code == 403
    assert caught.value.resp["retry-after"] == "30"
    assert caught.value.error_details[0]["reason"] == "quotaExceeded"
    assert emulator.counters.calls("events.insert", 403) == 1
    assert len(emulator.events(cal)) == 1


def test_a_lost_answer_fault_applies_the_call_then_answers_the_error(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    emulator.inject_fault("events.insert", status=503, reason="backendError", lost_answer=True, count=1)

    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId=cal, body=timed(1, id="landed001")).execute()
    with pytest.raises(HttpError) as again:  # the client's retry meets its own write
        service.events().insert(calendarId=cal, body=timed(1, id="landed001")).execute()

    assert caught.value.status_code == 503
    assert (again.value.status_code, again.value.error_details[0]["reason"]) == (409, "duplicate")
    assert [e["id"] for e in emulator.events(cal)] == ["landed001"]


def test_star_faults_cover_calendar_calls_but_not_the_token_endpoint(emulator: EmulatorServer) -> None:
    service = calendar_service(emulator)
    emulator.inject_fault(method="*", status=503, reason="backendError")

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=new_calendar(emulator)).execute()

    assert caught.value.status_code == 503
    assert emulator.counters.calls("token", 200) == 1


def test_token_endpoint_faults(emulator: EmulatorServer) -> None:
    emulator.inject_fault(method="token", status=500, reason="internal_failure", count=1)

    first = httpx.post(
        emulator.root_url + "token", data={"grant_type": "refresh_token", "refresh_token": "rt"}
    )
    second = httpx.post(
        emulator.root_url + "token", data={"grant_type": "refresh_token", "refresh_token": "rt"}
    )

    assert (first.status_code, first.json()["error"]) == (500, "internal_failure")
    assert second.status_code == 200
    assert second.json()["expires_in"] > 0


def test_probability_zero_never_fires_and_latency_only_slows(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    never = emulator.inject_fault(method="events.list", status=500, probability=0.0, count=1)
    slow = emulator.inject_fault(method="events.list", status=None, latency=0.05, count=1)

    service.events().list(calendarId=cal).execute()

    assert (never.count, slow.count) == (1, 0)  # the latency rule fired, the other did not
    assert emulator.counters.calls("events.list", 200) == 1


def test_call_times_give_the_busiest_window(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    for _ in range(5):
        service.events().list(calendarId=cal).execute()

    counts = emulator.counters

    assert counts.max_calls_in_window(60.0) == 5
    assert counts.max_calls_in_window(0.0000001) == 1
    assert len(counts.call_times) == 5


def test_control_api_over_http(emulator: EmulatorServer) -> None:
    root = emulator.root_url + "_emulator/"
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=timed(1, id="ctrl000001")).execute()
    token = service.events().list(calendarId=cal).execute()["nextSyncToken"]

    fault = httpx.post(
        root + "faults", json={"method": "events.get", "status": 429, "reason": "rateLimitExceeded"}
    )
    listed = httpx.get(root + "faults").json()["items"]
    bad = httpx.post(root + "faults", json={"method": "events.get", "bogus": 1})
    httpx.post(root + f"calendars/{cal}/invalidate-sync-tokens")
    events = httpx.get(root + f"calendars/{cal}/events").json()["items"]
    counters = httpx.get(root + "counters").json()

    assert fault.status_code == 201
    assert listed[0]["status"] == 429
    assert bad.status_code == 400
    assert [e["id"] for e in events] == ["ctrl000001"]
    assert counters["requests"]["events.insert"] == {"200": 1}
    with pytest.raises(HttpError) as gone:
        service.events().list(calendarId=cal, syncToken=token).execute()
    assert gone.value.status_code == 410
    with pytest.raises(HttpError) as limited:
        service.events().get(calendarId=cal, eventId="ctrl000001").execute()
    assert limited.value.status_code == 429
    assert httpx.delete(root + "faults").status_code == 204
    assert httpx.post(root + "refresh-tokens/revoke", json={"refresh_token": "rt-x"}).status_code == 204
    assert httpx.post(root + "pushes/drop", json={"probability": 0.5}).status_code == 204
    assert httpx.get(root + "channels").json() == {"items": []}
    assert httpx.post(root + "reset").status_code == 204
    assert emulator.events(cal) == []
