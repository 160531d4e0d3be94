"""Google's error reasons and what each means for a retry: one table for the whole package.

A pure function of (HTTP status, Google's ``reason``), kept apart from both the error types
(``types``) and the retry machinery (``retry``) so that both read the same table: tenacity
decides on it within a call, and ``GoogleError.retryable`` tells the engine whether a later
pass may succeed (then the sync token must not move past the failed write). The reason wins
over the status: a 403 is a rate limit, a spent daily quota or a real refusal depending on it.
"""

from __future__ import annotations

from enum import StrEnum

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
SERVER_STATUSES = frozenset({500, 502, 503, 504})
SYNC_TOKEN_REASONS = frozenset({"fullSyncRequired", "updatedMinTooLongAgo"})
TRANSPORT_STATUS = 0  # no HTTP answer at all: connection refused/reset, timeout


class Verdict(StrEnum):
    RETRY = "retry"  # back off with jitter (and Retry-After), then resend
    QUOTA = "quota"  # give up now; the caller backs off for hours and alerts
    FAIL = "fail"  # resending cannot help (400, 403 forbidden, 404, 409, 410...)


def decide(status: int, reason: str) -> Verdict:
    """The retry table (docs/design.md §5)."""
    if reason in QUOTA_REASONS:
        return Verdict.QUOTA
    if status == 429 or reason in RATE_LIMIT_REASONS or status in SERVER_STATUSES:
        return Verdict.RETRY
    if reason == "backendError" or status == TRANSPORT_STATUS:
        return Verdict.RETRY
    return Verdict.FAIL
