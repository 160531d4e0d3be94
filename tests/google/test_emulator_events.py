"""Conformance: event CRUD semantics through the real google-api-python-client over HTTP."""

from __future__ import annotations

import json

import pytest
from emulator_client import calendar_service, new_calendar, timed
from googleapiclient.errors import HttpError

from calsync_operator.emulator import EmulatorServer


def reason(error: HttpError) -> str:
    return str(json.loads(error.content)["error"]["errors"][0]["reason"])


def test_insert_get_and_server_fields(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)

    created = service.events().insert(calendarId=cal, body=timed(1, id="abcde01234")).execute()
    fetched = service.events().get(calendarId=cal, eventId="abcde01234").execute()

    assert fetched == created
    assert created["kind"] == "calendar#event"
    assert created["status"] == "confirmed"
    assert created["etag"].startswith('"')
    assert created["sequence"] == 0
    assert created["organizer"] == {"email": cal, "self": True}
    assert created["iCalUID"] == "abcde01234@google.com"
    assert created["updated"].endswith("Z")


def test_generated_ids_are_base32hex(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)

    created = service.events().insert(calendarId=cal, body=timed(1)).execute()

    assert set(created["id"]) <= set("0123456789abcdefghijklmnopqrstuv")
    assert 5 <= len(created["id"]) <= 1024


@pytest.mark.parametrize("bad_id", ["abc", "UPPERCASE1", "has_underscore", "wxyz12345", "x" * 1025])
def test_invalid_client_ids_are_rejected(emulator: EmulatorServer, bad_id: str) -> None:
    service = calendar_service(emulator)

    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId=new_calendar(emulator), body=timed(1, id=bad_id)).execute()

    assert caught.value.status_code == 400
    assert reason(caught.value) == "invalid"


def test_duplicate_id_is_409_even_after_deletion(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=timed(1, id="dup0000001")).execute()
    service.events().delete(calendarId=cal, eventId="dup0000001").execute()

    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId=cal, body=timed(2, id="dup0000001")).execute()

    assert caught.value.status_code == 409
    assert reason(caught.value) == "duplicate"


def test_deleted_events_stay_as_cancelled(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=timed(1, id="gone000001")).execute()

    service.events().delete(calendarId=cal, eventId="gone000001").execute()

    assert service.events().get(calendarId=cal, eventId="gone000001").execute()["status"] == "cancelled"
    assert service.events().list(calendarId=cal).execute()["items"] == []
    shown = service.events().list(calendarId=cal, showDeleted=True).execute()["items"]
    assert [(e["id"], e["status"]) for e in shown] == [("gone000001", "cancelled")]
    with pytest.raises(HttpError) as again:
        service.events().delete(calendarId=cal, eventId="gone000001").execute()
    assert (again.value.status_code, reason(again.value)) == (410, "deleted")


def test_unknown_event_is_404_not_found(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)

    for call in (
        service.events().get(calendarId=cal, eventId="nothere01"),
        service.events().delete(calendarId=cal, eventId="nothere01"),
        service.events().update(calendarId=cal, eventId="nothere01", body=timed(1)),
    ):
        with pytest.raises(HttpError) as caught:
            call.execute()
        assert (caught.value.status_code, reason(caught.value)) == (404, "notFound")


def test_update_restores_a_cancelled_event(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=timed(1, id="back000001")).execute()
    service.events().delete(calendarId=cal, eventId="back000001").execute()

    restored = (
        service.events()
        .update(calendarId=cal, eventId="back000001", body=timed(1, status="confirmed", summary="again"))
        .execute()
    )

    assert restored["status"] == "confirmed"
    assert [e["summary"] for e in emulator.events(cal)] == ["again"]


def test_update_and_patch_change_etag_updated_and_sequence(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    first = service.events().insert(calendarId=cal, body=timed(1, id="seq0000001", location="A")).execute()

    renamed = (
        service.events().patch(calendarId=cal, eventId="seq0000001", body={"description": "d"}).execute()
    )
    moved = (
        service.events().update(calendarId=cal, eventId="seq0000001", body=timed(2, location="A")).execute()
    )

    assert renamed["description"] == "d"
    assert renamed["summary"] == first["summary"]  # patch keeps what it does not name
    assert renamed["sequence"] == first["sequence"]  # a description is not a significant change
    assert "description" not in moved  # update replaces the whole event
    assert moved["sequence"] == first["sequence"] + 1  # new time: significant
    assert len({first["etag"], renamed["etag"], moved["etag"]}) == 3
    assert first["updated"] <= renamed["updated"] <= moved["updated"]
    assert moved["created"] == first["created"]


def test_patch_merges_nested_objects_and_null_clears(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    props = {"private": {"calsyncSource": "a", "calsyncHash": "h1"}}
    service.events().insert(
        calendarId=cal, body=timed(1, id="nest000001", extendedProperties=props)
    ).execute()

    patched = (
        service.events()
        .patch(
            calendarId=cal,
            eventId="nest000001",
            body={"extendedProperties": {"private": {"calsyncHash": "h2"}}, "summary": None},
        )
        .execute()
    )

    assert patched["extendedProperties"]["private"] == {"calsyncSource": "a", "calsyncHash": "h2"}
    assert "summary" not in patched


def test_private_extended_property_filter(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    for n, source in enumerate(["src-a", "src-b", "src-a"], start=1):
        body = timed(
            n, id=f"prop00000{n}", extendedProperties={"private": {"calsyncSource": source, "k": "v"}}
        )
        service.events().insert(calendarId=cal, body=body).execute()
    service.events().insert(calendarId=cal, body=timed(9, id="plain00001")).execute()

    one = service.events().list(calendarId=cal, privateExtendedProperty="calsyncSource=src-a").execute()
    both = (
        service.events()
        .list(calendarId=cal, privateExtendedProperty=["calsyncSource=src-b", "k=v"])
        .execute()
    )

    assert [e["id"] for e in one["items"]] == ["prop000001", "prop000003"]
    assert [e["id"] for e in both["items"]] == ["prop000002"]


def test_time_window_and_start_time_order(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    for day in (20, 3, 10, 28):
        service.events().insert(calendarId=cal, body=timed(day)).execute()

    listed = (
        service.events()
        .list(
            calendarId=cal,
            timeMin="2026-12-03T09:30:00Z",  # overlaps the event on the 3rd (09:00-10:00)
            timeMax="2026-12-28T00:00:00Z",
            singleEvents=True,
            orderBy="startTime",
        )
        .execute()
    )

    assert [e["start"]["dateTime"][:10] for e in listed["items"]] == [
        "2026-12-03",
        "2026-12-10",
        "2026-12-20",
    ]


def test_order_by_start_time_needs_single_events(emulator: EmulatorServer) -> None:
    service = calendar_service(emulator)

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=new_calendar(emulator), orderBy="startTime").execute()

    assert caught.value.status_code == 400


def test_missing_end_and_empty_range_are_400(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    no_end = {"summary": "x", "start": {"dateTime": "2026-12-01T09:00:00Z"}}
    backwards = timed(1) | {"end": {"dateTime": "2026-12-01T08:00:00Z"}}

    for body, expected in ((no_end, "required"), (backwards, "timeRangeEmpty")):
        with pytest.raises(HttpError) as caught:
            service.events().insert(calendarId=cal, body=body).execute()
        assert (caught.value.status_code, reason(caught.value)) == (400, expected)


def test_send_updates_and_invitations_are_recorded(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    guests = [{"email": "bob@example.com"}, {"email": cal}]

    quiet = (
        service.events().insert(calendarId=cal, body=timed(1, attendees=guests), sendUpdates="none").execute()
    )
    service.events().insert(calendarId=cal, body=timed(2, attendees=guests), sendUpdates="all").execute()

    counts = emulator.counters
    assert counts.send_updates == {"none": 1, "all": 1}
    assert counts.invitations_sent == 1  # bob, once; the organizer invites nobody when it is itself
    assert quiet["attendees"][0]["responseStatus"] == "needsAction"
    assert quiet["attendees"][1]["self"] is True


def test_import_replaces_by_ical_uid(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)

    first = service.events().import_(calendarId=cal, body=timed(1, iCalUID="ext-1@example.org")).execute()
    second = (
        service.events()
        .import_(calendarId=cal, body=timed(1, iCalUID="ext-1@example.org", summary="changed"))
        .execute()
    )

    assert second["id"] == first["id"]
    assert [e["summary"] for e in emulator.events(cal)] == ["changed"]


def test_calendar_paths_also_work_with_the_root_as_api_endpoint(emulator: EmulatorServer) -> None:
    cal = new_calendar(emulator)
    by_root = calendar_service(emulator, endpoint=emulator.root_url)
    by_service_url = calendar_service(emulator)

    by_root.events().insert(calendarId=cal, body=timed(1, id="root000001")).execute()

    assert by_service_url.events().get(calendarId=cal, eventId="root000001").execute()["id"] == "root000001"
