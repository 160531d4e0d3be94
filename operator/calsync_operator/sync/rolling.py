"""When a source is due for a full re-list: the window rolls (docs/sync.md, "The window rolls").

Incremental listings only carry events that *changed*, so without a periodic full listing an
event that merely enters the window as time passes (created 400 days ahead, a series in
``instances`` mode with ``futureDays: 14``) is never copied, and a write Google refused is never
tried again. So each source is listed in full at least once per interval (a day by default).

To keep 1,000 CalendarSyncs from listing at the same moment, each source gets its own slot in
the interval: an offset derived from a stable key (the object and the source), the same after
every restart. A source is due at the first slot after its ``lastFullSyncTime``, so the gap
between two full listings never exceeds the interval. Pure: the caller passes the clock.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

DEFAULT_INTERVAL = timedelta(days=1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def slot_offset(spread_key: str, interval: timedelta) -> timedelta:
    """Where in every interval this source's full listing falls (deterministic)."""
    seconds = max(1, int(interval.total_seconds()))
    digest = int.from_bytes(hashlib.sha256(spread_key.encode()).digest()[:8], "big")
    return timedelta(seconds=digest % seconds)


def next_full_sync(last_full: datetime, spread_key: str, interval: timedelta = DEFAULT_INTERVAL) -> datetime:
    """The first slot strictly after ``last_full``: at most ``interval`` later."""
    offset = slot_offset(spread_key, interval)
    elapsed = last_full - _EPOCH - offset
    periods = elapsed // interval + 1
    return _EPOCH + offset + periods * interval


def full_sync_due(
    last_full_sync_time: datetime | None,
    now: datetime,
    spread_key: str,
    interval: timedelta | None = DEFAULT_INTERVAL,
) -> bool:
    """Whether the window must roll now. Never listed in full: yes. ``interval`` None: never
    (only the first pass, a 410 or a spec change list everything)."""
    if last_full_sync_time is None:
        return True
    if interval is None:
        return False
    return now >= next_full_sync(last_full_sync_time, spread_key, interval)
