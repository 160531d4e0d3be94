"""Prometheus metrics of the operator, served on the metrics port (docs/design.md §7).

The metrics live in prometheus-client's default registry, so the Google adapter's own
counters (calls by method and status, retries) are exported by the same endpoint. Labels are
namespace/name/source key — never calendar ids (personal e-mail addresses) and never tokens.
Which shard a process serves is one info series (``calsync_shard_info``), not a label on every
metric: Prometheus' target labels (the pod) already tell replicas apart, and a join on the info
series adds the shard to any query without multiplying series.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Info, start_http_server

logger = logging.getLogger(__name__)

SYNCS = Counter(
    "calsync_syncs",
    "Sync passes of one source, by result (ok, error, auth_expired, quota, delete_guard, dry_run).",
    ["result"],
)
OPERATIONS = Counter(
    "calsync_operations",
    "Operations applied to the target (or sources), by kind (created, updated, deleted, skipped).",
    ["kind"],
)
PUSH_TO_WRITE = Histogram(
    "calsync_push_to_write_seconds",
    "From the webhook's receipt of a Google push to the last write of the sync it triggered.",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0),
)
CHANNEL_EXPIRY = Gauge(
    "calsync_channel_seconds_to_expiry",
    "Seconds until the current push channel of a source expires (the operator renews it before).",
    ["namespace", "name", "source"],
)
RECONCILE_ERRORS = Counter(
    "calsync_reconcile_errors",
    "Passes that failed, by reason (the Ready condition's reason).",
    ["reason"],
)
CHANNEL_OPERATIONS = Counter(
    "calsync_channel_operations",
    "Push channel lifecycle operations, by kind (created, renewed, stopped, stop_failed).",
    ["kind"],
)
READY = Gauge(
    "calsync_calendarsync_ready",
    "1 while a CalendarSync's Ready condition is True, else 0; `reason` is the condition's reason.",
    ["namespace", "name", "reason"],
)
# The reason each resource's READY series carries now, so that a new reason replaces the old
# series instead of leaving a stale one behind (one series per CalendarSync).
_ready_reasons: dict[tuple[str, str], str] = {}

STATUS_WRITES = Counter(
    "calsync_status_writes",
    "Status writes, by result (written; conflict: another replica had written a newer status).",
    ["result"],
)
SHARD = Info("calsync_shard", "The shard this operator process serves: shard (0..shards-1) of shards.")


def announce_shard(index: int, count: int) -> None:
    SHARD.info({"shard": str(index), "shards": str(count)})


def track_channel_expiry(namespace: str, name: str, source: str, expiration: datetime | None) -> None:
    """Keep the expiry gauge of one source live: it is computed at every scrape, so it counts
    down between passes; a source without a channel (push off, suspended) has no series."""
    if expiration is None:
        with contextlib.suppress(KeyError):
            CHANNEL_EXPIRY.remove(namespace, name, source)
        return
    CHANNEL_EXPIRY.labels(namespace, name, source).set_function(
        lambda: (expiration - datetime.now(UTC)).total_seconds()
    )


def track_ready(namespace: str, name: str, ready: bool, reason: str) -> None:
    """Export the Ready condition after each pass (the dashboard counts CalendarSyncs by reason,
    the alert rules fire on a CalendarSync not Ready for a while)."""
    previous = _ready_reasons.get((namespace, name))
    if previous is not None and previous != reason:
        with contextlib.suppress(KeyError):
            READY.remove(namespace, name, previous)
    _ready_reasons[(namespace, name)] = reason
    READY.labels(namespace, name, reason).set(1 if ready else 0)


def forget_resource(namespace: str, name: str, source_keys: list[str]) -> None:
    """Drop per-resource series once a CalendarSync (or one of its sources) is gone."""
    for key in source_keys:
        with contextlib.suppress(KeyError):
            CHANNEL_EXPIRY.remove(namespace, name, key)


def forget_ready(namespace: str, name: str) -> None:
    """Drop the Ready series of a deleted CalendarSync."""
    reason = _ready_reasons.pop((namespace, name), None)
    if reason is not None:
        with contextlib.suppress(KeyError):
            READY.remove(namespace, name, reason)


def serve(port: int, addr: str = "0.0.0.0") -> WSGIServer:
    """Serve ``/metrics`` from a background thread (prometheus-client's own server)."""
    server, _thread = start_http_server(port, addr=addr, registry=REGISTRY)
    logger.info("Serving metrics on %s:%d/metrics", addr, server.server_port)
    return server
