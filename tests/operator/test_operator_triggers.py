"""What makes the sync worker run a pass (pure): pending pushes fold into one request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from calsync_operator.api.names import REQUESTED_AT_ANNOTATION, push_annotation, source_key
from calsync_operator.api.spec import CalendarSyncSpec, SecretRef, Source, Target
from calsync_operator.controller.rules.pass_request import PassRequest
from calsync_operator.controller.rules.triggers import Observed, Signals, next_deadline, next_request

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
        "retry_at": {},
        "retire_at": {},
    }
    return Signals(**{**base, **changes})


def request_for(
    spec: CalendarSyncSpec, annotations: dict[str, str], status: dict[str, Any], due: Signals, now: datetime
) -> PassRequest | None:
    return next_request(Observed(spec, annotations, status), due, now)


def status(**handled: str) -> dict[str, Any]:
    return {
        "sources": [{"calendarId": c, "key": source_key(c), "lastHandledPush": v} for c, v in handled.items()]
    }


def test_nothing_pending() -> None:
    assert request_for(SPEC, {}, {}, signals(), NOW) is None


def test_pushes_not_handled_yet_sync_only_their_sources() -> None:
    annotations = {
        push_annotation(A): "2026-11-25T09:00:01.000Z",
        push_annotation(B): "2026-11-25T08:00:00.000Z",
    }
    request = request_for(SPEC, annotations, status(**{B: "2026-11-25T08:00:00.000Z"}), signals(), NOW)
    assert request is not None
    assert request.sources == frozenset({source_key(A)})
    assert dict(request.pushes) == {source_key(A): "2026-11-25T09:00:01.000Z"}


def test_memory_ahead_of_the_watch_counts_as_handled() -> None:
    annotations = {push_annotation(A): "v2"}
    assert (
        request_for(
            SPEC, annotations, status(**{A: "v1"}), signals(handled_pushes={source_key(A): "v2"}), NOW
        )
        is None
    )


def test_requested_at_syncs_every_source_once() -> None:
    annotations = {REQUESTED_AT_ANNOTATION: "2026-11-25T09:00:00.000Z", push_annotation(A): "p"}
    request = request_for(SPEC, annotations, {}, signals(), NOW)
    assert request is not None
    assert request.sources is None
    assert request.requested_at == "2026-11-25T09:00:00.000Z"
    assert dict(request.pushes) == {source_key(A): "p"}  # a full pass answers the pushes too
    handled = {"lastHandledRequestAt": "2026-11-25T09:00:00.000Z", **status(**{A: "p"})}
    assert request_for(SPEC, annotations, handled, signals(), NOW) is None


def test_poll_and_retry_deadlines() -> None:
    due = request_for(SPEC, {}, {}, signals(next_poll=NOW), NOW)
    assert due is not None
    assert due.reason == "poll"
    assert due.reread_secrets
    retry = request_for(SPEC, {}, {}, signals(retry_at={source_key(A): NOW - timedelta(seconds=1)}), NOW)
    assert retry is not None
    assert retry.reason == "retry"
    assert retry.sources == frozenset({source_key(A)})
    later = NOW + timedelta(seconds=30)
    assert next_deadline(signals(retry_at={source_key(A): later})) == later


def test_a_retry_due_for_one_source_joins_a_push_for_another() -> None:
    annotations = {push_annotation(B): "2026-11-25T09:00:01.000Z"}
    due = signals(retry_at={source_key(A): NOW, source_key(B): NOW + timedelta(hours=1)})
    request = request_for(SPEC, annotations, {}, due, NOW)
    assert request is not None
    assert request.sources == frozenset({source_key(A), source_key(B)})


def test_end_of_a_channel_overlap_syncs_that_source() -> None:
    request = request_for(SPEC, {}, {}, signals(retire_at={source_key(B): NOW}), NOW)
    assert request is not None
    assert request.sources == frozenset({source_key(B)})


def test_suspended_resources_wait_for_a_spec_change() -> None:
    suspended = CalendarSyncSpec(target=SPEC.target, sources=SPEC.sources, suspend=True)
    assert request_for(suspended, {REQUESTED_AT_ANNOTATION: "x"}, {}, signals(next_poll=NOW), NOW) is None


def test_a_full_pass_answers_pending_pushes_only() -> None:
    annotations = {push_annotation(A): "new", push_annotation(B): "old"}
    request = request_for(SPEC, annotations, status(**{B: "old"}), signals(next_poll=NOW), NOW)
    assert request is not None
    assert request.sources is None
    # B's push was handled before: its receipt time is neither recorded nor measured again.
    assert dict(request.pushes) == {source_key(A): "new"}
