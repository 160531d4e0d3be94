"""The CalendarSync resource as typed, immutable data with every default applied (docs/design.md §2).

``parse_spec`` turns the raw ``spec`` dict (as kopf hands it over) into a ``CalendarSyncSpec``.
The CRD schema already rejects most bad input; this module re-checks what a schema cannot
express well (regexes that must compile, durations) and raises ``SpecError`` with a message
that says what to fix — the operator puts it into ``Ready=False``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from calsync_operator.api.names import source_key
from calsync_operator.api.spec_fields import FieldReader

DEFAULT_TOKEN_KEY = "token.json"
DEFAULT_EVENT_TYPES: tuple[str, ...] = ("default", "outOfOffice", "focusTime")
KNOWN_EVENT_TYPES: frozenset[str] = frozenset(
    {"default", "outOfOffice", "focusTime", "workingLocation", "birthday", "fromGmail"}
)
MIN_POLL_SECONDS = 30
_DURATION = re.compile(r"^(?P<value>[1-9][0-9]*)(?P<unit>[smh])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


class SpecError(ValueError):
    """A spec the operator cannot act on; the message names the field and the fix.

    ``problems`` holds each problem separately; the message joins them with "; ".
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


class Delivery(StrEnum):
    COPY = "copy"
    INVITE = "invite"


class Privacy(StrEnum):
    FULL = "full"
    BUSY = "busy"


class RecurringMode(StrEnum):
    SERIES = "series"
    INSTANCES = "instances"


class SourceCleanup(StrEnum):
    KEEP = "keep"
    DELETE = "delete"


class OnDelete(StrEnum):
    KEEP_COPIES = "keepCopies"
    DELETE_COPIES = "deleteCopies"


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str = DEFAULT_TOKEN_KEY


@dataclass(frozen=True)
class Source:
    calendar_id: str
    credentials: SecretRef
    title_prefix: str = ""
    color_id: str | None = None

    @property
    def key(self) -> str:
        return source_key(self.calendar_id)


@dataclass(frozen=True)
class Target:
    calendar_id: str
    credentials: SecretRef | None = None
    email: str | None = None
    # False: copies carry no alerts (reminders.useDefault false), so one meeting does not
    # alert twice; True: copies get the target calendar's default reminders.
    default_reminders: bool = False


@dataclass(frozen=True)
class Window:
    past_days: int = 7
    future_days: int = 365


@dataclass(frozen=True)
class Filters:
    skip_declined: bool = True
    skip_free: bool = False
    skip_all_day: bool = False
    event_types: tuple[str, ...] = DEFAULT_EVENT_TYPES
    title_include: re.Pattern[str] | None = None
    title_exclude: re.Pattern[str] | None = None
    window: Window = field(default_factory=Window)


@dataclass(frozen=True)
class CalendarSyncSpec:
    target: Target
    sources: tuple[Source, ...]
    delivery: Delivery = Delivery.COPY
    privacy: Privacy = Privacy.FULL
    filters: Filters = field(default_factory=Filters)
    recurring: RecurringMode = RecurringMode.SERIES
    source_cleanup: SourceCleanup = SourceCleanup.KEEP
    on_delete: OnDelete = OnDelete.KEEP_COPIES
    poll_interval_seconds: int = 300
    push_enabled: bool = True
    suspend: bool = False
    dry_run: bool = False
    max_delete_fraction: float = 0.2

    def secret_names(self) -> frozenset[str]:
        refs = [s.credentials for s in self.sources]
        if self.target.credentials is not None:
            refs.append(self.target.credentials)
        return frozenset(ref.name for ref in refs)


MAX_SOURCES = 50
MAX_POLL_SECONDS = 24 * 3600
MAX_TITLE_PREFIX = 64
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_COLOR_ID = re.compile(r"^([1-9]|1[01])$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``30s``, ``5m`` or ``1h`` (one number, one unit)."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a duration: use a number and a unit s, m or h (e.g. 30s, 5m, 1h)")
    return int(match["value"]) * _UNIT_SECONDS[match["unit"]]


def parse_spec(raw: Mapping[str, Any]) -> CalendarSyncSpec:
    """The typed spec with every default applied; ``SpecError`` lists every problem and its fix.

    The CRD schema rejects most of these already; the checks repeat here because the operator
    must never act on a spec it cannot trust (an older CRD, a server without CEL, a unit test),
    and because some things only Python can check (that a regex compiles).
    """
    if not isinstance(raw, Mapping):
        raise SpecError(f"spec must be an object, not {type(raw).__name__}")
    fields = FieldReader(prefix="spec.")
    target = _parse_target(fields, raw)
    sources = _parse_sources(fields, raw, target)
    delivery = fields.choice(raw, "delivery", "delivery", Delivery, Delivery.COPY)
    source_cleanup = fields.choice(raw, "sourceCleanup", "sourceCleanup", SourceCleanup, SourceCleanup.KEEP)
    if target is not None and delivery is Delivery.COPY and target.credentials is None:
        fields.add(
            "target.credentials.secretRef", "is required for delivery copy: the copies are written with it"
        )
    if target is not None and delivery is Delivery.INVITE and target.email is None:
        fields.add(
            "target.email", "is required for delivery invite: it is the address invited to every event"
        )
    if source_cleanup is SourceCleanup.DELETE and delivery is not Delivery.COPY:
        fields.add(
            "sourceCleanup", "delete needs delivery copy: deleting an invited original cancels the invitation"
        )
    filters = _parse_filters(fields, fields.mapping(raw, "filters", "filters"))
    poll_seconds = _parse_poll_interval(fields, raw)
    push = fields.mapping(raw, "push", "push")
    fraction = raw.get("maxDeleteFraction", 0.2)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
        fields.add("maxDeleteFraction", f"must be a number from 0 to 1 (e.g. 0.2), not {fraction!r}")
        fraction = 0.2
    privacy = fields.choice(raw, "privacy", "privacy", Privacy, Privacy.FULL)
    recurring = fields.choice(raw, "recurring", "recurring", RecurringMode, RecurringMode.SERIES)
    on_delete = fields.choice(raw, "onDelete", "onDelete", OnDelete, OnDelete.KEEP_COPIES)
    push_enabled = fields.boolean(push, "enabled", "push.enabled", True)
    suspend = fields.boolean(raw, "suspend", "suspend", False)
    dry_run = fields.boolean(raw, "dryRun", "dryRun", False)
    if fields.messages or target is None:
        raise SpecError("; ".join(fields.messages), fields.messages)
    return CalendarSyncSpec(
        target=target,
        sources=sources,
        delivery=delivery,
        privacy=privacy,
        filters=filters,
        recurring=recurring,
        source_cleanup=source_cleanup,
        on_delete=on_delete,
        poll_interval_seconds=poll_seconds,
        push_enabled=push_enabled,
        suspend=suspend,
        dry_run=dry_run,
        max_delete_fraction=float(fraction),
    )


def _parse_target(fields: FieldReader, raw: Mapping[str, Any]) -> Target | None:
    if "target" not in raw:
        fields.add("target", "is required: the calendar that receives the copies")
        return None
    target = fields.mapping(raw, "target", "target")
    calendar_id = _calendar_id(fields, target, "target.calendarId")
    credentials = _secret_ref(fields, target, "target", required=False)
    email = fields.string(target, "email", "target.email")
    if email is not None and not _EMAIL.match(email):
        fields.add("target.email", f"{email!r} is not an email address")
    reminders = fields.boolean(target, "defaultReminders", "target.defaultReminders", False)
    if calendar_id is None:
        return None
    return Target(calendar_id=calendar_id, credentials=credentials, email=email, default_reminders=reminders)


def _parse_sources(fields: FieldReader, raw: Mapping[str, Any], target: Target | None) -> tuple[Source, ...]:
    items = raw.get("sources")
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        fields.add("sources", "needs at least one source calendar")
        return ()
    if len(items) > MAX_SOURCES:
        fields.add(
            "sources", f"has {len(items)} entries; at most {MAX_SOURCES} are allowed: split it into two"
        )
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        path = f"sources[{index}]"
        if not isinstance(item, Mapping):
            fields.add(path, "must be an object with calendarId and credentials")
            continue
        calendar_id = _calendar_id(fields, item, f"{path}.calendarId")
        credentials = _secret_ref(fields, item, path, required=True)
        title_prefix = fields.string(item, "titlePrefix", f"{path}.titlePrefix") or ""
        if len(title_prefix) > MAX_TITLE_PREFIX:
            fields.add(
                f"{path}.titlePrefix", f"is {len(title_prefix)} characters; keep it to {MAX_TITLE_PREFIX}"
            )
        color_id = fields.string(item, "colorId", f"{path}.colorId")
        if color_id is not None and not _COLOR_ID.match(color_id):
            fields.add(
                f"{path}.colorId", f'must be a Google event color id from "1" to "11", not {color_id!r}'
            )
        if calendar_id is None:
            continue
        if calendar_id in seen:
            fields.add(
                f"{path}.calendarId",
                f"{calendar_id!r} is already sources[{seen[calendar_id]}]: list each source calendar once",
            )
        seen.setdefault(calendar_id, index)
        if target is not None and calendar_id == target.calendar_id:
            fields.add(
                f"{path}.calendarId", f"{calendar_id!r} is the target: a calendar cannot sync into itself"
            )
        if credentials is not None:
            sources.append(Source(calendar_id, credentials, title_prefix=title_prefix, color_id=color_id))
    return tuple(sources)


def _parse_filters(fields: FieldReader, raw: Mapping[str, Any]) -> Filters:
    event_types = raw.get("eventTypes", list(DEFAULT_EVENT_TYPES))
    if not isinstance(event_types, Sequence) or isinstance(event_types, str):
        fields.add("filters.eventTypes", "must be a list of event types")
        event_types = list(DEFAULT_EVENT_TYPES)
    unknown = [t for t in event_types if not isinstance(t, str) or t not in KNOWN_EVENT_TYPES]
    if unknown:
        allowed = ", ".join(sorted(KNOWN_EVENT_TYPES))
        fields.add("filters.eventTypes", f"unknown event types {unknown!r}; known: {allowed}")
    window = fields.mapping(raw, "window", "filters.window")
    return Filters(
        skip_declined=fields.boolean(raw, "skipDeclined", "filters.skipDeclined", True),
        skip_free=fields.boolean(raw, "skipFree", "filters.skipFree", False),
        skip_all_day=fields.boolean(raw, "skipAllDay", "filters.skipAllDay", False),
        event_types=tuple(
            dict.fromkeys(t for t in event_types if isinstance(t, str) and t in KNOWN_EVENT_TYPES)
        ),
        title_include=fields.regex(raw, "titleInclude", "filters.titleInclude"),
        title_exclude=fields.regex(raw, "titleExclude", "filters.titleExclude"),
        window=Window(
            past_days=fields.integer(window, "pastDays", "filters.window.pastDays", 7, 0, 3650),
            future_days=fields.integer(window, "futureDays", "filters.window.futureDays", 365, 1, 3650),
        ),
    )


def _parse_poll_interval(fields: FieldReader, raw: Mapping[str, Any]) -> int:
    text = raw.get("pollInterval", "5m")
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        fields.add("pollInterval", str(exc))
        return 300
    if not MIN_POLL_SECONDS <= seconds <= MAX_POLL_SECONDS:
        fields.add("pollInterval", f"{text!r} is out of range: use 30s to 24h (e.g. 5m)")
        return 300
    return seconds


def _calendar_id(fields: FieldReader, raw: Mapping[str, Any], path: str) -> str | None:
    value = fields.string(raw, "calendarId", path, required=True)
    if value is not None and (len(value) > 255 or any(c.isspace() for c in value)):
        fields.add(path, f"{value!r} is not a calendar id: use the calendar's email-like id, without spaces")
        return None
    return value


def _secret_ref(
    fields: FieldReader, raw: Mapping[str, Any], path: str, *, required: bool
) -> SecretRef | None:
    credentials = fields.mapping(raw, "credentials", f"{path}.credentials")
    if not credentials:
        if required:
            fields.add(
                f"{path}.credentials.secretRef", "is required: name the Secret written by `calsync auth`"
            )
        return None
    ref = fields.mapping(credentials, "secretRef", f"{path}.credentials.secretRef")
    ref_path = f"{path}.credentials.secretRef"
    name = fields.string(ref, "name", f"{ref_path}.name", required=True)
    key = fields.string(ref, "key", f"{ref_path}.key") or DEFAULT_TOKEN_KEY
    if name is not None and not _SECRET_NAME.match(name):
        fields.add(
            f"{ref_path}.name", f"{name!r} is not a valid Secret name (lowercase, digits, '-' and '.')"
        )
    if not _SECRET_KEY.match(key):
        fields.add(
            f"{ref_path}.key", f"{key!r} is not a valid Secret key (letters, digits, '-', '_' and '.')"
        )
    return SecretRef(name=name, key=key) if name is not None else None
