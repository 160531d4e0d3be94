"""Injected failures: what a rule says and whether it fires for one call.

A rule names a method (``events.insert``, ``channels.stop``, ``token``, ``batch`` for the
whole batch request, or ``*`` for every Calendar call — not ``token``, so a test that floods
the API with 429s still lets the client authenticate). It fires with ``probability`` and at
most ``count`` times; ``latency`` delays the call whether or not it then fails, so a rule with
``status=None`` only slows calls down. With ``lost_answer`` the call takes effect first and only
its answer is the error, as when Google applied a write but the response never arrived: the
case that makes a retried non-idempotent write duplicate.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from calsync_operator.emulator.errors import ApiError

_NOT_COVERED_BY_STAR = ("token", "batch", "auth")


@dataclass
class FaultRule:
    method: str = "*"
    status: int | None = 503
    reason: str | None = None
    retry_after: float | None = None
    latency: float = 0.0
    probability: float = 1.0
    count: int | None = None  # remaining firings; None = unlimited
    lost_answer: bool = False  # the call takes effect, then the error is answered

    def covers(self, method: str) -> bool:
        return self.method == method or (self.method == "*" and method not in _NOT_COVERED_BY_STAR)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "status": self.status,
            "reason": self.reason,
            "retry_after": self.retry_after,
            "latency": self.latency,
            "probability": self.probability,
            "count": self.count,
            "lost_answer": self.lost_answer,
        }


@dataclass(frozen=True)
class FaultDecision:
    latency: float = 0.0
    error: ApiError | None = None
    lost_answer: bool = False  # run the call, then answer ``error``


@dataclass
class FaultInjector:
    _rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=random.Random)

    def add(self, rule: FaultRule) -> FaultRule:
        if not 0.0 <= rule.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def decide(self, method: str) -> FaultDecision:
        """Latency sums over matching rules; the first rule that fires sets the error."""
        latency = 0.0
        error: ApiError | None = None
        lost_answer = False
        with self._lock:
            for rule in self._rules:
                if not rule.covers(method) or (rule.count is not None and rule.count <= 0):
                    continue
                if self._random.random() >= rule.probability:
                    continue
                latency += rule.latency
                if rule.count is not None:
                    rule.count -= 1
                if error is None and rule.status:
                    headers = {}
                    if rule.retry_after is not None:
                        headers["Retry-After"] = f"{rule.retry_after:g}"
                    error = ApiError(rule.status, rule.reason, headers=headers)
                    lost_answer = rule.lost_answer
        return FaultDecision(latency, error, lost_answer)
