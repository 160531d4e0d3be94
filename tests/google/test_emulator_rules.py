"""The emulator's pure parts without a server: recurrence, list parameters, faults, batch format."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from calsync_operator.emulator.batch import PartResponse, parse_batch, render_batch
from calsync_operator.emulator.counters import Counters
from calsync_operator.emulator.errors import ApiError
from calsync_operator.emulator.faults import FaultInjector, FaultRule
from calsync_operator.emulator.instanceids import InstanceIds
from calsync_operator.emulator.listing import parse_list_query
from calsync_operator.emulator.recurrence import RecurrenceError, Series, split_instance_id


def master(start: str, end: str, *rules: str, tz: str | None = None) -> dict[str, object]:
    def moment(value: str) -> dict[str, str]:
        if len(value) == 10:
            return {"date": value}
        return {"dateTime": value, "timeZone": tz} if tz else {"dateTime": value}

    return {"id": "m0000", "start": moment(start), "end": moment(end), "recurrence": list(rules)}


def test_exdate_in_the_events_zone_removes_that_occurrence() -> None:
    series = Series(
        master(
            "2026-11-25T09:00:00+01:00",
            "2026-11-25T10:00:00+01:00",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4",
            "EXDATE;TZID=Europe/Berlin:20261130T090000",
            tz="Europe/Berlin",
        )
    )

    starts = [o.isoformat() for o in series.occurrences() if isinstance(o, datetime)]

    assert starts == ["2026-11-25T09:00:00+01:00", "2026-12-02T09:00:00+01:00", "2026-12-07T09:00:00+01:00"]


def test_all_day_until_and_date_exdate() -> None:
    series = Series(
        master("2026-12-01", "2026-12-02", "RRULE:FREQ=DAILY;UNTIL=20261204", "EXDATE;VALUE=DATE:20261202")
    )

    assert series.occurrences() == [date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 4)]
    assert series.contains(date(2026, 12, 3))
    assert not series.contains(date(2026, 12, 2))


def test_window_selects_overlapping_occurrences_only() -> None:
    series = Series(master("2026-12-01T09:00:00Z", "2026-12-01T11:00:00Z", "RRULE:FREQ=DAILY"))

    found = series.occurrences(datetime(2026, 12, 3, 10, tzinfo=UTC), datetime(2026, 12, 5, 9, tzinfo=UTC))

    assert [o.day for o in found if isinstance(o, datetime)] == [3, 4]  # the 5th starts at timeMax


def test_instance_ids_round_trip() -> None:
    series = Series(master("2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z", "RRULE:FREQ=DAILY;COUNT=2"))
    parts = split_instance_id("m0000_20261202T090000Z")

    assert parts == ("m0000", "20261202T090000Z")
    original = series.original_from_suffix(parts[1])
    assert original is not None
    assert InstanceIds("legacy").make("m0000", original) == "m0000_20261202T090000Z"
    assert split_instance_id("plainid0") is None
    assert series.original_from_suffix("20261202") is None  # a date suffix on a timed series


def test_a_series_without_rrule_is_invalid() -> None:
    with pytest.raises(RecurrenceError):
        Series(master("2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z", "EXDATE:20261202T090000Z"))


def test_list_query_defaults_and_caps() -> None:
    default = parse_list_query({})
    capped = parse_list_query({"maxResults": ["9999"], "updatedMin": ["2026-12-01T00:00:00Z"]})

    assert default.max_results == 250
    assert not default.show_deleted
    assert capped.max_results == 2500
    assert capped.show_deleted  # updatedMin always includes deletions


def test_sync_token_forbids_window_and_implies_deleted() -> None:
    with pytest.raises(ApiError) as caught:
        parse_list_query({"syncToken": ["t"], "timeMin": ["2026-12-01T00:00:00Z"]})

    assert caught.value.status == 400
    assert parse_list_query({"syncToken": ["t"]}).show_deleted


def test_fault_count_probability_and_star() -> None:
    faults = FaultInjector()
    faults.add(FaultRule("*", status=503, count=2))

    decisions = [faults.decide("events.list").error for _ in range(3)]

    assert [d.status if d else None for d in decisions] == [503, 503, None]
    assert faults.decide("token").error is None


def test_busiest_window_counts_calls_within_a_minute() -> None:
    counters = Counters()
    for _ in range(3):
        counters.call_started()

    snapshot = counters.snapshot()

    assert snapshot.max_calls_in_window(60.0) == 3


def test_batch_round_trip_keeps_content_ids() -> None:
    body = (
        b"--xyz\r\nContent-Type: application/http\r\nContent-ID: <abc + 1>\r\n\r\n"
        b"POST /calendar/v3/calendars/a%40b/events?alt=json HTTP/1.1\r\nContent-Type: application/json\r\n"
        b'\r\n{"summary": "x"}\r\n--xyz--\r\n'
    )

    [part] = parse_batch('multipart/mixed; boundary="xyz"', body)
    content_type, payload = render_batch([PartResponse(part.content_id, 200, [], b"{}")])

    assert (part.method, part.path, part.query, part.body) == (
        "POST",
        "/calendar/v3/calendars/a%40b/events",
        "alt=json",
        b'{"summary": "x"}',
    )
    assert content_type.startswith("multipart/mixed; boundary=")
    assert b"Content-ID: <response-abc + 1>" in payload
    assert b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" in payload
