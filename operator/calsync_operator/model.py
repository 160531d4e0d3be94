"""The CalendarSync resource as typed, immutable data with every default applied (DESIGN §2).

``parse_spec`` turns the raw ``spec`` dict (as kopf hands it over) into a ``CalendarSyncSpec``.
The CRD schema already rejects most bad input; this module re-checks what a schema cannot
express well (regexes that must compile, durations) and raises ``SpecError`` with a message
that says what to fix — the operator puts it into ``Ready=False``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from calsync_operator.identity import source_key

DEFAULT_TOKEN_KEY = "token.json"
DEFAULT_EVENT_TYPES: tuple[str, ...] = ("default", "outOfOffice", "focusTime")
KNOWN_EVENT_TYPES: frozenset[str] = frozenset(
    {"default", "outOfOffice", "focusTime", "workingLocation", "birthday", "fromGmail"}
)
MIN_POLL_SECONDS = 30
_DURATION = re.compile(r"^(?P<value>[1-9][0-9]*)(?P<unit>[smh])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


class SpecError(ValueError):
    """A spec the operator cannot act on; the message names the field and the fix."""


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

    def source(self, key: str) -> Source | None:
        """The source whose annotation-safe key is ``key``."""
        return next((s for s in self.sources if s.key == key), None)

    def secret_names(self) -> frozenset[str]:
        refs = [s.credentials for s in self.sources]
        if self.target.credentials is not None:
            refs.append(self.target.credentials)
        return frozenset(ref.name for ref in refs)
