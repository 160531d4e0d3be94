"""What an event resource looks like after Google accepted it: validation and server fields.

Clients send a partial event; Google validates it (ids, start/end) and adds server-owned
fields (``kind``, ``etag``, ``created``, ``updated``, ``sequence``, ``iCalUID``, ``creator``,
``organizer``, ``htmlLink``). Keeping this apart from the store lets insert, update, patch and
import share one definition of "a valid event".
"""

from __future__ import annotations

import copy
import itertools
import re
import uuid
from typing import Any

from calsync_operator.emulator.errors import ApiError, bad_request
from calsync_operator.emulator.recurrence import RecurrenceError, Series
from calsync_operator.emulator.times import format_instant, now, parse_event_time

Event = dict[str, Any]

# Google: "characters allowed in the ID are those used in base32hex encoding, i.e. lowercase
# letters a-v and digits 0-9"; "the length of the ID must be between 5 and 1024 characters".
_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
# Fields the server owns: a client cannot set them.
_SERVER_FIELDS = ("kind", "etag", "created", "updated", "htmlLink", "creator", "organizer")
# Changing these makes the event "significantly" different: Google bumps ``sequence``.
_SIGNIFICANT = ("start", "end", "recurrence", "location", "summary")
_etags = itertools.count(int(now().timestamp() * 1000))


def validate_event_id(event_id: str) -> None:
    if not _EVENT_ID.match(event_id):
        raise bad_request("Invalid resource id value.", "invalid", location="id")


def new_event_id() -> str:
    # uuid4 hex is [0-9a-f]: a valid base32hex id, like Google's generated 26-char ids.
    return uuid.uuid4().hex[:26]


def validate_times(body: Event) -> None:
    if "start" not in body:
        raise bad_request("Missing start time.", "required", location="start")
    if "end" not in body:
        raise bad_request("Missing end time.", "required", location="end")
    try:
        start = parse_event_time(body["start"])
        end = parse_event_time(body["end"])
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    if start.all_day != end.all_day:
        raise bad_request("Start and end times must either both be date or both be dateTime.")
    if end.instant() < start.instant() or (end.instant() == start.instant() and start.all_day):
        raise bad_request("The specified time range is empty.", "timeRangeEmpty", location="end.dateTime")
    if body.get("recurrence"):
        try:
            Series(body)
        except RecurrenceError as exc:
            raise bad_request(str(exc), "invalid", location="recurrence") from exc


def _normalise_attendees(calendar_id: str, attendees: Any) -> list[dict[str, Any]]:
    if not isinstance(attendees, list):
        raise bad_request("Invalid attendees value.")
    result = []
    for raw in attendees:
        if not isinstance(raw, dict) or not raw.get("email"):
            raise bad_request("Missing attendee email.", "required", location="attendees.email")
        attendee = dict(raw)
        attendee.setdefault("responseStatus", "needsAction")
        if attendee["email"] == calendar_id:
            attendee["self"] = True
        result.append(attendee)
    return result


def stamp(event: Event) -> None:
    """A new version: fresh ``etag`` and ``updated``."""
    event["etag"] = f'"{next(_etags)}"'
    event["updated"] = format_instant(now())


def build_event(
    calendar_id: str,
    event_id: str,
    body: Event,
    previous: Event | None = None,
    organizer: dict[str, Any] | None = None,
) -> Event:
    """The stored resource for ``body`` (a full representation), keeping server fields of
    ``previous`` when this replaces an existing event. ``organizer``: another calendar that
    organises the event (``events.import`` may name one); by default the calendar itself."""
    validate_times(body)
    event: Event = {k: copy.deepcopy(v) for k, v in body.items() if k not in _SERVER_FIELDS}
    event["kind"] = "calendar#event"
    event["id"] = event_id
    event.setdefault("status", "confirmed")
    if event["status"] not in ("confirmed", "tentative", "cancelled"):
        raise bad_request(f"Invalid value for status: {event['status']}", location="status")
    event.setdefault("eventType", "default")
    event["htmlLink"] = f"https://calendar.emulator.invalid/event?eid={event_id}"
    owner = {"email": calendar_id, "self": True}
    event["creator"] = dict(previous["creator"]) if previous else owner
    event["organizer"] = dict(previous["organizer"]) if previous else owner
    if organizer and organizer.get("email"):
        event["organizer"] = {**organizer, "self": organizer["email"] == calendar_id}
    event["created"] = previous["created"] if previous else format_instant(now())
    event.setdefault("iCalUID", previous["iCalUID"] if previous else f"{event_id}@google.com")
    event.setdefault("reminders", {"useDefault": True})
    if "attendees" in event:
        event["attendees"] = _normalise_attendees(calendar_id, event["attendees"])
    sequence = int(previous.get("sequence", 0)) if previous else 0
    if previous and any(previous.get(k) != event.get(k) for k in _SIGNIFICANT):
        sequence += 1
    requested = body.get("sequence")
    if requested is not None:
        try:
            requested_value = int(requested)
        except (TypeError, ValueError) as exc:
            raise bad_request("Invalid sequence value.", location="sequence") from exc
        if previous is not None and requested_value < int(previous.get("sequence", 0)):
            raise ApiError(
                400,
                "invalidSequenceValue",
                "Invalid sequence value. The specified sequence "
                "number is below the current sequence number of the resource.",
            )
        sequence = max(sequence, requested_value)
    event["sequence"] = sequence
    stamp(event)
    return event


def merge_patch(target: Event, patch: Event) -> Event:
    """Patch semantics: nested objects merge, arrays and scalars replace, ``null`` clears."""
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict) and key not in ("start", "end"):
            result[key] = merge_patch(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def invited_guests(calendar_id: str, event: Event) -> int:
    """How many invitation mails Google would send for this write with sendUpdates=all."""
    return sum(1 for a in event.get("attendees", []) if a.get("email") != calendar_id)
