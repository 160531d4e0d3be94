"""The one type for a ``status.sources[]`` entry, with its parts: counts and push channels.

The engine reads and returns it, the pass records channels in it, the status writer renders it,
and everything that reads status back (the operator after a restart, the webhook's index,
``calsync check``) parses it here — one shape, no dict round trips in between. Every field is
declared in ``crds/calendarsync.yaml`` (kopf pitfall: the API server silently prunes
undeclared status fields). Tokens never appear: a channel is recorded with its token's hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from calsync_operator.api.conditions import format_time
from calsync_operator.api.names import source_key
from calsync_operator.api.records import DeleteWindow, FailedWrites
from calsync_operator.api.times import parse_time

COUNT_KEYS = ("created", "updated", "deleted", "skipped")
LAST_ERROR_LIMIT = 4096


@dataclass(frozen=True)
class Counts:
    """Operations done on copies (``status.sources[].counts``), per pass or in total."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.created + other.created,
            self.updated + other.updated,
            self.deleted + other.deleted,
            self.skipped + other.skipped,
        )

    def as_status(self) -> dict[str, int]:
        return {key: int(getattr(self, key)) for key in COUNT_KEYS}

    @classmethod
    def from_status(cls, raw: Any) -> Counts:
        counts: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        return cls(*(_int(counts.get(key)) for key in COUNT_KEYS))


@dataclass(frozen=True)
class ChannelRecord:
    """A channel as status records it: enough to route pushes and to stop it, never the token."""

    id: str
    resource_id: str
    expiration: datetime
    token_hash: str

    def to_status(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resourceId": self.resource_id,
            "expiration": format_time(self.expiration),
            "tokenHash": self.token_hash,
        }

    @classmethod
    def from_status(cls, raw: Any) -> ChannelRecord | None:
        """The record in ``status.sources[].channel``; None when absent or unreadable."""
        if not isinstance(raw, Mapping) or not raw.get("id"):
            return None
        try:
            expiration = parse_time(str(raw.get("expiration", "")))
        except ValueError:
            expiration = datetime.fromtimestamp(0, UTC)  # unreadable: treat as expired, replace it
        return cls(
            id=str(raw["id"]),
            resource_id=str(raw.get("resourceId", "")),
            expiration=expiration,
            token_hash=str(raw.get("tokenHash", "")),
        )


@dataclass(frozen=True)
class SourceStatus:
    """One ``status.sources[]`` item: what survives between passes for one source.

    ``key`` defaults to the source key of ``calendar_id``. A ``sync_token`` of None means the
    next pass lists the window in full.
    """

    calendar_id: str
    key: str = ""
    sync_token: str | None = field(default=None, repr=False)
    last_sync_time: str | None = None
    last_full_sync_time: str | None = None
    last_handled_push: str | None = None
    copies: int | None = None
    counts: Counts = field(default_factory=Counts)
    last_error: str | None = None
    channel: ChannelRecord | None = None
    previous_channel: ChannelRecord | None = None
    delete_window: DeleteWindow = field(default_factory=DeleteWindow)  # the delete guard's hour
    held_deletes: int = 0  # copy deletions the guard holds back until confirmed
    failed_writes: FailedWrites = field(default_factory=FailedWrites)  # remembered until they land

    def __post_init__(self) -> None:
        if not self.key and self.calendar_id:
            object.__setattr__(self, "key", source_key(self.calendar_id))

    def channels(self) -> list[ChannelRecord]:
        """The current channel and the one still overlapping it, when there are."""
        return [c for c in (self.channel, self.previous_channel) if c is not None]

    def to_status(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"calendarId": self.calendar_id, "key": self.key}
        optional = {
            "syncToken": self.sync_token,
            "lastSyncTime": self.last_sync_time,
            "lastFullSyncTime": self.last_full_sync_time,
            "lastHandledPush": self.last_handled_push,
        }
        entry.update({name: value for name, value in optional.items() if value})
        if self.copies is not None:
            entry["copies"] = self.copies
        entry["counts"] = self.counts.as_status()
        if self.last_error:
            entry["lastError"] = self.last_error[:LAST_ERROR_LIMIT]
        if self.channel is not None:
            entry["channel"] = self.channel.to_status()
        if self.previous_channel is not None:
            entry["previousChannel"] = self.previous_channel.to_status()
        if self.delete_window.records:
            entry["recentDeletes"] = self.delete_window.to_status()
        if self.held_deletes:
            entry["heldDeletes"] = self.held_deletes
        if self.failed_writes:
            entry["failedWrites"] = self.failed_writes.to_status()
        return entry

    @classmethod
    def from_status(cls, raw: Mapping[str, Any]) -> SourceStatus:
        copies = raw.get("copies")
        return cls(
            calendar_id=str(raw.get("calendarId", "")),
            key=str(raw.get("key", "")),
            sync_token=_text(raw.get("syncToken")),
            last_sync_time=_text(raw.get("lastSyncTime")),
            last_full_sync_time=_text(raw.get("lastFullSyncTime")),
            last_handled_push=_text(raw.get("lastHandledPush")),
            copies=copies if isinstance(copies, int) else None,
            counts=Counts.from_status(raw.get("counts")),
            last_error=_text(raw.get("lastError")),
            channel=ChannelRecord.from_status(raw.get("channel")),
            previous_channel=ChannelRecord.from_status(raw.get("previousChannel")),
            delete_window=DeleteWindow.from_status(raw.get("recentDeletes")),
            held_deletes=_int(raw.get("heldDeletes")),
            failed_writes=FailedWrites.from_status(raw.get("failedWrites")),
        )


def sources_by_key(status: Mapping[str, Any] | None) -> dict[str, SourceStatus]:
    """The recorded per-source state, keyed by source key (what a restarted operator resumes from)."""
    items = (status or {}).get("sources") or []
    recorded = (SourceStatus.from_status(item) for item in items if isinstance(item, Mapping))
    return {entry.key: entry for entry in recorded if entry.key}


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
