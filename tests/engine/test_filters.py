"""Skip reasons: loop prevention first, then the spec's filters."""

from __future__ import annotations

import re

import pytest

from calsync_operator.api.spec import Filters, Window
from calsync_operator.sync.filters import SkipReason, skip_reason
from engine.factories import NOW, all_day, timed


@pytest.mark.parametrize(
    ("event", "filters", "reason"),
    [
        (timed("a", extendedProperties={"private": {"calsyncSource": "x"}}), Filters(), SkipReason.OWN_COPY),
        (timed("a", eventType="workingLocation"), Filters(), SkipReason.EVENT_TYPE),
        (
            timed("a", attendees=[{"email": "me", "self": True, "responseStatus": "declined"}]),
            Filters(),
            SkipReason.DECLINED,
        ),
        (timed("a", transparency="transparent"), Filters(skip_free=True), SkipReason.FREE),
        (all_day("a"), Filters(skip_all_day=True), SkipReason.ALL_DAY),
        (timed("a", "Lunch"), Filters(title_include=re.compile("Standup")), SkipReason.TITLE_NOT_INCLUDED),
        (timed("a", "Private: x"), Filters(title_exclude=re.compile("^Private")), SkipReason.TITLE_EXCLUDED),
        (timed("a", hours_from_now=-24 * 10), Filters(), SkipReason.OUTSIDE_WINDOW),
        (timed("a", hours_from_now=24 * 400), Filters(), SkipReason.OUTSIDE_WINDOW),
    ],
)
def test_skip_reasons(event: dict[str, object], filters: Filters, reason: SkipReason) -> None:
    assert skip_reason(event, filters, NOW) is reason


@pytest.mark.parametrize(
    "event",
    [
        timed("a"),
        timed("a", attendees=[{"email": "other", "responseStatus": "declined"}]),  # someone else declined
        timed("a", transparency="transparent"),  # skipFree is off by default
        timed("a", eventType="outOfOffice"),
        timed("m", hours_from_now=-24 * 100, recurrence=["RRULE:FREQ=DAILY"]),  # series reach into window
    ],
)
def test_kept_by_default(event: dict[str, object]) -> None:
    assert skip_reason(event, Filters(), NOW) is None


def test_window_check_can_be_lifted_for_exceptions() -> None:
    far = timed("a", hours_from_now=24 * 30)
    assert skip_reason(far, Filters(window=Window(0, 7)), NOW) is SkipReason.OUTSIDE_WINDOW
    assert skip_reason(far, Filters(window=Window(0, 7)), NOW, check_window=False) is None
