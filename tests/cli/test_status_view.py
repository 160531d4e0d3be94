"""``calsync status``'s pure view: what a person sees for the states that need action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from calsync_operator.cli.status_view import render, summarize

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RENEW_BEFORE = timedelta(hours=33, minutes=36)  # a fifth of 7 days


def calendarsync(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "calsync", "name": "personal-to-central", "generation": 2},
        "spec": {"target": {"calendarId": "central@example.com"}, "dryRun": True},
        "status": status,
    }


def test_a_guarded_dry_run_with_an_expired_channel_shows_what_to_do() -> None:
    obj = calendarsync(
        conditions=[
            {
                "type": "Ready",
                "status": "False",
                "reason": "DeleteGuard",
                "message": "Held: run calsync confirm-delete",
            },
            {"type": "DeleteGuard", "status": "True", "reason": "TooManyDeletes", "message": "5 of 8 copies"},
        ],
        sources=[
            {
                "calendarId": "me@example.com",
                "key": "26e3d35b39",
                "lastSyncTime": "2026-12-03T11:59:00Z",
                "lastHandledPush": "2026-12-03T11:58:00.123Z",
                "channel": {"expiration": "2026-12-03T11:00:00Z"},
                "counts": {"created": 3, "deleted": 1},
                "heldDeletes": 5,
                "lastError": "403 forbidden",
            }
        ],
        plan={
            "computedAt": "2026-12-03T11:59:00Z",
            "counts": {"insert": 1},
            "operations": [{"op": "insert", "summary": "Yoga"}],
        },
    )
    events = [
        {
            "lastTimestamp": "2026-12-03T11:59:30Z",
            "type": "Warning",
            "reason": "DeleteGuardTripped",
            "message": "held",
            "count": 2,
        }
    ]

    summary = summarize(obj, events, NOW, RENEW_BEFORE)
    text = render(summary, NOW)

    assert summary["sources"][0]["channelExpired"] is True
    assert summary["sources"][0]["channelRenewalDue"] == "2026-12-02T01:24:00Z"
    assert (
        text.splitlines()[0] == "CalendarSync calsync/personal-to-central -> central@example.com  [DRY RUN]"
    )
    assert "Ready          False    DeleteGuard     Held: run calsync confirm-delete" in text
    assert "DeleteGuard    True     TooManyDeletes  5 of 8 copies" in text
    assert "  last push     2026-12-03 11:58:00 UTC (2m ago)" in text
    assert "  channel       EXPIRED expires 2026-12-03 11:00:00 UTC (60m ago)" in text
    assert "  counts        created 3, updated 0, deleted 1, skipped 0" in text
    assert "  held deletes  5 (calsync confirm-delete lets them through)" in text
    assert "  last error    403 forbidden" in text
    assert "Plan (dry run, computed 2026-12-03T11:59:00Z): insert 1" in text
    assert "   30s ago  Warning DeleteGuardTripped: held (x2)" in text


def test_before_the_first_pass_and_without_permission_to_read_events() -> None:
    obj = calendarsync()
    obj["spec"]["dryRun"] = False
    summary = summarize(obj, None, NOW, RENEW_BEFORE)
    assert [(c["type"], c["status"]) for c in summary["conditions"]] == [
        ("Ready", "Unknown"),
        ("Authenticated", "Unknown"),
        ("PushActive", "Unknown"),
        ("DeleteGuard", "False"),
    ]
    assert summary["plan"] is None
    assert render(summary, NOW).endswith(
        "Events: cannot list them (no permission to list events in this namespace)\n"
    )
