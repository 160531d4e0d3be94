"""events.list / events.instances parameters: parsing, Google's validation, item filters.

Rules from the Calendar v3 reference: ``maxResults`` defaults to 250 and never exceeds 2,500;
``syncToken`` cannot be combined with iCalUID, orderBy, privateExtendedProperty, q,
sharedExtendedProperty, timeMin, timeMax or updatedMin (400); ``orderBy=startTime`` needs
``singleEvents=true``; deleted events are always included in incremental results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from calsync_operator.emulator.errors import bad_request
from calsync_operator.emulator.times import parse_event_time, parse_instant

DEFAULT_PAGE_SIZE = 250
MAX_PAGE_SIZE = 2500
FORBIDDEN_WITH_SYNC_TOKEN = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)

Query = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class ListQuery:
    max_results: int = DEFAULT_PAGE_SIZE
    page_token: str | None = None
    sync_token: str | None = None
    time_min: datetime | None = None
    time_max: datetime | None = None
    updated_min: datetime | None = None
    single_events: bool = False
    show_deleted: bool = False
    order_by: str | None = None
    q: str | None = None
    ical_uid: str | None = None
    private_props: tuple[tuple[str, str], ...] = ()
    shared_props: tuple[tuple[str, str], ...] = ()
    event_types: tuple[str, ...] = ()
    original_start: str | None = None
    # Everything except paging: a page token is only valid for the same query.
    signature: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


def _one(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _bool(query: Query, name: str) -> bool:
    value = _one(query, name)
    if value is None:
        return False
    if value not in ("true", "false", "True", "False", "1", "0"):
        raise bad_request(f"Invalid boolean value for {name}: {value}", location=name)
    return value in ("true", "True", "1")


def _instant(query: Query, name: str) -> datetime | None:
    value = _one(query, name)
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise bad_request(f"Bad Request: invalid {name} {value!r}", location=name) from exc


def _props(query: Query, name: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in query.get(name, ()):
        key, sep, wanted = value.partition("=")
        if not sep or not key:
            raise bad_request(f"Invalid {name} value: expected propertyName=value.", location=name)
        pairs.append((key, wanted))
    return tuple(pairs)


def parse_list_query(query: Query) -> ListQuery:
    sync_token = _one(query, "syncToken")
    if sync_token is not None:
        restricted = [name for name in FORBIDDEN_WITH_SYNC_TOKEN if query.get(name)]
        if _one(query, "showDeleted") == "false":
            restricted.append("showDeleted")
        if restricted:
            # Google's wording and reason for every one of them (the location names the first).
            raise bad_request(
                "Sync token cannot be used with other request restrictions.",
                "syncTokenWithRequestRestrictions",
                location=restricted[0],
            )
    raw_max = _one(query, "maxResults")
    try:
        max_results = int(raw_max) if raw_max is not None else DEFAULT_PAGE_SIZE
    except ValueError as exc:
        raise bad_request(f"Invalid value for maxResults: {raw_max}", location="maxResults") from exc
    if max_results < 1:
        raise bad_request(f"Invalid value for maxResults: {raw_max}", location="maxResults")
    single_events = _bool(query, "singleEvents")
    order_by = _one(query, "orderBy")
    if order_by not in (None, "startTime", "updated"):
        raise bad_request(f"Invalid value for orderBy: {order_by}", location="orderBy")
    if order_by == "startTime" and not single_events:
        raise bad_request("The requested ordering is not available for the particular query.", "badRequest")
    time_min, time_max = _instant(query, "timeMin"), _instant(query, "timeMax")
    if time_min and time_max and time_max <= time_min:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty", location="timeMax")
    signature = tuple(
        sorted((k, tuple(v)) for k, v in query.items() if k not in ("pageToken", "maxResults", "alt"))
    )
    return ListQuery(
        max_results=min(max_results, MAX_PAGE_SIZE),
        page_token=_one(query, "pageToken"),
        sync_token=sync_token,
        time_min=time_min,
        time_max=time_max,
        updated_min=_instant(query, "updatedMin"),
        single_events=single_events,
        # Deletions are always part of incremental results, and of updatedMin results.
        show_deleted=_bool(query, "showDeleted") or sync_token is not None or "updatedMin" in query,
        order_by=order_by,
        q=_one(query, "q"),
        ical_uid=_one(query, "iCalUID"),
        private_props=_props(query, "privateExtendedProperty"),
        shared_props=_props(query, "sharedExtendedProperty"),
        event_types=tuple(query.get("eventTypes", ())),
        original_start=_one(query, "originalStart"),
        signature=signature,
    )


def matches_filters(event: dict[str, Any], query: ListQuery) -> bool:
    """The filters that do not depend on time or deletion."""
    if query.ical_uid is not None and event.get("iCalUID") != query.ical_uid:
        return False
    if query.event_types and event.get("eventType", "default") not in query.event_types:
        return False
    props = event.get("extendedProperties", {})
    private, shared = props.get("private", {}), props.get("shared", {})
    if any(private.get(k) != v for k, v in query.private_props):
        return False
    if any(shared.get(k) != v for k, v in query.shared_props):
        return False
    if query.updated_min is not None and parse_instant(event["updated"]) < query.updated_min:
        return False
    if query.q:
        text = " ".join(str(event.get(k, "")) for k in ("summary", "description", "location")).lower()
        if not all(word in text for word in query.q.lower().split()):
            return False
    return True


def start_key(event: dict[str, Any]) -> tuple[datetime, str]:
    """Sort key for orderBy=startTime (cancelled instances sort by their original start)."""
    raw = event.get("start") or event.get("originalStartTime")
    try:
        return parse_event_time(raw).instant(), event["id"]
    except ValueError:
        return datetime.max.replace(tzinfo=UTC), event["id"]
