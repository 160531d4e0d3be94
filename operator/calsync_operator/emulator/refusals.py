"""Writes Google refuses, refused here too, with Google's status and reason.

An emulator that accepts what Google refuses hides production failures, so each rule below
follows the Calendar v3 reference (or, where the reference names no reason, what clients see
in production); docs/emulator.md lists them with their sources:

- ``colorId`` must be one of the event colours ``"1"`` to ``"11"`` (``colors.get``): 400
  ``invalid`` "Invalid Value" (the answer coursetable/coursetable#1551 logged);
- ``visibility`` is ``default|public|private|confidential`` and ``transparency``
  ``opaque|transparent`` (Events resource): 400 ``invalid``;
- a recurring event needs ``start.timeZone``/``end.timeZone`` ("required for recurring events",
  EventDateTime reference): 400 ``required`` "Missing time zone definition for start time.";
- event types (Event types guide): ``fromGmail`` events cannot be created with insert,
  ``birthday`` only as a one-day, private, transparent, yearly event, ``outOfOffice``,
  ``focusTime`` and ``workingLocation`` only on primary calendars, only ``default`` events can
  be imported, and the type of an event cannot change;
- attendees of an event organised by another calendar can only be changed by the organiser:
  403 ``forbiddenForNonOrganizer`` (domain ``calendar``, seen in kewisch/gdata-provider#3,
  #274, #426).
"""

from __future__ import annotations

from typing import Any

from calsync_operator.emulator.errors import ApiError, bad_request

Event = dict[str, Any]

COLOR_IDS = frozenset(str(n) for n in range(1, 12))
VISIBILITIES = ("default", "public", "private", "confidential")
TRANSPARENCIES = ("opaque", "transparent")
EVENT_TYPES = ("default", "birthday", "focusTime", "fromGmail", "outOfOffice", "workingLocation")
PRIMARY_ONLY_TYPES = ("focusTime", "outOfOffice", "workingLocation")
_BIRTHDAY_FIELDS = frozenset(
    {
        "id",
        "eventType",
        "start",
        "end",
        "visibility",
        "transparency",
        "recurrence",
        "colorId",
        "summary",
        "reminders",
        "status",
        "birthdayProperties",
    }
)


def check_fields(body: Event) -> None:
    """Enumerations and ids with a fixed set of values."""
    color = body.get("colorId")
    if color is not None and str(color) not in COLOR_IDS:
        raise bad_request("Invalid Value", location="colorId")
    for name, allowed in (("visibility", VISIBILITIES), ("transparency", TRANSPARENCIES)):
        value = body.get(name)
        if value is not None and value not in allowed:
            raise bad_request(f"Invalid value for {name}: {value}", location=name)
    if body.get("eventType", "default") not in EVENT_TYPES:
        raise bad_request(f"Invalid value for eventType: {body.get('eventType')}", location="eventType")
    if body.get("recurrence") and not body.get("recurringEventId"):
        for edge in ("start", "end"):
            moment = body.get(edge) or {}
            if "dateTime" in moment and not moment.get("timeZone"):
                raise ApiError(
                    400,
                    "required",
                    f"Missing time zone definition for {edge} time.",
                    location=f"{edge}.timeZone",
                )


def check_new_type(body: Event, *, primary: bool, importing: bool) -> None:
    """What an insert (or import) may create."""
    event_type = body.get("eventType", "default")
    if importing and event_type != "default":
        raise bad_request("Only events with an eventType of default may be imported.", location="eventType")
    if event_type == "fromGmail":
        raise bad_request(
            "Events of type fromGmail cannot be created with the Calendar API.", location="eventType"
        )
    if event_type in PRIMARY_ONLY_TYPES and not primary:
        raise bad_request(
            f"{event_type} events can only be created on primary calendars.", location="eventType"
        )
    if event_type == "birthday":
        _check_birthday(body)


def _check_birthday(body: Event) -> None:
    start, end = body.get("start") or {}, body.get("end") or {}
    problems = []
    if "date" not in start or "date" not in end:
        problems.append("a one-day all-day event")
    if body.get("visibility") != "private" or body.get("transparency") != "transparent":
        problems.append("visibility private and transparency transparent")
    rules = body.get("recurrence") or []
    if not rules or not all(str(r).startswith("RRULE:FREQ=YEARLY") for r in rules):
        problems.append("a yearly recurrence")
    extra = sorted(set(body) - _BIRTHDAY_FIELDS)
    if extra:
        problems.append(f"no other properties (got {', '.join(extra)})")
    if problems:
        raise bad_request("A birthday event must be " + "; ".join(problems) + ".", location="eventType")


def check_change(calendar_id: str, previous: Event, new: Event) -> None:
    """What an update or patch of ``previous`` may change."""
    if new.get("eventType", "default") != previous.get("eventType", "default"):
        raise bad_request("The event type cannot be changed.", location="eventType")
    organizer = (previous.get("organizer") or {}).get("email")
    if organizer and organizer != calendar_id and _guests(new) != _guests(previous):
        raise ApiError(
            403,
            "forbiddenForNonOrganizer",
            "Attendees can only be changed by the organizer of the event.",
            domain="calendar",
        )


def _guests(event: Event) -> list[tuple[str, bool]]:
    return sorted(
        (str(a.get("email", "")).lower(), bool(a.get("optional"))) for a in event.get("attendees", [])
    )
