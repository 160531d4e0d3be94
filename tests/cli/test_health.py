"""The verdict of ``calsync check`` on plain CalendarSync bodies, with the clock pinned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from calsync_operator.check.health import (
    EndpointResult,
    assess_resource,
    build_report,
    format_age,
    mail_subject,
    render_table,
    should_notify,
)

NOW = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)


def stamp(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def csync(
    *,
    ready: str | None = "True",
    reason: str = "Synced",
    message: str = "",
    synced_ago: float | None = 1,
    created_ago: float = 600,
    poll: str = "5m",
    channel_expires_in: float | None = 60 * 24,
    **spec: Any,
) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready, "reason": reason, "message": message}]
    if synced_ago is not None:
        status["lastSyncTime"] = stamp(synced_ago)
    if channel_expires_in is not None:
        status["sources"] = [
            {"calendarId": "a@example.com", "channel": {"id": "c1", "expiration": stamp(-channel_expires_in)}}
        ]
    return {
        "metadata": {"namespace": "family", "name": "home", "creationTimestamp": stamp(created_ago)},
        "spec": {"pollInterval": poll, **spec},
        "status": status,
    }


def test_ready_and_recently_synced_is_healthy() -> None:
    health = assess_resource(csync(), NOW)
    assert health.healthy
    assert health.problems == ()
    assert (health.ready, health.reason, health.last_sync_age, health.max_age) == (
        "True",
        "Synced",
        60.0,
        900.0,
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (csync(synced_ago=16), "last sync 16m ago (limit 15m)"),
        (csync(synced_ago=4, poll="1m"), "last sync 4m ago (limit 3m)"),
        (
            csync(ready="False", reason="AuthExpired", message="run calsync auth"),
            "Ready=False (AuthExpired): run calsync auth",
        ),
        (csync(channel_expires_in=-90), "push channel of a@example.com expired 90m ago"),
        (csync(ready=None, synced_ago=None), "no Ready condition: is the operator running?"),
        (csync(synced_ago=None), "has never synced"),
    ],
)
def test_each_kind_of_trouble_is_named(body: dict[str, Any], problem: str) -> None:
    health = assess_resource(body, NOW)
    assert not health.healthy
    assert health.problems == (problem,)


def test_max_age_overrides_three_poll_intervals() -> None:
    assert assess_resource(csync(synced_ago=16), NOW, max_age=3600).healthy
    assert assess_resource(csync(synced_ago=2), NOW, max_age=60).problems == ("last sync 2m ago (limit 1m)",)


def test_a_new_resource_is_pending_and_a_suspended_one_is_not_judged() -> None:
    pending = assess_resource(csync(ready=None, synced_ago=None, created_ago=2), NOW)
    assert pending.healthy
    assert pending.reason == "Pending"
    suspended = assess_resource(csync(ready=None, synced_ago=None, suspend=True), NOW)
    assert suspended.healthy
    assert suspended.reason == "Suspended"


def test_report_collects_endpoint_and_resource_problems_in_the_table() -> None:
    report = build_report(
        NOW,
        [
            EndpointResult("operator", "http://op/healthz", True, "HTTP 200"),
            EndpointResult("webhook", "http://wh/healthz", False, "HTTP 503"),
        ],
        [csync(), csync(synced_ago=30)],
    )
    assert report.state == "unhealthy"
    assert report.problems == (
        "webhook: HTTP 503 (http://wh/healthz)",
        "family/home: last sync 30m ago (limit 15m)",
    )
    table = render_table(report)
    assert table.startswith("UNHEALTHY at 2026-11-25 09:00:00 UTC")
    assert "webhook     FAIL     HTTP 503 http://wh/healthz" in table
    assert "  - family/home: last sync 30m ago (limit 15m)" in table
    assert report.to_json()["resources"][1]["lastSyncAgeSeconds"] == 1800
    assert mail_subject(report) == "calsync: unhealthy (2 problems)"


@pytest.mark.parametrize(
    ("previous", "current", "mail"),
    [
        (None, "healthy", False),
        (None, "unhealthy", True),
        ("healthy", "healthy", False),
        ("healthy", "unhealthy", True),
        ("unhealthy", "unhealthy", False),
        ("unhealthy", "healthy", True),
    ],
)
def test_mail_only_on_a_change_of_state(previous: str | None, current: Any, mail: bool) -> None:
    assert should_notify(previous, current) is mail


def test_ages_read_like_kubectl() -> None:
    assert [format_age(s) for s in (5, 59, 60, 900, 7199, 7200, 172800)] == [
        "5s",
        "59s",
        "1m",
        "15m",
        "119m",
        "2h",
        "2d",
    ]


def test_an_endpoint_without_a_url_is_shown_as_not_probed_not_as_ok() -> None:
    report = build_report(NOW, [EndpointResult("operator", None, True, "not probed (no URL)")], [csync()])
    assert report.state == "healthy"
    assert "operator    -        not probed (no URL)" in render_table(report)


def test_a_dry_run_is_a_state_the_user_chose_not_a_failure() -> None:
    # The operator's alerts (notices.failing) treat Ready=False DryRun as chosen, like a
    # suspension: `calsync check` must agree, or it exits 1 and mails for a working dry run.
    dry_run = csync(ready="False", reason="DryRun", message="The plan is in status.plan", dryRun=True)

    health = assess_resource(dry_run, NOW)

    assert health.healthy, health.problems
    assert health.reason == "DryRun"
