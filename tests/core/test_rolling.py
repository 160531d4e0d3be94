"""When the window rolls: one slot per source per interval, spread over the day."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from calsync_operator.sync.rolling import full_sync_due, next_full_sync, slot_offset

DAY = timedelta(days=1)
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_never_listed_in_full_is_due_at_once() -> None:
    assert full_sync_due(None, START, "ns/demo/abc")
    assert full_sync_due(None, START, "ns/demo/abc", None)


def test_the_next_full_listing_is_within_one_interval_and_in_the_same_slot_every_day() -> None:
    key = "ns/demo/abc"
    first = next_full_sync(START, key)
    second = next_full_sync(first, key)

    assert START < first <= START + DAY
    assert second - first == DAY
    assert not full_sync_due(START, first - timedelta(seconds=1), key)
    assert full_sync_due(START, first, key)


def test_no_interval_means_no_roll() -> None:
    assert not full_sync_due(START, START + timedelta(days=30), "k", None)


def test_a_thousand_sources_are_spread_over_the_day() -> None:
    keys = [f"team-{n % 10}/sync-{n}/{n:010x}" for n in range(1000)]
    hours = Counter(int(slot_offset(k, DAY).total_seconds() // 3600) for k in keys)

    assert len(hours) == 24
    assert max(hours.values()) < 80  # about 42 an hour; never a thundering herd
    assert slot_offset(keys[0], DAY) == slot_offset(keys[0], DAY)  # the same after a restart
