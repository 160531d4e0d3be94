"""Prometheus counters for everything the adapter sends to Google.

They live in the default registry: the operator's ``/metrics`` exports them unchanged. Labels
carry method names, HTTP codes and Google's reasons only — never ids, URLs or tokens.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

GOOGLE_CALLS = Counter(
    "calsync_google_calls",
    "Google Calendar API calls (batch parts counted one by one) by method and HTTP status code.",
    ["method", "code"],
)
GOOGLE_HTTP_REQUESTS = Counter(
    "calsync_google_http_requests",
    "HTTP round trips to Google (a batch of many calls is one round trip) by kind.",
    ["kind"],
)
GOOGLE_LISTS = Counter(
    "calsync_google_lists",
    "Event listings (all their pages) by kind: incremental (a sync token), full (a time window: "
    "a first sync or a re-list) or filtered (the copies of one source in a target, one series).",
    ["kind"],
)
GOOGLE_RETRIES = Counter(
    "calsync_google_retries",
    "Google calls retried after a retryable failure, by method and Google's reason.",
    ["method", "reason"],
)
TOKEN_REFRESHES = Counter(
    "calsync_google_token_refreshes",
    "OAuth access-token refreshes by outcome (ok, invalid_grant, error).",
    ["outcome"],
)
RATE_LIMIT_WAIT = Histogram(
    "calsync_google_ratelimit_wait_seconds",
    "Time callers waited for the per-credential token bucket (only waits > 0 are observed).",
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0),
)
