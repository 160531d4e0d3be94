"""Conformance: the emulator is as strict as Google where Google is strict (docs/emulator.md,
"Strict like Google"). Every refusal answers with Google's status and reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from emulator_client import PushReceiver, calendar_service, new_calendar, timed
from googleapiclient.errors import HttpError

from calsync_operator.emulator import EmulatorServer


def refusal(call: Any) -> tuple[int, str]:
    with pytest.raises(HttpError) as caught:
        call.execute()
    detail = json.loads(caught.value.content)["error"]
    return detail["code"], detail["errors"][0]["reason"]


def weekly(event_id: str = "series0001", **extra: Any) -> dict[str, Any]:
    return timed(1, id=event_id, recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"], zone="Europe/Berlin", **extra)


def test_occurrence_ids_are_opaque_and_found_by_original_start(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=weekly()).execute()

    items = service.events().instances(calendarId=cal, eventId="series0001").execute()["items"]
    found = (
        service.events()
        .instances(calendarId=cal, eventId="series0001", originalStart="2026-12-08T09:00:00Z")
        .execute()["items"]
    )

    assert len(items) == 6
    assert all("series0001" not in i["id"] and "2026" not in i["id"] for i in items)
    assert [i["id"] for i in found] == [items[1]["id"]]
    assert (
        service.events().get(calendarId=cal, eventId=items[1]["id"]).execute()["recurringEventId"]
        == "series0001"
    )
    # The id a client would build from the master id and the start does not exist.
    assert refusal(
        service.events().patch(calendarId=cal, eventId="series0001_20261208T090000Z", body={})
    ) == (
        404,
        "notFound",
    )


def test_legacy_occurrence_ids_on_request(emulator: EmulatorServer) -> None:
    emulator.instance_ids("legacy")
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=weekly()).execute()

    items = service.events().instances(calendarId=cal, eventId="series0001", maxResults=2).execute()["items"]

    assert [i["id"] for i in items] == ["series0001_20261201T090000Z", "series0001_20261208T090000Z"]


def test_unknown_calendars_are_404_and_every_user_has_a_primary(emulator: EmulatorServer) -> None:
    emulator.register_user("rt-alice", "alice@example.com")
    service = calendar_service(emulator, refresh_token="rt-alice")

    assert refusal(service.events().list(calendarId="nobody@example.com")) == (404, "notFound")
    assert refusal(service.events().insert(calendarId="nobody@example.com", body=timed(1))) == (
        404,
        "notFound",
    )
    created = service.events().insert(calendarId="primary", body=timed(2)).execute()
    assert [e["id"] for e in emulator.events("alice@example.com")] == [created["id"]]
    assert created["organizer"] == {"email": "alice@example.com", "self": True}


def test_control_api_creates_calendars_over_http(emulator: EmulatorServer) -> None:
    answer = httpx.post(emulator.root_url + "_emulator/calendars", json={"id": "team@example.com"})

    assert answer.status_code == 204
    assert "team@example.com" in httpx.get(emulator.root_url + "_emulator/calendars").json()["items"]
    assert calendar_service(emulator).events().list(calendarId="team@example.com").execute()["items"] == []


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"colorId": "42"}, 400, "invalid"),
        ({"visibility": "secret"}, 400, "invalid"),
        ({"transparency": "translucent"}, 400, "invalid"),
        ({"eventType": "fromGmail"}, 400, "invalid"),
        ({"eventType": "workingLocation"}, 400, "invalid"),  # not a primary calendar
        ({"eventType": "birthday"}, 400, "invalid"),  # a timed birthday
    ],
)
def test_inserts_google_refuses(
    emulator: EmulatorServer, change: dict[str, Any], status: int, reason: str
) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)

    assert refusal(service.events().insert(calendarId=cal, body={**timed(1), **change})) == (status, reason)
    assert emulator.events(cal) == []


def test_a_series_needs_a_time_zone(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    body = timed(1, recurrence=["RRULE:FREQ=DAILY;COUNT=2"])  # dateTime with an offset, no timeZone

    assert refusal(service.events().insert(calendarId=cal, body=body)) == (400, "required")


def test_what_google_accepts_of_the_special_types(emulator: EmulatorServer) -> None:
    emulator.register_user("rt-bob", "bob@example.com")
    service = calendar_service(emulator, refresh_token="rt-bob")
    birthday = {
        "eventType": "birthday",
        "summary": "Ada",
        "start": {"date": "2026-12-10"},
        "end": {"date": "2026-12-11"},
        "visibility": "private",
        "transparency": "transparent",
        "recurrence": ["RRULE:FREQ=YEARLY"],
    }

    service.events().insert(calendarId="primary", body=birthday).execute()
    service.events().insert(calendarId="primary", body={**timed(3), "eventType": "workingLocation"}).execute()
    service.events().insert(calendarId="primary", body={**timed(4), "colorId": "11"}).execute()

    assert sorted(e["eventType"] for e in emulator.events("bob@example.com")) == [
        "birthday",
        "default",
        "workingLocation",
    ]


def test_type_changes_and_imports_of_other_types_are_refused(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=timed(1, id="plain00001")).execute()

    changed = service.events().patch(calendarId=cal, eventId="plain00001", body={"eventType": "focusTime"})
    imported = service.events().import_(
        calendarId=cal, body={**timed(2), "iCalUID": "x@y", "eventType": "outOfOffice"}
    )

    assert refusal(changed) == (400, "invalid")
    assert refusal(imported) == (400, "invalid")


def test_only_the_organizer_changes_attendees(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    invited = {
        **timed(1),
        "iCalUID": "meeting-1@boss",
        "organizer": {"email": "boss@example.com"},
        "attendees": [{"email": "boss@example.com"}, {"email": cal}],
    }
    event = service.events().import_(calendarId=cal, body=invited).execute()
    add_guest = {"attendees": [*event["attendees"], {"email": "me@example.com"}]}

    assert event["organizer"] == {"email": "boss@example.com", "self": False}
    with pytest.raises(HttpError) as caught:
        service.events().patch(calendarId=cal, eventId=event["id"], body=add_guest).execute()
    detail = json.loads(caught.value.content)["error"]["errors"][0]
    assert (caught.value.resp.status, detail["domain"], detail["reason"]) == (
        403,
        "calendar",
        "forbiddenForNonOrganizer",
    )
    # Other changes (a title on one's own copy of the invitation) are fine.
    service.events().patch(calendarId=cal, eventId=event["id"], body={"summary": "Renamed"}).execute()


def test_watch_needs_https(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)

    def watch(channel_id: str, address: str) -> Any:
        return service.events().watch(
            calendarId=cal, body={"id": channel_id, "type": "web_hook", "address": address}
        )

    assert refusal(watch("c1", "http://127.0.0.1:9/push")) == (400, "push.webhookUrlNotHttps")
    assert watch("c2", "https://calsync.example.com/push").execute()["id"] == "c2"
    emulator.allow_http_push()
    assert refusal(watch("c3", "http://calsync.example.com/push")) == (400, "push.webhookUrlNotHttps")
    receiver = PushReceiver()
    try:
        assert watch("c4", receiver.url).execute()["id"] == "c4"  # loopback http, by option only
    finally:
        receiver.close()


def test_garbage_sync_tokens_are_400_and_invalidated_ones_410(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    token = service.events().list(calendarId=cal).execute()["nextSyncToken"]
    emulator.invalidate_sync_tokens(cal)

    assert refusal(service.events().list(calendarId=cal, syncToken="garbage")) == (400, "invalid")
    assert refusal(service.events().list(calendarId=cal, syncToken=token)) == (410, "fullSyncRequired")


def test_a_deleted_series_shows_as_cancelled_instances_with_single_events(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=weekly()).execute()
    window = {"timeMin": "2026-11-01T00:00:00Z", "timeMax": "2027-11-01T00:00:00Z"}
    token = service.events().list(calendarId=cal, singleEvents=True, **window).execute()["nextSyncToken"]
    service.events().delete(calendarId=cal, eventId="series0001").execute()

    changes = service.events().list(calendarId=cal, singleEvents=True, syncToken=token).execute()["items"]

    assert len(changes) == 6
    assert all(c["status"] == "cancelled" and c["recurringEventId"] == "series0001" for c in changes)
    assert "series0001" not in {c["id"] for c in changes}  # not the master


def test_this_and_following_makes_an_r_series(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=weekly()).execute()

    split = emulator.split_series(
        cal, "series0001", datetime(2026, 12, 15, 9, tzinfo=UTC), {"summary": "New room"}
    )

    assert split["id"] == "series0001_R20261215T090000"
    old = service.events().instances(calendarId=cal, eventId="series0001").execute()["items"]
    new = service.events().instances(calendarId=cal, eventId=split["id"]).execute()["items"]
    assert [i["start"]["dateTime"] for i in old] == ["2026-12-01T10:00:00+01:00", "2026-12-08T10:00:00+01:00"]
    assert [(i["start"]["dateTime"], i["summary"]) for i in new] == [
        (f"2026-12-{day}T10:00:00+01:00", "New room") for day in (15, 22, 29)
    ] + [("2027-01-05T10:00:00+01:00", "New room")]
