"""Which condition transitions produce Events and mails (pure): transitions only, never repeats."""

from __future__ import annotations

from typing import Any

from calsync_operator.controller.rules.notices import alert_mail, condition_notices


def conds(
    ready: str, reason: str, *, auth: str = "True", auth_reason: str = "TokenValid", guard: bool = False
) -> list[dict[str, Any]]:
    items = [
        {"type": "Ready", "status": ready, "reason": reason, "message": f"{reason}: run the fix"},
        {"type": "Authenticated", "status": auth, "reason": auth_reason, "message": "run calsync auth"},
    ]
    if guard:
        items.append(
            {"type": "DeleteGuard", "status": "True", "reason": "TooManyDeletes", "message": "raise it"}
        )
    return items


HEALTHY = conds("True", "Synced")
EXPIRED = conds("False", "AuthExpired", auth="False", auth_reason="AuthExpired")


def reasons(before: Any, after: Any) -> list[str]:
    return [notice.reason for notice in condition_notices(before, after)]


def test_auth_expiry_is_one_event_and_one_mail() -> None:
    assert reasons(HEALTHY, EXPIRED) == ["AuthExpired"]
    mail = alert_mail(HEALTHY, EXPIRED, namespace="ns", name="cs")
    assert mail is not None
    assert "AuthExpired" in mail.subject
    assert "run the fix" in mail.body


def test_staying_broken_sends_nothing_more() -> None:
    assert reasons(EXPIRED, EXPIRED) == []
    assert alert_mail(EXPIRED, EXPIRED, namespace="ns", name="cs") is None
    # A different reason while still not ready is not a new transition either.
    assert alert_mail(EXPIRED, conds("False", "GoogleError"), namespace="ns", name="cs") is None


def test_recovery_is_one_event_and_one_mail() -> None:
    assert reasons(EXPIRED, HEALTHY) == ["Recovered"]
    mail = alert_mail(EXPIRED, HEALTHY, namespace="ns", name="cs")
    assert mail is not None
    assert "recovered" in mail.subject


def test_a_new_resource_that_cannot_sync_alerts_but_one_that_syncs_does_not() -> None:
    assert alert_mail(None, conds("False", "SecretMissing"), namespace="ns", name="cs") is not None
    assert alert_mail(None, HEALTHY, namespace="ns", name="cs") is None
    assert reasons(None, HEALTHY) == []


def test_google_errors_are_sync_failures() -> None:
    assert reasons(HEALTHY, conds("False", "GoogleError")) == ["SyncFailed"]


def test_suspend_and_dry_run_are_choices_not_failures() -> None:
    for reason in ("Suspended", "DryRun"):
        chosen = conds("False", reason)
        assert reasons(HEALTHY, chosen) == []
        assert alert_mail(HEALTHY, chosen, namespace="ns", name="cs") is None
        assert alert_mail(chosen, HEALTHY, namespace="ns", name="cs") is None  # no "recovered" either


def test_delete_guard_trips_once() -> None:
    guarded = conds("False", "DeleteGuard", guard=True)
    assert reasons(HEALTHY, guarded) == ["DeleteGuardTripped"]
    assert reasons(guarded, guarded) == []
