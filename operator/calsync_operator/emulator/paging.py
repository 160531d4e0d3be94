"""Page tokens and sync tokens: which results a token stands for.

A page token pins a snapshot of one query's results and a position in it, so a client that
follows ``nextPageToken`` with the same query sees every item exactly once even while the
calendar changes; the changes surface in the next incremental list, because the
``nextSyncToken`` handed out on the last page remembers the change sequence of the snapshot.
Both kinds of token are opaque random strings held in bounded LRU tables.
"""

from __future__ import annotations

import copy
import random
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calsync_operator.emulator.errors import bad_request
from calsync_operator.emulator.times import format_instant, now

Event = dict[str, Any]

_MAX_PAGE_STATES = 4096
# Google expires sync tokens too; a client must handle 410 at any time anyway.
_MAX_SYNC_TOKENS = 100_000


@dataclass(frozen=True)
class SyncState:
    calendar_id: str
    epoch: int
    seq: int
    # Bounds for expanding changed series when singleEvents=true.
    time_min: datetime | None
    time_max: datetime | None


@dataclass(frozen=True)
class Snapshot:
    calendar_id: str
    signature: tuple[Any, ...]
    items: list[Event]  # references to stored (never mutated) events; pages copy them
    sync: SyncState | None  # None for events.instances (no sync tokens there)


class Pager:
    def __init__(self) -> None:
        self._pages: OrderedDict[str, tuple[Snapshot, int]] = OrderedDict()
        self._sync_tokens: OrderedDict[str, SyncState] = OrderedDict()
        self._random = random.Random()
        # Share of pages cut short (possibly to nothing) mid-stream, as Google's may be.
        self.short_page_probability = 0.0
        # Cancelled events are listed with only what Google guarantees (the Event resource's
        # ``status`` doc); ``minimal_cancelled(False)`` lists every stored field instead.
        self.full_cancelled = False

    def reset(self) -> None:
        self._pages.clear()
        self._sync_tokens.clear()
        self.short_page_probability = 0.0
        self.full_cancelled = False

    def sync_state(self, token: str) -> SyncState | None:
        return self._sync_tokens.get(token)

    def resume(self, calendar_id: str, page_token: str, signature: tuple[Any, ...]) -> tuple[Snapshot, int]:
        """The snapshot and position a page token stands for; 400 for another query's token."""
        entry = self._pages.get(page_token)
        if entry is None or entry[0].calendar_id != calendar_id or entry[0].signature != signature:
            raise bad_request("Invalid page token value.", location="pageToken")
        self._pages.move_to_end(page_token)
        return entry

    def _listed(self, event: Event) -> Event:
        """How an item appears in a list. Google guarantees only ``id`` for a deleted event, and
        ``id``, ``recurringEventId`` and ``originalStartTime`` for a cancelled occurrence; a
        client that reads more than that breaks against Google, so by default exactly that much
        is listed; ``full_cancelled`` (``EmulatorServer.minimal_cancelled(False)``) lists the
        whole stored event, as Google may on the organizer's own calendar."""
        if event.get("status") != "cancelled" or self.full_cancelled:
            return copy.deepcopy(event)
        keep = ("kind", "etag", "id", "status", "updated", "recurringEventId", "originalStartTime")
        return {k: copy.deepcopy(event[k]) for k in keep if k in event}

    def page(self, snapshot: Snapshot, position: int, size: int, calendar_etag: str) -> dict[str, Any]:
        """One ``calendar#events`` page: ``nextPageToken`` while items remain, else
        ``nextSyncToken`` (when the listing supports sync)."""
        if self.short_page_probability and self._random.random() < self.short_page_probability:
            size = self._random.randint(0, max(0, size - 1))
        items = snapshot.items[position : position + size]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": calendar_etag,
            "summary": snapshot.calendar_id,
            "description": "",
            "updated": format_instant(now()),
            "timeZone": "UTC",
            "accessRole": "owner",
            "defaultReminders": [],
            "items": [self._listed(e) for e in items],
        }
        end = position + len(items)
        if end < len(snapshot.items):
            token = secrets.token_urlsafe(24)
            self._pages[token] = (snapshot, end)
            while len(self._pages) > _MAX_PAGE_STATES:
                self._pages.popitem(last=False)
            body["nextPageToken"] = token
        elif snapshot.sync is not None:
            token = "C" + secrets.token_urlsafe(24)
            self._sync_tokens[token] = snapshot.sync
            while len(self._sync_tokens) > _MAX_SYNC_TOKENS:
                self._sync_tokens.popitem(last=False)
            body["nextSyncToken"] = token
        return body
