"""Timestamps as Kubernetes and the push annotations write them.

Status date-time fields use RFC 3339 UTC with a ``Z`` (second precision, like Kubernetes' own;
``conditions.format_time`` writes them); push annotations carry milliseconds
(``2026-11-25T09:00:00.123Z``, docs/design.md §3). Parsing accepts both, so the operator can measure
push-to-write latency from the annotation.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp (``Z`` or an offset, any fraction) as an aware datetime."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def try_parse_time(text: object) -> datetime | None:
    """Like ``parse_time`` for values that come from users (annotations): None when unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None
