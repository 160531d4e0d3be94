"""Why a source event is not copied: the spec's filters plus loop prevention, as pure checks.

A skip is not silent: the planner records the reason (it shows in dry-run plans and in the
``skipped`` count), and an event that starts being filtered out (declined, retitled...) has
its existing copy removed. Loop prevention comes first: an event that carries our tags is
somebody's copy and is never copied again, which is what keeps A→B plus B→A from ping-ponging.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from calsync_operator.api.names import TAG_SOURCE
from calsync_operator.api.spec import Filters, Window
from calsync_operator.sync.port import Event


class SkipReason(StrEnum):
    OWN_COPY = "ownCopy"
    EVENT_TYPE = "eventType"
    DECLINED = "declined"
    FREE = "free"
    ALL_DAY = "allDay"
    TITLE_NOT_INCLUDED = "titleNotIncluded"
    TITLE_EXCLUDED = "titleExcluded"
    OUTSIDE_WINDOW = "outsideWindow"
    SERIES_NOT_COPIED = "seriesNotCopied"


def is_own_copy(event: Event) -> bool:
    private = event.get("extendedProperties", {}).get("private", {})
    return isinstance(private, dict) and TAG_SOURCE in private


def is_declined_by_owner(event: Event) -> bool:
    return any(
        a.get("self") is True and a.get("responseStatus") == "declined" for a in event.get("attendees", [])
    )


def is_all_day(event: Event) -> bool:
    return "date" in event.get("start", {})


def parse_event_time(value: dict[str, str] | None) -> datetime | None:
    """A start/end as an aware datetime; all-day dates count from midnight UTC (window checks only)."""
    if not value:
        return None
    if "dateTime" in value:
        parsed = datetime.fromisoformat(value["dateTime"])
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if "date" in value:
        return datetime.combine(date.fromisoformat(value["date"]), datetime.min.time(), tzinfo=UTC)
    return None


def window_bounds(window: Window, now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=window.past_days), now + timedelta(days=window.future_days)


def outside_window(start: datetime | None, end: datetime | None, window: Window, now: datetime) -> bool:
    """True when [start, end] lies entirely before or after the window; unknown times are inside."""
    low, high = window_bounds(window, now)
    return (end is not None and end < low) or (start is not None and start > high)


def skip_reason(
    event: Event, filters: Filters, now: datetime, *, check_window: bool = True
) -> SkipReason | None:
    """The first filter that rejects ``event`` (a live, non-cancelled source event), or None.

    ``check_window`` is off for exceptions of a copied series: the copied series shows every
    occurrence, so an edit to any of them must land, wherever it lies.
    """
    if is_own_copy(event):
        return SkipReason.OWN_COPY
    if event.get("eventType", "default") not in filters.event_types:
        return SkipReason.EVENT_TYPE
    if filters.skip_declined and is_declined_by_owner(event):
        return SkipReason.DECLINED
    if filters.skip_free and event.get("transparency") == "transparent":
        return SkipReason.FREE
    if filters.skip_all_day and is_all_day(event):
        return SkipReason.ALL_DAY
    title = str(event.get("summary", ""))
    if filters.title_include is not None and not filters.title_include.search(title):
        return SkipReason.TITLE_NOT_INCLUDED
    if filters.title_exclude is not None and filters.title_exclude.search(title):
        return SkipReason.TITLE_EXCLUDED
    # A series master's start/end are its first occurrence: the listing's window already
    # decided whether the series reaches into it, so only single events are checked here.
    if (
        check_window
        and not event.get("recurrence")
        and outside_window(
            parse_event_time(event.get("start")), parse_event_time(event.get("end")), filters.window, now
        )
    ):
        return SkipReason.OUTSIDE_WINDOW
    return None
