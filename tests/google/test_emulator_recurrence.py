"""Conformance: recurring masters, instances, exceptions and singleEvents expansion.

These tests read occurrence ids, so they run with the legacy ``<master id>_<start>`` format;
test_emulator_strict.py covers the opaque ids the emulator gives by default, as Google does.
"""

from __future__ import annotations

from typing import Any

import pytest
from emulator_client import calendar_service, new_calendar, timed
from googleapiclient.errors import HttpError

from calsync_operator.emulator import EmulatorServer


@pytest.fixture(autouse=True)
def legacy_instance_ids(emulator: EmulatorServer) -> None:
    emulator.instance_ids("legacy")  # reset() after the test brings back the opaque default


def series(
    event_id: str, start: str, end: str, *rules: str, tz: str | None = "Europe/Berlin"
) -> dict[str, Any]:
    def moment(value: str) -> dict[str, str]:
        if len(value) == 10:
            return {"date": value}
        return {"dateTime": value, "timeZone": tz} if tz else {"dateTime": value}

    return {
        "id": event_id,
        "summary": "standup",
        "start": moment(start),
        "end": moment(end),
        "recurrence": list(rules),
    }


def daily_from_dec_1(event_id: str, count: int | None = None, tz: str | None = "UTC") -> dict[str, Any]:
    """``event_id`` daily 09:00-10:00 UTC from 2026-12-01, ``count`` times (None: forever)."""
    rule = "RRULE:FREQ=DAILY" if count is None else f"RRULE:FREQ=DAILY;COUNT={count}"
    return series(event_id, "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z", rule, tz=tz)


def calendar_with(emulator: EmulatorServer, body: dict[str, Any]) -> tuple[Any, str]:
    """A new calendar holding the event ``body``, and the service that wrote it there."""
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=body).execute()
    return service, cal


def instance_ids(service: Any, cal: str, event_id: str, **params: Any) -> list[str]:
    items = service.events().instances(calendarId=cal, eventId=event_id, **params).execute()["items"]
    return [e["id"] for e in items]


def test_daily_series_keeps_wall_clock_time_across_dst(emulator: EmulatorServer) -> None:
    body = series(
        "dst0000001", "2027-03-26T09:00:00+01:00", "2027-03-26T09:30:00+01:00", "RRULE:FREQ=DAILY;COUNT=4"
    )
    service, cal = calendar_with(emulator, body)

    items = service.events().instances(calendarId=cal, eventId="dst0000001").execute()["items"]

    # Berlin switches to summer time on 2027-03-28: 09:00 local is 08:00 UTC before, 07:00 after.
    assert [e["id"] for e in items] == [
        "dst0000001_20270326T080000Z",
        "dst0000001_20270327T080000Z",
        "dst0000001_20270328T070000Z",
        "dst0000001_20270329T070000Z",
    ]
    first = items[0]
    assert first["recurringEventId"] == "dst0000001"
    assert first["originalStartTime"] == first["start"]
    assert first["start"]["timeZone"] == "Europe/Berlin"
    assert "recurrence" not in first


def test_weekly_byday_interval_until_and_exdate(emulator: EmulatorServer) -> None:
    body = series(
        "tue0000001",
        "2026-11-30T10:00:00Z",
        "2026-11-30T11:00:00Z",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20261225T000000Z",
        "EXDATE:20261203T100000Z",
        tz="UTC",
    )
    service, cal = calendar_with(emulator, body)

    assert instance_ids(service, cal, "tue0000001") == [
        "tue0000001_20261130T100000Z",  # 3 Dec excluded; 7-11 Dec is the off week
        "tue0000001_20261214T100000Z",
        "tue0000001_20261217T100000Z",
    ]


def test_monthly_series_and_all_day_instance_ids(emulator: EmulatorServer) -> None:
    service, cal = calendar_with(
        emulator, series("mon0000001", "2026-12-15", "2026-12-16", "RRULE:FREQ=MONTHLY;COUNT=3")
    )

    items = service.events().instances(calendarId=cal, eventId="mon0000001").execute()["items"]

    assert [e["id"] for e in items] == ["mon0000001_20261215", "mon0000001_20270115", "mon0000001_20270215"]
    assert items[1]["start"] == {"date": "2027-01-15"}
    assert items[1]["end"] == {"date": "2027-01-16"}
    assert items[1]["originalStartTime"] == {"date": "2027-01-15"}


def test_instances_window_and_paging(emulator: EmulatorServer) -> None:
    service, cal = calendar_with(emulator, daily_from_dec_1("open000001", tz="Europe/Berlin"))
    request = service.events().instances(
        calendarId=cal,
        eventId="open000001",
        timeMin="2026-12-10T00:00:00Z",
        timeMax="2026-12-15T00:00:00Z",
        maxResults=2,
    )

    ids = []
    while request is not None:
        page = request.execute()
        ids += [e["id"] for e in page["items"]]
        request = service.events().instances_next(request, page)

    assert ids == [f"open000001_202612{d}T090000Z" for d in range(10, 15)]


def test_single_events_expands_sorts_and_mixes_with_one_off_events(emulator: EmulatorServer) -> None:
    service, cal = calendar_with(emulator, daily_from_dec_1("combo00001", 30))
    service.events().insert(calendarId=cal, body=timed(2, hour=12, id="oneoff0001")).execute()

    listed = (
        service.events()
        .list(
            calendarId=cal,
            singleEvents=True,
            orderBy="startTime",
            timeMin="2026-12-02T00:00:00Z",
            timeMax="2026-12-04T00:00:00Z",
        )
        .execute()["items"]
    )
    plain = service.events().list(calendarId=cal).execute()["items"]

    assert [e["id"] for e in listed] == [
        "combo00001_20261202T090000Z",
        "oneoff0001",
        "combo00001_20261203T090000Z",
    ]
    assert sorted(e["id"] for e in plain) == ["combo00001", "oneoff0001"]  # masters unexpanded


def test_patching_an_instance_creates_an_exception(emulator: EmulatorServer) -> None:
    service, cal = calendar_with(emulator, daily_from_dec_1("moved00001", 3))
    token = service.events().list(calendarId=cal).execute()["nextSyncToken"]

    moved = (
        service.events()
        .patch(
            calendarId=cal,
            eventId="moved00001_20261202T090000Z",
            body={
                "summary": "moved",
                "start": {"dateTime": "2026-12-02T15:00:00Z"},
                "end": {"dateTime": "2026-12-02T16:00:00Z"},
            },
        )
        .execute()
    )

    assert moved["recurringEventId"] == "moved00001"
    assert moved["originalStartTime"] == {"dateTime": "2026-12-02T09:00:00Z", "timeZone": "UTC"}
    assert moved["start"]["dateTime"] == "2026-12-02T15:00:00Z"
    expanded = (
        service.events().list(calendarId=cal, singleEvents=True, orderBy="startTime").execute()["items"]
    )
    assert [(e["id"], e["summary"]) for e in expanded] == [
        ("moved00001_20261201T090000Z", "standup"),
        ("moved00001_20261202T090000Z", "moved"),
        ("moved00001_20261203T090000Z", "standup"),
    ]
    changes = service.events().list(calendarId=cal, syncToken=token).execute()["items"]
    assert [(e["id"], e["recurringEventId"]) for e in changes] == [
        ("moved00001_20261202T090000Z", "moved00001")
    ]
    assert sorted(e["id"] for e in service.events().list(calendarId=cal).execute()["items"]) == [
        "moved00001",
        "moved00001_20261202T090000Z",
    ]


def test_deleting_an_instance_cancels_one_occurrence(emulator: EmulatorServer) -> None:
    service, cal = calendar_with(emulator, daily_from_dec_1("del0000001", 3))

    service.events().delete(calendarId=cal, eventId="del0000001_20261202T090000Z").execute()

    assert instance_ids(service, cal, "del0000001") == [
        "del0000001_20261201T090000Z",
        "del0000001_20261203T090000Z",
    ]
    with_deleted = (
        service.events().instances(calendarId=cal, eventId="del0000001", showDeleted=True).execute()
    )
    assert [e["status"] for e in with_deleted["items"]] == ["confirmed", "cancelled", "confirmed"]
    # Google lists cancelled occurrences of a live series even without showDeleted (singleEvents=false).
    plain = service.events().list(calendarId=cal).execute()["items"]
    assert sorted((e["id"], e["status"]) for e in plain) == [
        ("del0000001", "confirmed"),
        ("del0000001_20261202T090000Z", "cancelled"),
    ]
    assert service.events().get(calendarId=cal, eventId="del0000001").execute()["status"] == "confirmed"


def test_deleting_the_master_cancels_the_series(emulator: EmulatorServer) -> None:
    service, cal = calendar_with(emulator, daily_from_dec_1("gone000001", 3))
    service.events().patch(
        calendarId=cal, eventId="gone000001_20261201T090000Z", body={"summary": "x"}
    ).execute()

    service.events().delete(calendarId=cal, eventId="gone000001").execute()

    assert service.events().list(calendarId=cal, singleEvents=True).execute()["items"] == []
    assert {e["status"] for e in emulator.events(cal, include_cancelled=True)} == {"cancelled"}


def test_get_of_an_instance_id_outside_the_series_is_404(emulator: EmulatorServer) -> None:
    service, cal = calendar_with(emulator, daily_from_dec_1("pair000001", 2))

    inside = service.events().get(calendarId=cal, eventId="pair000001_20261202T090000Z").execute()
    with pytest.raises(HttpError) as caught:
        service.events().get(calendarId=cal, eventId="pair000001_20261203T090000Z").execute()

    assert inside["recurringEventId"] == "pair000001"
    assert caught.value.status_code == 404


def test_an_invalid_rule_is_400(emulator: EmulatorServer) -> None:
    service = calendar_service(emulator)
    body = series(
        "bad0000001", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z", "RRULE:FREQ=SOMETIMES", tz=None
    )

    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId=new_calendar(emulator), body=body).execute()

    assert caught.value.status_code == 400
