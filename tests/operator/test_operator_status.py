"""Status building and diffing (pure): a pass writes only what changed, nothing when idle."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from calsync_operator.api.status import ChannelRecord, Counts, SourceStatus, sources_by_key
from calsync_operator.controller.rules.status import build_status, plan_status, status_patch
from calsync_operator.sync.planner import OpKind, Plan, PlannedOp

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CHANNEL = ChannelRecord("c1", "r1", datetime(2026, 12, 2, 9, 0, tzinfo=UTC), "f" * 64)


def entry(calendar_id: str, key: str, **changes: object) -> SourceStatus:
    base = SourceStatus(
        calendar_id,
        key,
        sync_token="tok",
        last_sync_time="2026-11-25T09:00:00Z",
        counts=Counts(created=3, updated=1, deleted=0, skipped=2),
        channel=CHANNEL,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def desired(*entries: SourceStatus, plan: dict[str, object] | None = None) -> dict[str, object]:
    conditions = [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Synced",
            "message": "ok",
            "lastTransitionTime": "2026-11-25T09:00:00Z",
        }
    ]
    return build_status(
        generation=2, conditions=conditions, sources=entries, last_handled_request_at=None, plan=plan
    )


def test_status_has_the_printer_column_fields() -> None:
    status = desired(
        entry("a@x", "aaaaaaaaaa"), entry("b@x", "bbbbbbbbbb", last_sync_time="2026-11-25T10:00:00Z")
    )
    assert status["sourceCount"] == 2
    assert status["eventsSynced"] == 8  # created + updated over both sources
    assert status["lastSyncTime"] == "2026-11-25T10:00:00Z"
    assert status["nextChannelExpiry"] == "2026-12-02T09:00:00Z"
    assert status["observedGeneration"] == 2


def test_nothing_changed_means_an_empty_patch() -> None:
    status = desired(entry("a@x", "aaaaaaaaaa"))
    assert status_patch(status, desired(entry("a@x", "aaaaaaaaaa"))) == {}


def test_a_changed_source_patches_the_sources_list_only() -> None:
    before = desired(entry("a@x", "aaaaaaaaaa"))
    after = desired(entry("a@x", "aaaaaaaaaa", sync_token="tok2"))
    patch = status_patch(before, after)
    assert set(patch) == {"sources"}
    assert patch["sources"][0]["syncToken"] == "tok2"


def test_a_field_that_disappears_is_removed() -> None:
    before = desired(entry("a@x", "aaaaaaaaaa"), plan={"counts": {"insert": 1}})
    assert status_patch(before, desired(entry("a@x", "aaaaaaaaaa")))["plan"] is None


def test_recorded_sources_are_read_back_by_key() -> None:
    status = desired(entry("a@x", "aaaaaaaaaa", last_handled_push="2026-11-25T09:00:00.123Z"))
    recorded = sources_by_key(status)["aaaaaaaaaa"]
    assert recorded.sync_token == "tok"
    assert recorded.last_handled_push == "2026-11-25T09:00:00.123Z"
    assert recorded.channel == CHANNEL


def test_plan_status_counts_every_source_and_lists_the_first_operations() -> None:
    ops = tuple(PlannedOp(OpKind.INSERT, f"e{i}", f"c{i}", {"summary": f"Busy {i}"}) for i in range(150))
    skip = PlannedOp(OpKind.SKIP, "declined", reason="declined")
    plan = plan_status([("a@x", Plan((*ops, skip)))], NOW)
    assert plan["counts"]["insert"] == 150
    assert plan["counts"]["skip"] == 1
    assert plan["truncated"] is True
    assert len(plan["operations"]) == 100
    assert plan["operations"][0] == {
        "op": "insert",
        "sourceCalendarId": "a@x",
        "eventId": "e0",
        "copyId": "c0",
        "summary": "Busy 0",
    }
