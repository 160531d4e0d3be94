"""The four conditions from what passes found (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from calsync_operator.controller.rules.readiness import Problems, Situation, decide_conditions

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LIVE = Situation(sources=2, channels_live=2)


def by_type(conditions: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in conditions}


def test_all_well() -> None:
    assert by_type(decide_conditions(None, LIVE, Problems(), generation=1, now=NOW)) == {
        "Ready": ("True", "Synced"),
        "Authenticated": ("True", "TokenValid"),
        "PushActive": ("True", "ChannelsActive"),
    }


def test_credentials_come_first() -> None:
    problems = Problems(
        credentials={"src": ("AuthExpired", 'Secret "src": run calsync auth')},
        sync={"k": ("GoogleError", "503")},
    )
    conditions = by_type(decide_conditions(None, LIVE, problems, generation=1, now=NOW))
    assert conditions["Ready"] == ("False", "AuthExpired")
    assert conditions["Authenticated"] == ("False", "AuthExpired")


def test_quota_before_other_google_errors_and_the_guard() -> None:
    problems = Problems(
        sync={"a": ("GoogleError", "x"), "b": ("QuotaExceeded", "y")}, guards={"a": "too many"}
    )
    conditions = by_type(decide_conditions(None, LIVE, problems, generation=1, now=NOW))
    assert conditions["Ready"] == ("False", "QuotaExceeded")
    assert conditions["DeleteGuard"] == ("True", "TooManyDeletes")


def test_guard_only_while_true() -> None:
    guarded = decide_conditions(None, LIVE, Problems(guards={"a": "raise it"}), generation=1, now=NOW)
    assert by_type(guarded)["Ready"] == ("False", "DeleteGuard")
    cleared = decide_conditions(guarded, LIVE, Problems(), generation=1, now=NOW)
    assert "DeleteGuard" not in by_type(cleared)


def test_push_states() -> None:
    def push(situation: Situation, problems: Problems | None = None) -> tuple[str, str]:
        found = decide_conditions(None, situation, problems or Problems(), generation=1, now=NOW)
        return by_type(found)["PushActive"]

    assert push(Situation(sources=2, push_enabled=False)) == ("False", "PushDisabled")
    assert push(Situation(sources=2, webhook_url_set=False)) == ("False", "NoWebhookURL")
    not_https = Situation(sources=2, webhook_problem="CALSYNC_WEBHOOK_URL='http://x/push' is not https")
    assert push(not_https) == ("False", "WebhookURLNotHTTPS")
    assert push(Situation(sources=2, suspended=True)) == ("False", "Suspended")
    assert push(LIVE, Problems(channels={"a": "403 forbidden"})) == ("False", "ChannelError")
    assert push(Situation(sources=2, channels_live=1)) == ("False", "ChannelError")


def test_transition_time_moves_only_on_a_flip() -> None:
    first = decide_conditions(None, LIVE, Problems(), generation=1, now=NOW)
    later = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    again = decide_conditions(first, LIVE, Problems(), generation=2, now=later)
    assert [c["lastTransitionTime"] for c in again] == [c["lastTransitionTime"] for c in first]
    broken = decide_conditions(
        again, LIVE, Problems(sync={"a": ("GoogleError", "x")}), generation=2, now=later
    )
    ready = next(c for c in broken if c["type"] == "Ready")
    assert ready["lastTransitionTime"] == "2026-11-25T10:00:00Z"


def test_failed_writes_make_ready_false_with_the_count_and_the_first_error() -> None:
    message = (
        "Source a@example.com: 2 write(s) to Google failed (first: insert of event e1: 500 backendError)"
    )
    conditions = decide_conditions(None, LIVE, Problems(writes={"a": message}), generation=1, now=NOW)
    assert by_type(conditions)["Ready"] == ("False", "WriteFailed")
    ready = next(c for c in conditions if c["type"] == "Ready")
    assert ready["message"] == message


def test_a_target_problem_comes_before_google_errors_and_failed_writes() -> None:
    problems = Problems(
        sync={
            "target": ("TargetError", "The target calendar 'x' cannot be read: 404 notFound"),
            "a": ("GoogleError", "y"),
        },
        writes={"a": "z"},
    )
    assert by_type(decide_conditions(None, LIVE, problems, generation=1, now=NOW))["Ready"] == (
        "False",
        "TargetError",
    )


def test_a_dry_run_opens_no_channels_by_choice_not_by_error() -> None:
    dry = replace(LIVE, dry_run=True, channels_live=0)
    conditions = by_type(decide_conditions(None, dry, Problems(), generation=1, now=NOW))
    assert conditions["PushActive"] == ("False", "DryRun")
    assert conditions["Ready"] == ("False", "DryRun")
