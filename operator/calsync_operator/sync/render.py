"""What a copy should look like: a pure function of the source event, the spec and the source.

The planner's decisions hinge on this function being deterministic. The hash of the rendered
body is stored on the copy itself (``extendedProperties.private.calsyncHash``), so a later pass
that renders the same body knows the copy is current and writes nothing.

Rendering is also where privacy is enforced: in ``busy`` mode nothing but the time, the
free/busy flag and our tags leaves the source calendar. Attendees and conference data are
never copied (copies must never send invitations; docs/design.md §4).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from calsync_operator.api.names import TAG_EVENT, TAG_HASH, TAG_SERIES, TAG_SOURCE
from calsync_operator.api.spec import CalendarSyncSpec, Privacy, RecurringMode, Source
from calsync_operator.sync.port import Event

BUSY_TITLE = "Busy"
HASH_LENGTH = 16
# Start/end are copied key by key, never converted: all-day dates stay dates and wall-clock
# times keep their time zone (a recurring series expands in its own zone).
_TIME_KEYS = ("date", "dateTime", "timeZone")


def _time(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {key: value[key] for key in _TIME_KEYS if key in value}


def render_hash(body: Event) -> str:
    """Hash of a rendered body, ignoring the hash tag itself (so a stored copy can be re-checked)."""
    private = dict(body.get("extendedProperties", {}).get("private", {}))
    private.pop(TAG_HASH, None)
    unhashed = {**body, "extendedProperties": {"private": private}}
    canonical = json.dumps(unhashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]


def render_copy(
    event: Event,
    spec: CalendarSyncSpec,
    source: Source,
    *,
    copy_id: str,
    master_copy_id: str | None = None,
) -> Event:
    """The full body of the copy of ``event`` (for insert or a full-replace update).

    ``master_copy_id`` is set when ``event`` is an exception of a series copied in ``series``
    mode: the body then addresses an occurrence of the copied series.
    """
    body: Event = {
        "id": copy_id,
        "status": "confirmed",
        "start": _time(event.get("start")),
        "end": _time(event.get("end")),
    }
    if spec.privacy is Privacy.BUSY:
        body["summary"] = source.title_prefix + BUSY_TITLE
        body["visibility"] = "private"
    else:
        body["summary"] = source.title_prefix + str(event.get("summary", ""))
        for key in ("description", "location"):
            if event.get(key):
                body[key] = event[key]
        if event.get("visibility") not in (None, "default"):
            body["visibility"] = event["visibility"]
    if event.get("transparency"):
        body["transparency"] = event["transparency"]
    # Copies alert nobody unless asked to: the source's own event already reminds its owner.
    body["reminders"] = {"useDefault": spec.target.default_reminders}
    color = source.color_id or (event.get("colorId") if spec.privacy is Privacy.FULL else None)
    if color:
        body["colorId"] = color
    if spec.recurring is RecurringMode.SERIES:
        if event.get("recurrence"):
            body["recurrence"] = list(event["recurrence"])
        if master_copy_id is not None:
            body["recurringEventId"] = master_copy_id
            body["originalStartTime"] = _time(event.get("originalStartTime"))
    body["extendedProperties"] = {
        "private": {TAG_SOURCE: source.calendar_id, TAG_EVENT: str(event["id"])},
    }
    if spec.recurring is RecurringMode.INSTANCES and event.get("recurringEventId"):
        # Occurrence ids are opaque: the series an occurrence copy belongs to is tagged, not parsed.
        body["extendedProperties"]["private"][TAG_SERIES] = str(event["recurringEventId"])
    body["extendedProperties"]["private"][TAG_HASH] = render_hash(body)
    return body


def invite_patch(event: Event, email: str) -> Event | None:
    """The attendees patch that invites ``email``, or None when it is already a guest."""
    attendees = [dict(a) for a in event.get("attendees", []) if isinstance(a, dict)]
    if any(str(a.get("email", "")).lower() == email.lower() for a in attendees):
        return None
    return {"attendees": [*attendees, {"email": email}]}
