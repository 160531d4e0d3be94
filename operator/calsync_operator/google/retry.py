"""When to retry a Google call, and how long to wait: decided by Google's ``reason`` (docs/design.md §5).

The decision is the pure table in ``reasons`` (tested on plain data). tenacity runs the loop:
exponential backoff with full jitter for rate limits and 5xx, never shorter than Retry-After;
bounded attempts; every retry counted and logged without secrets.
``quotaExceeded`` means the daily budget is gone: sleeping for hours inside a call would hang a
worker, so it surfaces at once as ``QuotaExhausted`` carrying an hours-scale ``retry_after``.
401 is not retried here: google-auth's ``AuthorizedHttp`` (and the batch request) refresh the
access token once and resend, and a refused refresh is ``AuthExpired``.
"""

from __future__ import annotations

import json
import logging
import random as random_module
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import tenacity

from calsync_operator.google import metrics
from calsync_operator.sync.port import GoogleError, QuotaExhausted, SyncTokenExpired
from calsync_operator.sync.reasons import SYNC_TOKEN_REASONS, TRANSPORT_STATUS, Verdict, decide

log = logging.getLogger("calsync.google")

T = TypeVar("T")

QUOTA_BACKOFF_SECONDS = 3 * 3600.0  # usage limits reset slowly: come back in hours, not seconds


class TransportError(GoogleError):
    """No HTTP answer at all (connection refused/reset, timeout): retried like a 503."""

    def __init__(self, message: str) -> None:
        super().__init__(TRANSPORT_STATUS, "transportError", message)


def parse_error_content(content: bytes | str | None) -> tuple[str, str]:
    """(reason, message) from Google's error JSON; tolerant of HTML and empty bodies."""
    if not content:
        return "", ""
    try:
        data = json.loads(content.decode("utf-8") if isinstance(content, bytes) else content)
    except (UnicodeDecodeError, ValueError):
        return "", ""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return "", ""
    message = str(error.get("message") or "")
    errors = error.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("reason"):
        return str(errors[0]["reason"]), message
    return str(error.get("status") or ""), message


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def google_error(
    status: int, reason: str, message: str = "", retry_after: float | None = None
) -> GoogleError:
    """The typed error for a failed call; quota errors carry the hours-scale back-off."""
    if decide(status, reason) is Verdict.QUOTA:
        delay = max(retry_after or 0.0, QUOTA_BACKOFF_SECONDS)
        return QuotaExhausted(status, reason, message, retry_after=delay)
    if status == 410 and reason in SYNC_TOKEN_REASONS:
        return SyncTokenExpired(status, reason, message, retry_after=retry_after)
    return GoogleError(status, reason, message, retry_after=retry_after)


def error_from_response(status: int, headers: Any, content: bytes | str | None) -> GoogleError:
    """``headers`` is an httplib2 Response (a dict with lower-cased names)."""
    reason, message = parse_error_content(content)
    retry_after = parse_retry_after(headers.get("retry-after")) if headers is not None else None
    return google_error(status, reason, message, retry_after)


def resend_within_call(exc: BaseException) -> bool:
    return isinstance(exc, GoogleError) and decide(exc.status, exc.reason) is Verdict.RETRY


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff. ``max_retry_after``: a longer Retry-After is not slept
    inside a call; the error goes up with ``retry_after`` set for the caller to reschedule."""

    max_attempts: int = 8
    initial_wait: float = 0.5
    max_wait: float = 32.0
    max_retry_after: float = 60.0

    def wait_seconds(self, attempt: int, retry_after: float | None, jitter: float) -> float:
        """Full jitter (``jitter`` in [0, 1)), never shorter than Retry-After."""
        backoff = min(self.max_wait, self.initial_wait * 2.0 ** (attempt - 1)) * jitter
        return max(backoff, retry_after or 0.0)


class _WaitGoogle(tenacity.wait.wait_base):
    def __init__(self, policy: RetryPolicy, random: Callable[[], float]) -> None:
        self.policy = policy
        self.random = random

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        return self.policy.wait_seconds(retry_state.attempt_number, _retry_after(retry_state), self.random())


class _StopOnLongRetryAfter(tenacity.stop.stop_base):
    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        retry_after = _retry_after(retry_state)
        return retry_after is not None and retry_after > self.policy.max_retry_after


def _retry_after(retry_state: tenacity.RetryCallState) -> float | None:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    if isinstance(exc, GoogleError) and exc.retry_after is not None:
        return float(exc.retry_after)
    return None


def retrying(
    policy: RetryPolicy,
    method: str,
    *,
    sleep: Callable[[float], None] | None = None,
    random: Callable[[], float] | None = None,
) -> tenacity.Retrying:
    """A tenacity controller for one Google call named ``method`` (e.g. ``events.list``)."""

    def before_sleep(retry_state: tenacity.RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        reason = exc.reason if isinstance(exc, GoogleError) else type(exc).__name__
        status = exc.status if isinstance(exc, GoogleError) else 0
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        metrics.GOOGLE_RETRIES.labels(method=method, reason=reason or str(status)).inc()
        log.warning(
            "Google %s failed (%s %s); retry %d/%d in %.2fs",
            method,
            status,
            reason,
            retry_state.attempt_number,
            policy.max_attempts - 1,
            wait,
        )

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(resend_within_call),
        wait=_WaitGoogle(policy, random or random_module.random),
        stop=tenacity.stop_after_attempt(policy.max_attempts) | _StopOnLongRetryAfter(policy),
        before_sleep=before_sleep,
        sleep=sleep or tenacity.nap.sleep,
        reraise=True,
    )


def call_with_retries(
    policy: RetryPolicy,
    method: str,
    call: Callable[[], T],
    *,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run ``call`` (which raises typed ``GoogleError``s) under the policy; re-raises the last."""
    result: T = retrying(policy, method, sleep=sleep)(call)
    return result
