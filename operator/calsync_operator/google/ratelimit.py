"""A per-credential token bucket that keeps every 60 s window within Google's per-user quota.

Google counts requests per user per project per minute (600), and a batch of n calls costs n.
A classic bucket (capacity C, refill R/min) lets C + R calls through in a minute, so the refill
rate here is ``rate - burst`` per minute: the bucket's capacity plus one minute of refill never
exceeds ``rate``, which is the property the quota needs (tested on a fake clock and over HTTP).

Takers reserve tokens and then sleep off their debt outside the lock, so callers are served in
arrival order and a thread waiting for a token never blocks another from queueing.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from calsync_operator.google import metrics

WINDOW_SECONDS = 60.0


class TokenBucket:
    """Thread-safe limiter: ``acquire(n)`` blocks until n calls may be made."""

    def __init__(
        self,
        rate_per_minute: int,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_minute < 2:
            raise ValueError(f"rate_per_minute must be at least 2, got {rate_per_minute}")
        capacity = max(1, rate_per_minute // 10) if burst is None else burst
        if not 1 <= capacity < rate_per_minute:
            raise ValueError(f"burst must be within 1..{rate_per_minute - 1}, got {capacity}")
        self.rate_per_minute = rate_per_minute
        self.capacity = capacity
        # burst + one minute of refill == rate: no 60 s window can exceed the rate.
        self._refill_per_second = (rate_per_minute - capacity) / WINDOW_SECONDS
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._level = float(capacity)
        self._updated = clock()

    def acquire(self, tokens: int = 1) -> float:
        """Take ``tokens`` (at most ``capacity``); returns the seconds spent waiting."""
        if not 1 <= tokens <= self.capacity:
            raise ValueError(f"can take 1..{self.capacity} tokens at once, asked for {tokens}")
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._level = min(float(self.capacity), self._level + elapsed * self._refill_per_second)
            self._updated = now
            self._level -= tokens
            wait = -self._level / self._refill_per_second if self._level < 0 else 0.0
        if wait > 0:
            metrics.RATE_LIMIT_WAIT.observe(wait)
            self._sleep(wait)
        return wait


_shared: dict[tuple[str, int, int | None], TokenBucket] = {}
_shared_lock = threading.Lock()


def shared_bucket(credential_key: str, rate_per_minute: int, burst: int | None = None) -> TokenBucket:
    """The one bucket for a credential, so every client built from it shares the quota.

    ``credential_key`` is hashed before it is kept: callers may pass secret material.
    """
    digest = hashlib.sha256(credential_key.encode()).hexdigest()
    key = (digest, rate_per_minute, burst)
    with _shared_lock:
        bucket = _shared.get(key)
        if bucket is None:
            bucket = _shared[key] = TokenBucket(rate_per_minute, burst=burst)
        return bucket
