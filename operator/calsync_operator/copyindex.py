"""Which copies of one source exist in the target, kept in memory between passes.

The target is the only durable record of what was copied (nothing lives on local disk): one
listing filtered on ``privateExtendedProperty=calsyncSource=<source>`` rebuilds this index
after a restart. Between passes the executor keeps it current from its own write results, so
an incremental pass reads nothing from the target and an unchanged rendering (same
``calsyncHash``) costs no write at all.

Keys are target event ids: copy ids (hex) for single events and series masters, and
``<master copy id>_<suffix>`` for occurrences of a copied series (``_`` never occurs in a copy
id, which is how the two are told apart).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from calsync_operator.filters import parse_event_time
from calsync_operator.google.types import Event
from calsync_operator.identity import TAG_EVENT, TAG_HASH, TAG_SOURCE


def is_instance_id(event_id: str) -> bool:
    return "_" in event_id


@dataclass(frozen=True)
class CopyEntry:
    source_event_id: str
    hash: str
    cancelled: bool = False
    start: datetime | None = None
    end: datetime | None = None
    recurring: bool = False

    @classmethod
    def from_event(cls, event: Event, source_event_id: str) -> CopyEntry:
        private = event.get("extendedProperties", {}).get("private", {})
        return cls(
            source_event_id=source_event_id,
            hash=str(private.get(TAG_HASH, "")),
            cancelled=event.get("status") == "cancelled",
            start=parse_event_time(event.get("start")),
            end=parse_event_time(event.get("end")),
            recurring=bool(event.get("recurrence")),
        )


@dataclass
class CopyIndex:
    """Copy id → what the copy says about itself, for one (target, source) pair."""

    source_calendar_id: str
    entries: dict[str, CopyEntry] = field(default_factory=dict)

    @classmethod
    def from_listing(cls, source_calendar_id: str, events: Iterable[Event]) -> CopyIndex:
        index = cls(source_calendar_id)
        for event in events:
            private = event.get("extendedProperties", {}).get("private", {})
            if private.get(TAG_SOURCE) != source_calendar_id or TAG_EVENT not in private:
                continue
            index.entries[str(event["id"])] = CopyEntry.from_event(event, str(private[TAG_EVENT]))
        return index

    def live(self, copy_id: str) -> CopyEntry | None:
        entry = self.entries.get(copy_id)
        return entry if entry is not None and not entry.cancelled else None

    def live_copies(self) -> Iterator[tuple[str, CopyEntry]]:
        """Live single events and series masters (the copies the delete guard counts)."""
        for copy_id, entry in self.entries.items():
            if not entry.cancelled and not is_instance_id(copy_id):
                yield copy_id, entry

    def live_count(self) -> int:
        return sum(1 for _ in self.live_copies())

    def record_written(self, copy_id: str, source_event_id: str, body: Event) -> None:
        self.entries[copy_id] = CopyEntry.from_event(body, source_event_id)

    def record_deleted(self, copy_id: str) -> None:
        """A deleted master takes its occurrences with it."""
        self.entries.pop(copy_id, None)
        prefix = copy_id + "_"
        for key in [k for k in self.entries if k.startswith(prefix)]:
            del self.entries[key]

    def record_cancelled(self, copy_id: str, source_event_id: str) -> None:
        self.entries[copy_id] = CopyEntry(source_event_id=source_event_id, hash="", cancelled=True)
