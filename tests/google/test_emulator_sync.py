"""Conformance: pagination and sync tokens through the real client (docs/design.md §4 state machine)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from emulator_client import calendar_service, new_calendar, timed
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from calsync_operator.emulator import EmulatorServer


def all_pages(service: Any, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(items, raw pages) following nextPageToken with the same query."""
    pages, items = [], []
    request = service.events().list(**params)
    while request is not None:
        page = request.execute()
        pages.append(page)
        items.extend(page["items"])
        request = service.events().list_next(request, page)
    return items, pages


def seed(service: Any, cal: str, count: int) -> None:
    for n in range(count):
        service.events().insert(calendarId=cal, body=timed(1 + n % 28, id=f"seed{n:06d}")).execute()


def test_paging_returns_everything_once_and_sync_token_only_on_last_page(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    seed(service, cal, 7)

    items, pages = all_pages(service, calendarId=cal, maxResults=3)

    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert sorted(e["id"] for e in items) == [f"seed{n:06d}" for n in range(7)]
    assert ["nextSyncToken" in p for p in pages] == [False, False, True]
    assert ["nextPageToken" in p for p in pages] == [True, True, False]


def test_default_page_size_is_250_and_maximum_is_2500(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    batch = BatchHttpRequest(batch_uri=emulator.batch_uri)
    for n in range(260):
        batch.add(service.events().insert(calendarId=cal, body=timed(1 + n % 28)))
    batch.execute()

    default = service.events().list(calendarId=cal).execute()
    capped = service.events().list(calendarId=cal, maxResults=5000).execute()

    assert len(default["items"]) == 250
    assert len(capped["items"]) == 260


def test_incremental_list_returns_changes_and_deletions(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    seed(service, cal, 4)
    _, pages = all_pages(service, calendarId=cal)
    token = pages[-1]["nextSyncToken"]

    service.events().patch(calendarId=cal, eventId="seed000001", body={"summary": "renamed"}).execute()
    service.events().delete(calendarId=cal, eventId="seed000002").execute()
    service.events().insert(calendarId=cal, body=timed(5, id="fresh00001")).execute()
    changes, change_pages = all_pages(service, calendarId=cal, syncToken=token)

    assert {e["id"]: e["status"] for e in changes} == {
        "seed000001": "confirmed",
        "seed000002": "cancelled",
        "fresh00001": "confirmed",
    }
    quiet, _ = all_pages(service, calendarId=cal, syncToken=change_pages[-1]["nextSyncToken"])
    assert quiet == []


def test_incremental_paging_keeps_the_sync_token_for_the_last_page(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    _, pages = all_pages(service, calendarId=cal)
    seed(service, cal, 5)

    changes, change_pages = all_pages(
        service, calendarId=cal, syncToken=pages[-1]["nextSyncToken"], maxResults=2
    )

    assert len(changes) == 5
    assert ["nextSyncToken" in p for p in change_pages] == [False, False, True]


def test_changes_during_paging_show_up_in_the_next_incremental_list(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    seed(service, cal, 4)
    request = service.events().list(calendarId=cal, maxResults=2)
    first = request.execute()
    service.events().delete(calendarId=cal, eventId="seed000000").execute()  # already delivered
    service.events().delete(calendarId=cal, eventId="seed000003").execute()  # not yet delivered

    rest = service.events().list_next(request, first).execute()
    changes, _ = all_pages(service, calendarId=cal, syncToken=rest["nextSyncToken"])

    assert [e["id"] for e in first["items"] + rest["items"]] == [f"seed{n:06d}" for n in range(4)]
    assert sorted((e["id"], e["status"]) for e in changes) == [
        ("seed000000", "cancelled"),
        ("seed000003", "cancelled"),
    ]


@pytest.mark.parametrize(
    "param",
    [
        {"timeMin": "2026-12-01T00:00:00Z"},
        {"timeMax": "2026-12-01T00:00:00Z"},
        {"q": "x"},
        {"orderBy": "updated"},
        {"updatedMin": "2026-12-01T00:00:00Z"},
        {"privateExtendedProperty": "calsyncSource=a"},
        {"iCalUID": "x@google.com"},
        {"showDeleted": False},
    ],
)
def test_forbidden_parameters_with_sync_token_are_400(
    emulator: EmulatorServer, param: dict[str, str]
) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    token = service.events().list(calendarId=cal).execute()["nextSyncToken"]

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=cal, syncToken=token, **param).execute()

    assert caught.value.status_code == 400
    assert caught.value.error_details[0]["reason"] == "syncTokenWithRequestRestrictions"


def test_invalidated_sync_token_is_410_full_sync_required(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    seed(service, cal, 2)
    token = service.events().list(calendarId=cal).execute()["nextSyncToken"]
    other = new_calendar(emulator)
    other_token = service.events().list(calendarId=other).execute()["nextSyncToken"]

    emulator.invalidate_sync_tokens(cal)

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=cal, syncToken=token).execute()
    error = json.loads(caught.value.content)["error"]
    assert caught.value.status_code == 410
    assert error["errors"][0]["reason"] == "fullSyncRequired"
    assert service.events().list(calendarId=other, syncToken=other_token).execute()["items"] == []
    fresh = service.events().list(calendarId=cal).execute()  # a full sync issues a working token
    assert service.events().list(calendarId=cal, syncToken=fresh["nextSyncToken"]).execute()["items"] == []


def test_page_token_with_a_different_query_is_rejected(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    seed(service, cal, 3)
    page = service.events().list(calendarId=cal, maxResults=1).execute()

    with pytest.raises(HttpError) as caught:
        service.events().list(
            calendarId=cal, maxResults=1, showDeleted=True, pageToken=page["nextPageToken"]
        ).execute()

    assert caught.value.status_code == 400


def test_full_list_with_window_then_incremental(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=timed(2, id="inside0001")).execute()
    service.events().insert(calendarId=cal, body=timed(27, id="outside001")).execute()

    window, pages = all_pages(
        service, calendarId=cal, timeMin="2026-12-01T00:00:00Z", timeMax="2026-12-10T00:00:00Z"
    )
    service.events().delete(calendarId=cal, eventId="inside0001").execute()
    changes, _ = all_pages(service, calendarId=cal, syncToken=pages[-1]["nextSyncToken"])

    assert [e["id"] for e in window] == ["inside0001"]
    assert [(e["id"], e["status"]) for e in changes] == [("inside0001", "cancelled")]


def test_short_and_empty_pages_mid_stream_still_deliver_everything(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    seed(service, cal, 30)
    emulator.short_pages(0.7)

    items, pages = all_pages(service, calendarId=cal, maxResults=4)

    assert sorted(e["id"] for e in items) == [f"seed{n:06d}" for n in range(30)]
    assert any(len(p["items"]) < 4 for p in pages[:-1])
    assert "nextSyncToken" in pages[-1]


def test_updated_min_includes_deletions(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    seed(service, cal, 2)
    since = service.events().get(calendarId=cal, eventId="seed000001").execute()["updated"]

    service.events().delete(calendarId=cal, eventId="seed000001").execute()
    recent = service.events().list(calendarId=cal, updatedMin=since).execute()["items"]

    assert [(e["id"], e["status"]) for e in recent] == [("seed000001", "cancelled")]


def test_single_events_incremental_expands_a_changed_series(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    window = {"timeMin": "2026-12-01T00:00:00Z", "timeMax": "2026-12-04T00:00:00Z"}
    token = service.events().list(calendarId=cal, singleEvents=True, **window).execute()["nextSyncToken"]

    service.events().insert(
        calendarId=cal,
        body=timed(1, id="series0001", recurrence=["RRULE:FREQ=DAILY"], zone="UTC"),
    ).execute()
    changes = service.events().list(calendarId=cal, singleEvents=True, syncToken=token).execute()["items"]

    # The series is expanded within the window of the full sync that issued the token chain.
    assert [(e["recurringEventId"], e["originalStartTime"]["dateTime"]) for e in changes] == [
        ("series0001", f"2026-12-0{d}T09:00:00Z") for d in (1, 2, 3)
    ]


def test_cancelled_events_are_listed_with_only_what_google_guarantees(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(
        calendarId=cal, body=timed(1, id="min0000001", recurrence=["RRULE:FREQ=DAILY"], zone="UTC")
    ).execute()
    service.events().insert(calendarId=cal, body=timed(2, id="min0000002")).execute()
    token = service.events().list(calendarId=cal).execute()["nextSyncToken"]
    found = (
        service.events()
        .instances(calendarId=cal, eventId="min0000001", originalStart="2026-12-02T09:00:00Z")
        .execute()["items"]
    )
    service.events().delete(calendarId=cal, eventId=found[0]["id"]).execute()
    service.events().delete(calendarId=cal, eventId="min0000002").execute()

    changes = {e["id"]: e for e in service.events().list(calendarId=cal, syncToken=token).execute()["items"]}

    occurrence, deleted = changes[found[0]["id"]], changes["min0000002"]
    assert set(occurrence) >= {"id", "status", "recurringEventId", "originalStartTime"}
    assert "summary" not in occurrence
    assert "start" not in deleted
    assert "summary" not in deleted
    full = service.events().get(calendarId=cal, eventId="min0000002").execute()
    assert full["summary"] == "event on 2 at 9"


def test_full_cancelled_form_on_request(emulator: EmulatorServer) -> None:
    service, cal = calendar_service(emulator), new_calendar(emulator)
    service.events().insert(calendarId=cal, body=timed(2, id="min0000003")).execute()
    token = service.events().list(calendarId=cal).execute()["nextSyncToken"]
    service.events().delete(calendarId=cal, eventId="min0000003").execute()
    emulator.minimal_cancelled(False)

    changes = service.events().list(calendarId=cal, syncToken=token).execute()["items"]

    assert [(e["id"], e["status"], e["summary"]) for e in changes] == [
        ("min0000003", "cancelled", "event on 2 at 9")
    ]
