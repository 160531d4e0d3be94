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

from calsync_operator.api.names import TAG_EVENT, TAG_HASH, TAG_SOURCE
from calsync_operator.sync.filters import parse_event_time
from calsync_operator.sync.port import Event


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
        """The index from a listing of the target filtered on ``calsyncSource``.

        Google guarantees only ``id``, ``recurringEventId`` and ``originalStartTime`` on a
        cancelled occurrence in a list, so a cancelled occurrence of a copied series may come
        without our tags: it is recognised by its series (a copy master of this source) and
        recorded as cancelled, so that a full pass after a restart does not cancel it again.
        """
        index = cls(source_calendar_id)
        bare: list[Event] = []
        for event in events:
            private = event.get("extendedProperties", {}).get("private", {})
            if private.get(TAG_SOURCE) == source_calendar_id and TAG_EVENT in private:
                index.entries[str(event["id"])] = CopyEntry.from_event(event, str(private[TAG_EVENT]))
            elif event.get("status") == "cancelled":
                bare.append(event)
        for event in bare:
            index.record_bare_cancellation(event)
        return index

    def record_bare_cancellation(self, event: Event) -> None:
        """A cancelled occurrence listed with ids only: its source id is the series' source id
        with the occurrence suffix (``<master>_<original start>``, as Google's instance ids)."""
        copy_id = str(event["id"])
        master_copy_id = str(event.get("recurringEventId") or copy_id.rpartition("_")[0])
        master = self.entries.get(master_copy_id)
        if not is_instance_id(copy_id) or master is None or is_instance_id(master_copy_id):
            return  # a deleted single copy or master needs no entry: it is simply not live
        suffix = copy_id[len(master_copy_id) :] if copy_id.startswith(master_copy_id + "_") else ""
        self.record_cancelled(copy_id, master.source_event_id + suffix)

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

    def occurrences_by_series(self) -> dict[str, list[tuple[str, CopyEntry]]]:
        """``instances`` mode: live copies of occurrences, by the source series they come from
        (an occurrence's source id is Google's instance id ``<series id>_<original start>``)."""
        found: dict[str, list[tuple[str, CopyEntry]]] = {}
        for copy_id, entry in self.live_copies():
            series = entry.source_event_id.rpartition("_")[0]
            if series:
                found.setdefault(series, []).append((copy_id, entry))
        return found

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
