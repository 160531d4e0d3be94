"""Configuration from the environment, read once at start-up (docs/operator.md, docs/webhook.md).

``Environment`` is the one reader every role shares: the operator (``OperatorSettings``), the
webhook (``calsync_webhook.settings``) and ``calsync check`` read ``CALSYNC_NAMESPACES`` and
``CALSYNC_LOG_*`` through it, with the same rules and the same errors. Handlers never call
``os.environ``: they get one frozen ``OperatorSettings`` (kept in kopf's memo), so a test builds
its own with ``dataclasses.replace`` and a bad value fails at start-up with a message naming the
variable, not in the middle of a sync. Google's own knobs (API root, token URI, rate) live in
``google.endpoints.GoogleSettings``; ``OperatorSettings`` embeds it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from calsync_operator.errors import SettingsError
from calsync_operator.google.endpoints import GoogleSettings

ENV_WEBHOOK_URL = "CALSYNC_WEBHOOK_URL"
ENV_SENDGRID_API_KEY = "SENDGRID_API_KEY"
ENV_SENDGRID_API_HOST = "CALSYNC_SENDGRID_API_HOST"
ENV_ALERT_FROM = "CALSYNC_ALERT_FROM"
ENV_ALERT_TO = "CALSYNC_ALERT_TO"
ENV_HEARTBEAT_URL = "CALSYNC_HEARTBEAT_URL"
ENV_NAMESPACES = "CALSYNC_NAMESPACES"
ENV_LOG_FORMAT = "CALSYNC_LOG_FORMAT"
ENV_LOG_LEVEL = "CALSYNC_LOG_LEVEL"
ENV_HEALTH_PORT = "CALSYNC_HEALTH_PORT"
ENV_METRICS_PORT = "CALSYNC_METRICS_PORT"
ENV_CHANNEL_TTL = "CALSYNC_CHANNEL_TTL_SECONDS"
ENV_SHARD = "CALSYNC_SHARD"
ENV_SHARDS = "CALSYNC_SHARDS"
# Where a StatefulSet pod finds its ordinal when CALSYNC_SHARD is unset (the chart sets POD_NAME).
ENV_POD_NAMES = ("POD_NAME", "HOSTNAME")
_ORDINAL = re.compile(r"-(\d+)$")
ENV_WEBHOOK_INSECURE = "CALSYNC_WEBHOOK_INSECURE_LOOPBACK"
ENV_FULL_SYNC_INTERVAL = "CALSYNC_FULL_SYNC_INTERVAL_SECONDS"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
DEFAULT_FULL_SYNC_INTERVAL = 24 * 3600  # the window rolls daily (docs/sync.md)

SENDGRID_API_HOST = "https://api.sendgrid.com"
GOOGLE_DEFAULT_CHANNEL_TTL = 7 * 24 * 3600  # Google's default channel lifetime (docs/design.md §5)
LOG_FORMATS = ("text", "json")


class Environment:
    """The process environment (or a mapping standing in for it), read with one set of rules:
    blank means unset, lists are comma-separated, a bad value raises ``SettingsError``."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if environ is None else environ

    def text(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in self._env.get(name, "").split(",") if item.strip())

    def integer(self, name: str, default: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not an integer") from None

    def flag(self, name: str) -> bool:
        raw = (self.text(name) or "false").lower()
        if raw not in ("true", "false", "1", "0"):
            raise SettingsError(f"{name}={raw!r}: use true or false")
        return raw in ("true", "1")

    def namespaces(self) -> tuple[str, ...]:
        """``CALSYNC_NAMESPACES``: the namespaces to serve; empty: every namespace."""
        return self.items(ENV_NAMESPACES)

    def log_format(self) -> str:
        log_format = (self.text(ENV_LOG_FORMAT) or "text").lower()
        if log_format not in LOG_FORMATS:
            raise SettingsError(f"{ENV_LOG_FORMAT}={log_format!r}: use one of {', '.join(LOG_FORMATS)}")
        return log_format

    def log_level(self) -> int:
        raw = (self.text(ENV_LOG_LEVEL) or "INFO").upper()
        level = logging.getLevelName(raw)
        if not isinstance(level, int):
            raise SettingsError(f"{ENV_LOG_LEVEL}={raw!r}: use DEBUG, INFO, WARNING or ERROR")
        return level


@dataclass(frozen=True)
class OperatorSettings:
    """Everything the operator needs to know about its surroundings."""

    webhook_url: str | None = None  # public https URL ending in /push; None: no push channels
    # Tests and the demo only: accept http://127.0.0.1 as the webhook URL (Google delivers
    # only to https, so the emulator must be told the same: --allow-http-push).
    webhook_insecure_loopback: bool = False
    # Each source is listed in full at least this often, so the window rolls (docs/sync.md).
    full_sync_interval_seconds: int = DEFAULT_FULL_SYNC_INTERVAL
    google: GoogleSettings = field(default_factory=GoogleSettings)
    sendgrid_api_key: str | None = field(default=None, repr=False)
    sendgrid_api_host: str = SENDGRID_API_HOST
    alert_from: str | None = None
    alert_to: tuple[str, ...] = ()
    heartbeat_url: str | None = field(default=None, repr=False)  # push URLs carry a token
    heartbeat_interval: float = 60.0
    namespaces: tuple[str, ...] = ()  # empty: every namespace (cluster-wide)
    log_format: str = "text"
    log_level: int = logging.INFO
    health_port: int = 8080
    metrics_port: int = 9090
    # Channels: the requested lifetime, when to renew (share of the lifetime left), and how long
    # the replaced channel keeps delivering so the webhook learns the new one first.
    channel_ttl_seconds: int = GOOGLE_DEFAULT_CHANNEL_TTL
    channel_renew_fraction: float = 0.2
    channel_overlap_seconds: float = 60.0
    # Retry delay for a pass that failed with a retryable Google error (kopf TemporaryError).
    retry_delay_seconds: float = 30.0
    # Passes running at once, process-wide: after a start with 1,000 CalendarSyncs (or a burst of
    # pushes) the rest queue in arrival order instead of all hitting Google, the thread pool and
    # the API server together; each one that gets a slot finishes (and reports Ready) quickly.
    max_concurrent_passes: int = 16
    # Replaces every CalendarSync's pollInterval (whose CRD minimum is 30 s): tests and demos only.
    poll_seconds_override: float | None = None
    # Shards (docs/operator.md): this replica serves the CalendarSyncs whose shard key hashes to
    # ``shard`` among ``shards``; 0 of 1 is the single replica that serves them all.
    shard: int = 0
    shards: int = 1

    def __post_init__(self) -> None:
        if self.full_sync_interval_seconds < 60:
            raise SettingsError(
                f"{ENV_FULL_SYNC_INTERVAL} must be at least 60, got {self.full_sync_interval_seconds}"
            )
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"{ENV_LOG_FORMAT}={self.log_format!r}: use one of {', '.join(LOG_FORMATS)}")
        if not 0 < self.channel_renew_fraction < 1:
            raise SettingsError(
                f"channel_renew_fraction must be in (0, 1), got {self.channel_renew_fraction}"
            )
        if self.max_concurrent_passes < 1:
            raise SettingsError(f"max_concurrent_passes must be at least 1, got {self.max_concurrent_passes}")
        if self.channel_ttl_seconds < 1:
            raise SettingsError(f"{ENV_CHANNEL_TTL} must be at least 1, got {self.channel_ttl_seconds}")
        if self.shards < 1:
            raise SettingsError(f"{ENV_SHARDS} must be at least 1, got {self.shards}")
        if not 0 <= self.shard < self.shards:
            raise SettingsError(
                f"{ENV_SHARD}={self.shard} does not exist with {ENV_SHARDS}={self.shards}: "
                f"use 0..{self.shards - 1} (one replica per shard)"
            )

    @property
    def webhook_problem(self) -> str | None:
        """Why Google could not push to ``webhook_url`` (PushActive=False says so), or None.
        Google delivers only to https addresses; plain http is allowed on loopback with
        ``CALSYNC_WEBHOOK_INSECURE_LOOPBACK=true``, for tests and the demo."""
        if self.webhook_url is None:
            return None
        parts = urlsplit(self.webhook_url)
        if parts.scheme == "https" and parts.hostname:
            return None
        if self.webhook_insecure_loopback and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
            return None
        loopback = " (http is accepted only on 127.0.0.1 with CALSYNC_WEBHOOK_INSECURE_LOOPBACK=true)"
        return (
            f"{ENV_WEBHOOK_URL}={self.webhook_url!r} is not an https URL: Google delivers push "
            f"notifications only to https addresses{loopback}. Set it to the webhook's public https "
            "address ending in /push (e.g. https://calsync.example.com/push); until then changes "
            "arrive by polling."
        )

    @property
    def push_address(self) -> str | None:
        """Where channels point: the webhook URL, when Google can deliver there."""
        return self.webhook_url if self.webhook_problem is None else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OperatorSettings:
        env = Environment(environ)
        return cls(
            webhook_url=env.text(ENV_WEBHOOK_URL),
            google=GoogleSettings.from_env(environ),
            sendgrid_api_key=env.text(ENV_SENDGRID_API_KEY),
            sendgrid_api_host=env.text(ENV_SENDGRID_API_HOST) or SENDGRID_API_HOST,
            alert_from=env.text(ENV_ALERT_FROM),
            alert_to=env.items(ENV_ALERT_TO),
            heartbeat_url=env.text(ENV_HEARTBEAT_URL),
            namespaces=env.namespaces(),
            log_format=env.log_format(),
            log_level=env.log_level(),
            health_port=env.integer(ENV_HEALTH_PORT, 8080),
            metrics_port=env.integer(ENV_METRICS_PORT, 9090),
            channel_ttl_seconds=env.integer(ENV_CHANNEL_TTL, GOOGLE_DEFAULT_CHANNEL_TTL),
            shard=_shard(env),
            shards=env.integer(ENV_SHARDS, 1),
            webhook_insecure_loopback=env.flag(ENV_WEBHOOK_INSECURE),
            full_sync_interval_seconds=env.integer(ENV_FULL_SYNC_INTERVAL, DEFAULT_FULL_SYNC_INTERVAL),
        )


def _shard(env: Environment) -> int:
    """``CALSYNC_SHARD``; unset with more than one shard: the StatefulSet pod's ordinal, from its
    name (``calsync-operator-2`` → 2)."""
    if env.text(ENV_SHARD) is not None or env.integer(ENV_SHARDS, 1) == 1:
        return env.integer(ENV_SHARD, 0)
    for variable in ENV_POD_NAMES:
        found = _ORDINAL.search(env.text(variable) or "")
        if found:
            return int(found.group(1))
    raise SettingsError(
        f"{ENV_SHARDS} is more than 1 but {ENV_SHARD} is unset and neither POD_NAME nor HOSTNAME "
        "ends in a StatefulSet ordinal (-0, -1, ...): set CALSYNC_SHARD or run in a StatefulSet"
    )
