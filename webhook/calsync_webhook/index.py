"""Channel id → CalendarSync source, built from CalendarSync status (docs/design.md §2, §3).

The operator records each source's push channel in ``status.sources[].channel`` (and the one
being retired in ``previousChannel``), with ``tokenHash`` = sha256 of the channel token. This
module reads them with the one status type (``calsync_operator.api.status``) into a lookup
table; it is pure (plain dicts in, no I/O) and
kept current by ``watcher.py``. Both channels of a source are indexed so that pushes arriving
on the old channel during a renewal's overlap are still accepted.

Writes come from the watch thread, reads from the event loop: writers take a lock and apply
each object's change as "add the new ids, then drop the stale ones", so a reader's single
``dict.get`` (atomic in CPython) never misses a channel that stays valid.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from calsync_operator.api.status import sources_by_key

ObjectKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class SignalTarget:
    """One source of one CalendarSync: where a push goes, the unit of coalescing and of the
    push annotation."""

    namespace: str
    name: str
    source_key: str


@dataclass(frozen=True)
class ChannelRef:
    """Where a push on a channel goes, and how to check its token."""

    target: SignalTarget
    token_hash: str


def channels_of(obj: Mapping[str, Any]) -> dict[str, ChannelRef]:
    """Every channel (current and previous) a CalendarSync's status names, read through the
    operator's own status type. Entries without ``tokenHash`` are skipped: such a channel could
    never be verified anyway."""
    namespace, name = object_key(obj)
    status = obj.get("status")
    if not name or not isinstance(status, Mapping):
        return {}
    found: dict[str, ChannelRef] = {}
    for key, entry in sources_by_key(status).items():
        # Current channel last, so it wins should both fields ever carry the same id.
        for channel in (entry.previous_channel, entry.channel):
            if channel is not None and channel.token_hash:
                found[channel.id] = ChannelRef(SignalTarget(namespace, name, key), channel.token_hash)
    return found


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    metadata = obj.get("metadata") or {}
    return (metadata.get("namespace") or "", metadata.get("name") or "")


class ChannelIndex:
    """The lookup table the push handler consults for every request."""

    def __init__(self) -> None:
        self._channels: dict[str, ChannelRef] = {}
        self._owned: dict[ObjectKey, frozenset[str]] = {}
        self._lock = threading.Lock()

    def lookup(self, channel_id: str) -> ChannelRef | None:
        return self._channels.get(channel_id)

    def __len__(self) -> int:
        return len(self._channels)

    def apply_event(self, event_type: str, obj: Mapping[str, Any]) -> None:
        """Apply one watch event (``ADDED``, ``MODIFIED``, ``DELETED``); others are ignored."""
        if event_type in ("ADDED", "MODIFIED"):
            with self._lock:
                self._upsert(object_key(obj), channels_of(obj))
        elif event_type == "DELETED":
            with self._lock:
                self._upsert(object_key(obj), {})

    def replace(self, objects: Iterable[Mapping[str, Any]], namespace: str | None = None) -> None:
        """Make the index match a full list of ``namespace`` (``None``: every namespace):
        objects missing from the list were deleted while nobody was watching."""
        listed = {object_key(obj): channels_of(obj) for obj in objects}
        with self._lock:
            for key, channels in listed.items():
                self._upsert(key, channels)
            gone = [key for key in self._owned if key not in listed and namespace in (None, key[0])]
            for key in gone:
                self._upsert(key, {})

    def _upsert(self, key: ObjectKey, channels: Mapping[str, ChannelRef]) -> None:
        stale = self._owned.get(key, frozenset()) - channels.keys()
        self._channels.update(channels)
        for channel_id in stale:
            ref = self._channels.get(channel_id)
            # Only drop an id this object owns; another object may have claimed it since.
            if ref is not None and (ref.target.namespace, ref.target.name) == key:
                del self._channels[channel_id]
        if channels:
            self._owned[key] = frozenset(channels)
        else:
            self._owned.pop(key, None)
