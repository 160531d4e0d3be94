"""Every name calsync puts on the wire, defined once (docs/design.md §2, §4).

The CalendarSync API coordinates, its annotations, finalizer and label, the tags every copy
carries, and the names derived from calendar and event ids: source keys (annotation-safe),
copy ids and channel-token hashes. Copies are addressed by deterministic ids so that every
write is idempotent: a crash and a retry can never create a duplicate. Hex is a subset of
Google's base32hex alphabet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# The CalendarSync API coordinates (crds/calendarsync.yaml), shared by the operator and the webhook.
GROUP = "calsync.dev"
VERSION = "v1alpha1"
PLURAL = "calendarsyncs"

SOURCE_KEY_LENGTH = 10
COPY_ID_LENGTH = 40
OCCURRENCE_SEP = "@"
PUSH_ANNOTATION_PREFIX = "push.calsync.dev/"
REQUESTED_AT_ANNOTATION = "calsync.dev/requested-at"
CONFIRM_DELETE_ANNOTATION = "calsync.dev/confirm-delete"
FINALIZER = "calsync.dev/finalizer"

# The label on every object of calsync's own (token Secrets, the check's state ConfigMap): the
# operator watches only Secrets that carry it.
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF_VALUE = "calsync"
PART_OF_SELECTOR = f"{PART_OF_LABEL}={PART_OF_VALUE}"

# extendedProperties.private tags carried by every copy.
TAG_SOURCE = "calsyncSource"
TAG_EVENT = "calsyncEvent"
TAG_HASH = "calsyncHash"
TAG_SERIES = "calsyncSeries"  # instances mode: the source series of an occurrence's copy


def source_key(calendar_id: str) -> str:
    """First 10 hex chars of sha256(calendarId): stable and safe inside an annotation name."""
    return hashlib.sha256(calendar_id.encode()).hexdigest()[:SOURCE_KEY_LENGTH]


def push_annotation(calendar_id: str) -> str:
    return PUSH_ANNOTATION_PREFIX + source_key(calendar_id)


def copy_event_id(target_calendar_id: str, source_calendar_id: str, source_event_id: str) -> str:
    raw = f"{target_calendar_id}|{source_calendar_id}|{source_event_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:COPY_ID_LENGTH]


def occurrence_key(master_copy_id: str, original_start: Mapping[str, Any]) -> str | None:
    """calsync's own name for one occurrence of a copied series: ``<master copy id>@<original
    start>`` (UTC basic time, or the date of an all-day series). Google's ids of occurrences are
    opaque and never built (docs/sync.md): the executor looks the occurrence up by the copied
    series and this original start. ``@`` never occurs in a copy id (hex)."""
    if original_start.get("dateTime"):
        moment = datetime.fromisoformat(str(original_start["dateTime"]).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            return None
        return f"{master_copy_id}{OCCURRENCE_SEP}{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    if original_start.get("date"):
        return f"{master_copy_id}{OCCURRENCE_SEP}{str(original_start['date']).replace('-', '')}"
    return None


def split_occurrence_key(key: str) -> tuple[str, str] | None:
    """``(master copy id, original start as RFC 3339 or a date)`` for an occurrence key."""
    master, sep, stamp = key.partition(OCCURRENCE_SEP)
    if not sep:
        return None
    if len(stamp) == 8:
        return master, f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}"
    moment = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return master, moment.isoformat().replace("+00:00", "Z")


def token_hash(channel_token: str) -> str:
    """What status stores instead of a channel token: the webhook compares hashes."""
    return hashlib.sha256(channel_token.encode()).hexdigest()
