"""What the emulator saw, for assertions and benchmarks: calls by method and status, HTTP
round trips, batch sizes, invitations, pushes, and call times for rate checks.

``http_round_trips`` counts HTTP requests (a batch once); ``requests`` counts API calls (each
batch part once) — the quota Google charges is the latter.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CounterSnapshot:
    requests: dict[tuple[str, int], int]
    http_round_trips: int
    batches: int
    batch_parts: int
    send_updates: dict[str, int]
    invitations_sent: int
    pushes_sent: int
    pushes_dropped: int
    pushes_failed: int
    call_times: tuple[float, ...]  # time.monotonic() of each Calendar API call

    def calls(self, method: str | None = None, status: int | None = None) -> int:
        """Calls of ``method`` (any when None) answered with ``status`` (any when None)."""
        return sum(
            n
            for (m, s), n in self.requests.items()
            if (method is None or m == method) and (status is None or s == status)
        )

    def max_calls_in_window(self, seconds: float = 60.0) -> int:
        """The busiest ``seconds``-long window: what a per-minute quota would see."""
        best, left = 0, 0
        for right, moment in enumerate(self.call_times):
            while moment - self.call_times[left] >= seconds:
                left += 1
            best = max(best, right - left + 1)
        return best

    def to_json(self) -> dict[str, Any]:
        by_method: dict[str, dict[str, int]] = {}
        for (method, status), n in sorted(self.requests.items()):
            by_method.setdefault(method, {})[str(status)] = n
        return {
            "requests": by_method,
            "http_round_trips": self.http_round_trips,
            "batches": self.batches,
            "batch_parts": self.batch_parts,
            "send_updates": self.send_updates,
            "invitations_sent": self.invitations_sent,
            "pushes_sent": self.pushes_sent,
            "pushes_dropped": self.pushes_dropped,
            "pushes_failed": self.pushes_failed,
            "max_calls_per_minute": self.max_calls_in_window(60.0),
        }


@dataclass
class Counters:
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    _send_updates: Counter[str] = field(default_factory=Counter)
    _call_times: list[float] = field(default_factory=list)
    http_round_trips: int = 0
    batches: int = 0
    batch_parts: int = 0
    invitations_sent: int = 0
    pushes_sent: int = 0
    pushes_dropped: int = 0
    pushes_failed: int = 0

    def round_trip(self) -> None:
        with self._lock:
            self.http_round_trips += 1

    def batch(self, parts: int) -> None:
        with self._lock:
            self.batches += 1
            self.batch_parts += parts

    def call_started(self) -> None:
        with self._lock:
            self._call_times.append(time.monotonic())

    def call_finished(self, method: str, status: int) -> None:
        with self._lock:
            self._requests[(method, status)] += 1

    def send_updates(self, value: str, invitations: int) -> None:
        with self._lock:
            self._send_updates[value] += 1
            self.invitations_sent += invitations

    def push(self, outcome: str) -> None:
        with self._lock:
            if outcome == "sent":
                self.pushes_sent += 1
            elif outcome == "dropped":
                self.pushes_dropped += 1
            else:
                self.pushes_failed += 1

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._send_updates.clear()
            self._call_times.clear()
            self.http_round_trips = self.batches = self.batch_parts = self.invitations_sent = 0
            self.pushes_sent = self.pushes_dropped = self.pushes_failed = 0

    def snapshot(self) -> CounterSnapshot:
        with self._lock:
            return CounterSnapshot(
                requests=dict(self._requests),
                http_round_trips=self.http_round_trips,
                batches=self.batches,
                batch_parts=self.batch_parts,
                send_updates=dict(self._send_updates),
                invitations_sent=self.invitations_sent,
                pushes_sent=self.pushes_sent,
                pushes_dropped=self.pushes_dropped,
                pushes_failed=self.pushes_failed,
                call_times=tuple(self._call_times),
            )
