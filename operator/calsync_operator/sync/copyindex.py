"""Which copies of one source exist in the target, kept in memory between passes.

The target is the only durable record of what was copied (nothing lives on local disk): one
listing filtered on ``privateExtendedProperty=calsyncSource=<source>`` rebuilds this index
after a restart. Between passes the executor keeps it current from its own write results, so
an incremental pass reads nothing from the target and an unchanged rendering (same
``calsyncHash``) costs no write at all.

Keys are copy ids (hex, chosen by calsync) for single events and series masters, and
occurrence keys ``<master copy id>@<original start>`` (``identity.occurrence_key``) for
occurrences of a copied series. An occurrence's own id is Google's and opaque: the index keeps
the one a listing or a lookup found (``target_id``), so each occurrence is looked up once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from calsync_operator.api.names import (
    OCCURRENCE_SEP,
    TAG_EVENT,
    TAG_HASH,
    TAG_SERIES,
    TAG_SOURCE,
    occurrence_key,
)
from calsync_operator.sync.filters import parse_event_time
from calsync_operator.sync.port import Event


def is_occurrence_key(key: str) -> bool:
    return OCCURRENCE_SEP in key


def index_key(event: Event) -> str | None:
    """The index key of a target event: its id, or for an occurrence of a copied series its
    occurrence key (None when Google listed it without its original start)."""
    if not event.get("recurringEventId"):
        return str(event["id"])
    return occurrence_key(str(event["recurringEventId"]), event.get("originalStartTime") or {})


@dataclass(frozen=True)
class CopyEntry:
    source_event_id: str
    hash: str
    cancelled: bool = False
    start: datetime | None = None
    end: datetime | None = None
    recurring: bool = False
    series: str = ""  # instances mode: the source series of an occurrence's copy (tagged)
    target_id: str = ""  # an occurrence's own (Google's) id, once a listing or lookup found it

    @classmethod
    def from_event(cls, event: Event, source_event_id: str, target_id: str = "") -> CopyEntry:
        private = event.get("extendedProperties", {}).get("private", {})
        return cls(
            source_event_id=source_event_id,
            hash=str(private.get(TAG_HASH, "")),
            cancelled=event.get("status") == "cancelled",
            start=parse_event_time(event.get("start")),
            end=parse_event_time(event.get("end")),
            recurring=bool(event.get("recurrence")),
            series=str(private.get(TAG_SERIES, "")),
            target_id=target_id,
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
            key = index_key(event)
            if key is None:
                continue
            if private.get(TAG_SOURCE) == source_calendar_id and TAG_EVENT in private:
                target_id = str(event["id"]) if is_occurrence_key(key) else ""
                index.entries[key] = CopyEntry.from_event(event, str(private[TAG_EVENT]), target_id)
            elif event.get("status") == "cancelled" and is_occurrence_key(key):
                bare.append(event)
        for event in bare:
            index.record_bare_cancellation(event)
        return index

    def record_bare_cancellation(self, event: Event) -> None:
        """A cancelled occurrence listed with ids only (Google guarantees ``recurringEventId``
        and ``originalStartTime``): kept when its series is a copy of this source."""
        key = index_key(event)
        master = self.entries.get(str(event.get("recurringEventId", "")))
        if key is None or master is None:
            return  # a deleted single copy or master needs no entry: it is simply not live
        self.record_cancelled(key, "", target_id=str(event["id"]))

    def live(self, copy_id: str) -> CopyEntry | None:
        entry = self.entries.get(copy_id)
        return entry if entry is not None and not entry.cancelled else None

    def live_copies(self) -> Iterator[tuple[str, CopyEntry]]:
        """Live single events and series masters (the copies the delete guard counts)."""
        for copy_id, entry in self.entries.items():
            if not entry.cancelled and not is_occurrence_key(copy_id):
                yield copy_id, entry

    def live_count(self) -> int:
        return sum(1 for _ in self.live_copies())

    def occurrences_by_series(self) -> dict[str, list[tuple[str, CopyEntry]]]:
        """``instances`` mode: live copies of occurrences, by the source series they come from
        (their ``calsyncSeries`` tag: Google's occurrence ids are opaque, never parsed)."""
        found: dict[str, list[tuple[str, CopyEntry]]] = {}
        for copy_id, entry in self.live_copies():
            if entry.series:
                found.setdefault(entry.series, []).append((copy_id, entry))
        return found

    def target_id(self, key: str) -> str | None:
        """The Google id of an occurrence, when a listing or an earlier lookup found it."""
        entry = self.entries.get(key)
        return entry.target_id if entry is not None and entry.target_id else None

    def record_found(self, key: str, target_id: str) -> None:
        """A lookup found the occurrence ``key`` at ``target_id`` (it is not written yet)."""
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = CopyEntry(source_event_id="", hash="", target_id=target_id)
        else:
            self.entries[key] = replace(entry, target_id=target_id)

    def record_written(self, copy_id: str, source_event_id: str, body: Event, target_id: str = "") -> None:
        self.entries[copy_id] = CopyEntry.from_event(body, source_event_id, target_id)

    def record_deleted(self, copy_id: str) -> None:
        """A deleted master takes its occurrences with it."""
        self.entries.pop(copy_id, None)
        prefix = copy_id + OCCURRENCE_SEP
        for key in [k for k in self.entries if k.startswith(prefix)]:
            del self.entries[key]

    def record_cancelled(self, copy_id: str, source_event_id: str, target_id: str = "") -> None:
        self.entries[copy_id] = CopyEntry(
            source_event_id=source_event_id, hash="", cancelled=True, target_id=target_id
        )
