"""The copy body: privacy, prefixes, colours, exact times, recurrence and the render hash."""

from __future__ import annotations

import json
from dataclasses import replace

from calsync_operator.api.spec import Privacy, RecurringMode
from calsync_operator.sync.render import invite_patch, render_copy, render_hash
from engine.factories import SRC_A, all_day, source, spec, timed

SECRET_BITS = ("Salary review", "Room 4", "confidential notes", "boss@example.com", "meet.google.com")


def rich_event() -> dict[str, object]:
    return timed(
        "ev1",
        "Salary review",
        location="Room 4",
        description="confidential notes",
        attendees=[{"email": "boss@example.com", "responseStatus": "accepted"}],
        hangoutLink="https://meet.google.com/abc",
        conferenceData={"entryPoints": [{"uri": "https://meet.google.com/abc"}]},
        colorId="3",
    )


def test_full_privacy_copies_content_but_never_attendees_or_conference() -> None:
    body = render_copy(rich_event(), spec(), source(title_prefix="[A] "), copy_id="c1")
    assert body["summary"] == "[A] Salary review"
    assert body["location"] == "Room 4"
    assert body["description"] == "confidential notes"
    assert body["status"] == "confirmed"
    assert body["colorId"] == "3"
    for absent in ("attendees", "conferenceData", "hangoutLink"):
        assert absent not in body


def test_busy_privacy_leaks_nothing_but_time() -> None:
    body = render_copy(rich_event(), spec(privacy=Privacy.BUSY), source(), copy_id="c1")
    assert body["summary"] == "Busy"
    assert body["visibility"] == "private"
    rendered = json.dumps(body)
    for secret in SECRET_BITS:
        assert secret not in rendered
    assert body["start"] == rich_event()["start"]


def test_source_colour_and_prefix_win() -> None:
    body = render_copy(rich_event(), spec(), source(title_prefix="W: ", color_id="11"), copy_id="c1")
    assert (body["summary"], body["colorId"]) == ("W: Salary review", "11")


def test_times_are_copied_exactly() -> None:
    day = render_copy(all_day("d1"), spec(), source(), copy_id="c1")
    assert day["start"] == {"date": "2026-12-01"}
    assert day["end"] == {"date": "2026-12-02"}
    zoned = timed("t1")
    assert render_copy(zoned, spec(), source(), copy_id="c2")["start"] == zoned["start"]


def test_tags_and_hash() -> None:
    body = render_copy(timed("ev9"), spec(), source(), copy_id="c9")
    tags = body["extendedProperties"]["private"]
    assert tags["calsyncSource"] == SRC_A
    assert tags["calsyncEvent"] == "ev9"
    assert tags["calsyncHash"] == render_hash(body)
    changed = render_copy(timed("ev9", "Other"), spec(), source(), copy_id="c9")
    assert changed["extendedProperties"]["private"]["calsyncHash"] != tags["calsyncHash"]


def test_recurrence_only_in_series_mode() -> None:
    master = timed("m1", recurrence=["RRULE:FREQ=WEEKLY;COUNT=5"])
    assert render_copy(master, spec(), source(), copy_id="c")["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=5"]
    flat = render_copy(master, spec(recurring=RecurringMode.INSTANCES), source(), copy_id="c")
    assert "recurrence" not in flat


def test_exception_addresses_the_copied_series() -> None:
    exception = timed(
        "m1_20261126T080000Z", recurringEventId="m1", originalStartTime={"dateTime": "2026-11-26T08:00:00Z"}
    )
    body = render_copy(exception, spec(), source(), copy_id="cm_20261126T080000Z", master_copy_id="cm")
    assert body["recurringEventId"] == "cm"
    assert body["originalStartTime"] == {"dateTime": "2026-11-26T08:00:00Z"}


def test_invite_patch_is_idempotent() -> None:
    event = timed("e", attendees=[{"email": "x@example.com"}])
    patch = invite_patch(event, "me@example.com")
    assert patch == {"attendees": [{"email": "x@example.com"}, {"email": "me@example.com"}]}
    assert invite_patch({**event, **patch}, "ME@example.com") is None


def test_copies_alert_nobody_unless_the_target_keeps_its_default_reminders() -> None:
    """One meeting must not alert twice (the source's event already reminds its owner)."""
    plain = spec()
    keeping = replace(plain, target=replace(plain.target, default_reminders=True))
    alarm = {"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]}
    with_alarm = {**rich_event(), "reminders": alarm}

    assert render_copy(with_alarm, plain, source(), copy_id="c1")["reminders"] == {"useDefault": False}
    assert render_copy(with_alarm, keeping, source(), copy_id="c1")["reminders"] == {"useDefault": True}
