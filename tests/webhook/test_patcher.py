"""The annotation value and patch body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from calsync_webhook.patcher import receipt_stamp, signal_patch


def test_receipt_stamp_is_rfc3339_utc_with_milliseconds() -> None:
    assert receipt_stamp(datetime(2026, 11, 25, 9, 0, 0, 123456, tzinfo=UTC)) == "2026-11-25T09:00:00.123Z"
    assert receipt_stamp(datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)) == "2026-11-25T09:00:00.000Z"
    cet = timezone(timedelta(hours=1))
    assert receipt_stamp(datetime(2026, 11, 25, 10, 0, 0, 999999, tzinfo=cet)) == "2026-11-25T09:00:00.999Z"


def test_stamps_sort_like_times() -> None:
    base = datetime(2026, 11, 25, 9, 59, 59, 999000, tzinfo=UTC)
    stamps = [receipt_stamp(base + timedelta(milliseconds=ms)) for ms in (0, 1, 10, 1000, 3_600_000)]
    assert stamps == sorted(stamps)


def test_signal_patch_touches_one_annotation() -> None:
    assert signal_patch("0123456789", "2026-11-25T09:00:00.123Z") == {
        "metadata": {"annotations": {"push.calsync.dev/0123456789": "2026-11-25T09:00:00.123Z"}}
    }
