"""Retry decisions on plain data, and the tenacity loop with a fake sleep (no HTTP here)."""

from __future__ import annotations

import json

import pytest
from prometheus_client import REGISTRY

from calsync_operator.google.retry import (
    QUOTA_BACKOFF_SECONDS,
    RetryPolicy,
    TransportError,
    call_with_retries,
    error_from_response,
    parse_error_content,
    parse_retry_after,
)
from calsync_operator.sync.port import GoogleError, QuotaExhausted, SyncTokenExpired
from calsync_operator.sync.reasons import Verdict, decide


@pytest.mark.parametrize(
    ("status", "reason", "verdict"),
    [
        (403, "rateLimitExceeded", Verdict.RETRY),
        (403, "userRateLimitExceeded", Verdict.RETRY),
        (429, "rateLimitExceeded", Verdict.RETRY),
        (429, "", Verdict.RETRY),
        (500, "backendError", Verdict.RETRY),
        (503, "", Verdict.RETRY),
        (0, "transportError", Verdict.RETRY),
        (403, "quotaExceeded", Verdict.QUOTA),
        (429, "quotaExceeded", Verdict.QUOTA),  # the reason wins over the status
        (403, "dailyLimitExceeded", Verdict.QUOTA),
        (403, "forbiddenForNonOrganizer", Verdict.FAIL),
        (400, "badRequest", Verdict.FAIL),
        (401, "authError", Verdict.FAIL),  # AuthorizedHttp already refreshed once
        (404, "notFound", Verdict.FAIL),
        (409, "duplicate", Verdict.FAIL),
        (410, "fullSyncRequired", Verdict.FAIL),
    ],
)
def test_decision_table(status: int, reason: str, verdict: Verdict) -> None:
    assert decide(status, reason) is verdict
    # What the engine asks of a failed write ("may a later pass fix it?") reads the same table:
    # a write lost to a transport error must keep the sync token where it was.
    error = TransportError("ConnectionRefusedError") if status == 0 else GoogleError(status, reason)
    assert error.retryable is (verdict is not Verdict.FAIL)


def google_body(reason: str, message: str = "nope") -> bytes:
    return json.dumps(
        {"error": {"code": 403, "message": message, "errors": [{"domain": "usageLimits", "reason": reason}]}}
    ).encode()


def test_reason_and_message_come_from_googles_error_json() -> None:
    body = google_body("rateLimitExceeded", "slow down")
    assert parse_error_content(body) == ("rateLimitExceeded", "slow down")
    assert parse_error_content(b'{"error": {"status": "NOT_FOUND", "message": "x"}}') == ("NOT_FOUND", "x")
    assert parse_error_content(b"<html>bad gateway</html>") == ("", "")
    assert parse_error_content(None) == ("", "")


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 25 Nov 2026 08:00:10 GMT", now=1795593600.0) == pytest.approx(10.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_errors_are_typed_by_status_and_reason() -> None:
    quota = error_from_response(403, {}, google_body("quotaExceeded"))
    assert isinstance(quota, QuotaExhausted)
    assert quota.retry_after is not None
    assert quota.retry_after >= QUOTA_BACKOFF_SECONDS
    assert isinstance(error_from_response(410, {}, google_body("fullSyncRequired")), SyncTokenExpired)
    limited = error_from_response(429, {"retry-after": "2"}, google_body("rateLimitExceeded"))
    assert (type(limited), limited.reason, limited.retry_after) == (GoogleError, "rateLimitExceeded", 2.0)


def test_backoff_grows_is_capped_and_never_undercuts_retry_after() -> None:
    policy = RetryPolicy(initial_wait=0.5, max_wait=4.0)
    assert [policy.wait_seconds(n, None, jitter=1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.wait_seconds(1, None, jitter=0.25) == 0.125
    assert policy.wait_seconds(1, 3.0, jitter=0.9) == 3.0


class Flaky:
    """A call that raises the given errors in order, then returns "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def retries_counted(method: str, reason: str) -> float:
    value = REGISTRY.get_sample_value("calsync_google_retries_total", {"method": method, "reason": reason})
    return value or 0.0


def test_rate_limits_and_5xx_are_retried_after_retry_after() -> None:
    sleeps: list[float] = []
    before = retries_counted("unit.retried", "rateLimitExceeded")
    call = Flaky(
        GoogleError(429, "rateLimitExceeded", retry_after=1.0),
        GoogleError(503, "backendError"),
        TransportError("ConnectionResetError"),
    )

    assert call_with_retries(RetryPolicy(max_attempts=4), "unit.retried", call, sleep=sleeps.append) == "done"

    assert call.calls == 4
    assert sleeps[0] >= 1.0  # Retry-After honoured
    assert retries_counted("unit.retried", "rateLimitExceeded") == before + 1


def test_bad_requests_are_not_retried() -> None:
    call = Flaky(GoogleError(400, "badRequest"))
    with pytest.raises(GoogleError) as caught:
        call_with_retries(RetryPolicy(), "unit.bad", call, sleep=pytest.fail)
    assert (caught.value.status, call.calls) == (400, 1)


def test_quota_exhaustion_surfaces_at_once_instead_of_sleeping_for_hours() -> None:
    call = Flaky(error_from_response(403, {}, google_body("quotaExceeded")))
    with pytest.raises(QuotaExhausted):
        call_with_retries(RetryPolicy(), "unit.quota", call, sleep=pytest.fail)
    assert call.calls == 1


def test_attempts_are_bounded() -> None:
    sleeps: list[float] = []
    call = Flaky(*[GoogleError(503, "backendError") for _ in range(10)])
    with pytest.raises(GoogleError):
        call_with_retries(RetryPolicy(max_attempts=3), "unit.bounded", call, sleep=sleeps.append)
    assert (call.calls, len(sleeps)) == (3, 2)


def test_a_retry_after_too_long_to_sleep_goes_back_to_the_caller() -> None:
    call = Flaky(GoogleError(429, "rateLimitExceeded", retry_after=600.0))
    with pytest.raises(GoogleError) as caught:
        call_with_retries(RetryPolicy(max_retry_after=60.0), "unit.long", call, sleep=pytest.fail)
    assert caught.value.retry_after == 600.0  # the operator reschedules with this delay
