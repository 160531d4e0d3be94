"""Condition helpers: cert-manager semantics on plain data, the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from calsync_operator.api.conditions import (
    AuthenticatedReason,
    ConditionType,
    DeleteGuardReason,
    PushActiveReason,
    ReadyReason,
    condition_status,
    format_time,
    get_condition,
    is_true,
    remove_condition,
    set_condition,
)

T0 = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
READY = ConditionType.READY


def test_new_condition_gets_every_field() -> None:
    conditions = set_condition([], READY, True, ReadyReason.SYNCED, "2 sources synced", 4, T0)
    assert conditions == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Synced",
            "message": "2 sources synced",
            "lastTransitionTime": "2026-11-25T08:00:00Z",
            "observedGeneration": 4,
        }
    ]
    # Plain str, not the enum: safe for yaml.safe_dump and for comparing with what the API returns.
    assert type(conditions[0]["type"]) is str
    assert type(conditions[0]["reason"]) is str


def test_transition_time_kept_when_only_reason_or_message_changes() -> None:
    before = set_condition([], READY, False, ReadyReason.GOOGLE_ERROR, "first sync", 1, T0)
    after = set_condition(before, READY, False, ReadyReason.GOOGLE_ERROR, "503 backendError", 2, T1)
    [condition] = after
    assert condition["lastTransitionTime"] == "2026-11-25T08:00:00Z"
    assert (condition["reason"], condition["message"], condition["observedGeneration"]) == (
        "GoogleError",
        "503 backendError",
        2,
    )


def test_transition_time_moves_when_status_flips() -> None:
    before = set_condition([], READY, False, ReadyReason.GOOGLE_ERROR, "", 1, T0)
    after = set_condition(before, READY, True, ReadyReason.SYNCED, "", 1, T1)
    assert after[0]["lastTransitionTime"] == "2026-11-25T08:05:00Z"


def test_input_is_not_modified() -> None:
    before = set_condition([], READY, False, ReadyReason.GOOGLE_ERROR, "", 1, T0)
    snapshot = [dict(c) for c in before]
    set_condition(before, READY, True, ReadyReason.SYNCED, "", 2, T1)
    assert before == snapshot


def test_conditions_keep_a_stable_order_whatever_the_insertion_order() -> None:
    conditions = set_condition(
        [], ConditionType.PUSH_ACTIVE, True, PushActiveReason.CHANNELS_ACTIVE, "", 1, T0
    )
    conditions = set_condition(
        conditions, ConditionType.AUTHENTICATED, True, AuthenticatedReason.TOKEN_VALID, "", 1, T0
    )
    conditions = set_condition(conditions, READY, True, ReadyReason.SYNCED, "", 1, T0)
    assert [c["type"] for c in conditions] == ["Ready", "Authenticated", "PushActive"]


def test_delete_guard_exists_only_while_true() -> None:
    guarded = set_condition(
        [], ConditionType.DELETE_GUARD, True, DeleteGuardReason.TOO_MANY_DELETES, "would delete 40 %", 1, T0
    )
    assert is_true(guarded, ConditionType.DELETE_GUARD)
    released = set_condition(guarded, ConditionType.DELETE_GUARD, False, "Confirmed", "", 1, T1)
    assert get_condition(released, ConditionType.DELETE_GUARD) is None
    assert set_condition([], ConditionType.DELETE_GUARD, False, "NotNeeded", "", 1, T0) == []


def test_get_and_is_true_on_missing_or_empty_status() -> None:
    assert get_condition(None, READY) is None
    assert condition_status([], READY) is None
    assert not is_true(None, READY)
    assert not is_true(set_condition([], READY, "Unknown", ReadyReason.GOOGLE_ERROR, "", None, T0), READY)


def test_get_condition_returns_a_copy() -> None:
    conditions = set_condition([], READY, True, ReadyReason.SYNCED, "", 1, T0)
    got = get_condition(conditions, READY)
    assert got is not None
    got["status"] = "False"
    assert is_true(conditions, READY)


def test_generation_none_leaves_observed_generation_out() -> None:
    [condition] = set_condition([], READY, True, ReadyReason.SYNCED, "", None, T0)
    assert "observedGeneration" not in condition


def test_remove_condition() -> None:
    conditions = set_condition([], READY, True, ReadyReason.SYNCED, "", 1, T0)
    conditions = set_condition(
        conditions, ConditionType.PUSH_ACTIVE, False, PushActiveReason.PUSH_DISABLED, "", 1, T0
    )
    assert [c["type"] for c in remove_condition(conditions, READY)] == ["PushActive"]


def test_times_are_utc_seconds_and_need_a_timezone() -> None:
    cest = timezone(timedelta(hours=2))
    assert format_time(datetime(2026, 11, 25, 10, 0, 0, 999_000, tzinfo=cest)) == "2026-11-25T08:00:00Z"
    with pytest.raises(ValueError, match="aware datetime"):
        format_time(datetime(2026, 11, 25, 8, 0))


def test_invalid_status_is_refused() -> None:
    with pytest.raises(ValueError, match="True, False or Unknown"):
        set_condition([], READY, "true", ReadyReason.SYNCED, "", 1, T0)  # type: ignore[arg-type]


def test_reason_constants_are_camel_case() -> None:
    for enum in (ReadyReason, AuthenticatedReason, PushActiveReason, DeleteGuardReason):
        for reason in enum:
            assert reason.value[0].isupper()
            assert reason.value.isalnum()
