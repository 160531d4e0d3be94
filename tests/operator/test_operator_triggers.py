"""What makes the sync worker run a pass (pure): pending pushes fold into one request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from calsync_operator.api.names import REQUESTED_AT_ANNOTATION, push_annotation, source_key
from calsync_operator.api.spec import CalendarSyncSpec, SecretRef, Source, Target
from calsync_operator.controller.rules.triggers import Signals, next_deadline, next_request

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
A, B = "a@example.com", "b@example.com"
SPEC = CalendarSyncSpec(
    target=Target("t@example.com", SecretRef("t")),
    sources=(Source(A, SecretRef("a")), Source(B, SecretRef("b"))),
)


def signals(**changes: Any) -> Signals:
    base: dict[str, Any] = {
        "handled_pushes": {},
        "handled_request_at": None,
        "guard_held": False,
        "secrets_changed": False,
        "next_poll": NOW + timedelta(minutes=5),
        "retry_at": None,
        "retire_at": {},
    }
    return Signals(**{**base, **changes})


def status(**handled: str) -> dict[str, Any]:
    return {
        "sources": [{"calendarId": c, "key": source_key(c), "lastHandledPush": v} for c, v in handled.items()]
    }


def test_nothing_pending() -> None:
    assert next_request(SPEC, {}, {}, signals(), NOW) is None


def test_pushes_not_handled_yet_sync_only_their_sources() -> None:
    annotations = {
        push_annotation(A): "2026-11-25T09:00:01.000Z",
        push_annotation(B): "2026-11-25T08:00:00.000Z",
    }
    request = next_request(SPEC, annotations, status(**{B: "2026-11-25T08:00:00.000Z"}), signals(), NOW)
    assert request is not None
    assert request.sources == frozenset({source_key(A)})
    assert dict(request.pushes) == {source_key(A): "2026-11-25T09:00:01.000Z"}


def test_memory_ahead_of_the_watch_counts_as_handled() -> None:
    annotations = {push_annotation(A): "v2"}
    assert (
        next_request(
            SPEC, annotations, status(**{A: "v1"}), signals(handled_pushes={source_key(A): "v2"}), NOW
        )
        is None
    )


def test_requested_at_syncs_every_source_once() -> None:
    annotations = {REQUESTED_AT_ANNOTATION: "2026-11-25T09:00:00.000Z", push_annotation(A): "p"}
    request = next_request(SPEC, annotations, {}, signals(), NOW)
    assert request is not None
    assert request.sources is None
    assert request.requested_at == "2026-11-25T09:00:00.000Z"
    assert dict(request.pushes) == {source_key(A): "p"}  # a full pass answers the pushes too
    handled = {"lastHandledRequestAt": "2026-11-25T09:00:00.000Z", **status(**{A: "p"})}
    assert next_request(SPEC, annotations, handled, signals(), NOW) is None


def test_poll_and_retry_deadlines() -> None:
    due = next_request(SPEC, {}, {}, signals(next_poll=NOW), NOW)
    assert due is not None
    assert due.reason == "poll"
    assert due.reread_secrets
    retry = next_request(SPEC, {}, {}, signals(retry_at=NOW - timedelta(seconds=1)), NOW)
    assert retry is not None
    assert retry.reason == "retry"
    assert next_deadline(signals(retry_at=NOW + timedelta(seconds=30))) == NOW + timedelta(seconds=30)


def test_end_of_a_channel_overlap_syncs_that_source() -> None:
    request = next_request(SPEC, {}, {}, signals(retire_at={source_key(B): NOW}), NOW)
    assert request is not None
    assert request.sources == frozenset({source_key(B)})


def test_suspended_resources_wait_for_a_spec_change() -> None:
    suspended = CalendarSyncSpec(target=SPEC.target, sources=SPEC.sources, suspend=True)
    assert next_request(suspended, {REQUESTED_AT_ANNOTATION: "x"}, {}, signals(next_poll=NOW), NOW) is None


def test_a_full_pass_answers_pending_pushes_only() -> None:
    annotations = {push_annotation(A): "new", push_annotation(B): "old"}
    request = next_request(SPEC, annotations, status(**{B: "old"}), signals(next_poll=NOW), NOW)
    assert request is not None
    assert request.sources is None
    # B's push was handled before: its receipt time is neither recorded nor measured again.
    assert dict(request.pushes) == {source_key(A): "new"}
