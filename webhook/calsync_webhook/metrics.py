"""Prometheus metrics of the webhook, on a registry owned by each app instance.

A dedicated ``CollectorRegistry`` (not the process-global default) lets tests and the
benchmark run several apps in one process without "duplicated timeseries" errors. Labels are
closed sets (outcomes, results): never channel ids or tokens, which are unbounded and secret.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Outcome(StrEnum):
    """What happened to one request on ``/push``."""

    SIGNALLED = "signalled"  # leading edge: the annotation was patched
    COALESCED = "coalesced"  # folded into the source's trailing patch
    SYNC = "sync"  # Google's handshake message: nothing to do
    UNKNOWN_CHANNEL = "unknown_channel"
    NOT_READY = "not_ready"  # unknown channel before the index loaded: 503, Google retries
    FORBIDDEN = "forbidden"  # token did not match
    GONE = "gone"  # the CalendarSync was deleted meanwhile
    MALFORMED = "malformed"  # missing or invalid headers
    TOO_LARGE = "too_large"
    API_ERROR = "api_error"  # Kubernetes did not take the patch: 503, Google retries


class WebhookMetrics:
    def __init__(self, channel_count: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.pushes = Counter(
            "calsync_webhook_pushes",
            "Push notifications received, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.patches = Counter(
            "calsync_webhook_patches",
            "Annotation patches sent to the Kubernetes API, by edge and result.",
            ["edge", "result"],
            registry=self.registry,
        )
        self.coalesced = Counter(
            "calsync_webhook_coalesced_pushes",
            "Pushes folded into a trailing patch instead of patching on their own.",
            registry=self.registry,
        )
        self.latency = Histogram(
            "calsync_webhook_push_handling_seconds",
            "Time from receiving a push to answering it.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.channels = Gauge(
            "calsync_webhook_indexed_channels",
            "Push channels currently known to the index (current and previous).",
            registry=self.registry,
        )
        if channel_count is not None:
            self.channels.set_function(channel_count)
        # Pre-create every outcome so dashboards see zeros rather than missing series.
        for outcome in Outcome:
            self.pushes.labels(outcome.value)
