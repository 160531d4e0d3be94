"""Every name calsync puts on the wire, defined once (docs/design.md §2, §4).

The CalendarSync API coordinates, its annotations, finalizer and label, the tags every copy
carries, and the names derived from calendar and event ids: source keys (annotation-safe),
copy ids and channel-token hashes. Copies are addressed by deterministic ids so that every
write is idempotent: a crash and a retry can never create a duplicate. Hex is a subset of
Google's base32hex alphabet.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

# The CalendarSync API coordinates (crds/calendarsync.yaml), shared by the operator and the webhook.
GROUP = "calsync.dev"
VERSION = "v1alpha1"
PLURAL = "calendarsyncs"

SOURCE_KEY_LENGTH = 10
COPY_ID_LENGTH = 40
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


def source_key(calendar_id: str) -> str:
    """First 10 hex chars of sha256(calendarId): stable and safe inside an annotation name."""
    return hashlib.sha256(calendar_id.encode()).hexdigest()[:SOURCE_KEY_LENGTH]


def push_annotation(calendar_id: str) -> str:
    return PUSH_ANNOTATION_PREFIX + source_key(calendar_id)


def copy_event_id(target_calendar_id: str, source_calendar_id: str, source_event_id: str) -> str:
    raw = f"{target_calendar_id}|{source_calendar_id}|{source_event_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:COPY_ID_LENGTH]


def instance_suffix(original_start: datetime) -> str:
    """Google's instance id suffix: the original start in UTC basic format (``20261125T090000Z``)."""
    return original_start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def instance_id(master_id: str, original_start: datetime) -> str:
    return f"{master_id}_{instance_suffix(original_start)}"


def token_hash(channel_token: str) -> str:
    """What status stores instead of a channel token: the webhook compares hashes."""
    return hashlib.sha256(channel_token.encode()).hexdigest()
