"""Channel decisions (pure): when a source gets a new channel and when the old one goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calsync_operator.api.status import ChannelRecord
from calsync_operator.sync.channels import ChannelDecision, channel_lifetime, decide_channels

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
WEEK = 7 * 24 * 3600.0


def record(name: str, left: float) -> ChannelRecord:
    return ChannelRecord(name, f"res-{name}", NOW + timedelta(seconds=left), "0" * 64)


def decide(
    current: ChannelRecord | None,
    previous: ChannelRecord | None = None,
    *,
    wanted: bool = True,
    retire_at: datetime | None = None,
) -> ChannelDecision:
    return decide_channels(
        now=NOW,
        wanted=wanted,
        current=current,
        previous=previous,
        lifetime_seconds=WEEK,
        renew_fraction=0.2,
        previous_retire_at=retire_at,
    )


def test_a_source_without_a_channel_gets_one() -> None:
    assert decide(None) == ChannelDecision(create=True)


def test_an_expired_channel_is_replaced_without_overlap() -> None:
    assert decide(record("a", -1)) == ChannelDecision(create=True)


@pytest.mark.parametrize(("left_share", "renews"), [(0.21, False), (0.19, True)])
def test_renewal_starts_when_less_than_a_fifth_of_the_lifetime_is_left(
    left_share: float, renews: bool
) -> None:
    decision = decide(record("a", left_share * WEEK))
    assert decision.create is renews
    assert decision.retire_current is renews


def test_the_previous_channel_is_stopped_only_after_the_overlap() -> None:
    current, previous = record("new", WEEK), record("old", 3600)
    assert decide(current, previous, retire_at=NOW + timedelta(seconds=1)).idle
    assert decide(current, previous, retire_at=NOW) == ChannelDecision(stop_previous=True)
    assert decide(current, previous, retire_at=None) == ChannelDecision(stop_previous=True)  # after a restart


def test_push_switched_off_stops_both_channels() -> None:
    assert decide(record("a", WEEK), record("b", 60), wanted=False) == ChannelDecision(
        stop_current=True, stop_previous=True
    )
    assert decide(None, wanted=False).idle


def test_lifetime_is_what_google_granted_when_known() -> None:
    granted = record("a", 3600)
    assert channel_lifetime(granted, NOW, WEEK) == 3600
    assert channel_lifetime(granted, None, WEEK) == WEEK


def test_status_round_trip_keeps_only_the_hash_of_the_token() -> None:
    original = ChannelRecord("id-1", "res-1", datetime(2026, 12, 2, 9, 0, tzinfo=UTC), "a" * 64)
    raw = original.to_status()
    assert raw == {
        "id": "id-1",
        "resourceId": "res-1",
        "expiration": "2026-12-02T09:00:00Z",
        "tokenHash": "a" * 64,
    }
    assert ChannelRecord.from_status(raw) == original
    assert ChannelRecord.from_status({}) is None
