"""The operator's configuration, read from the environment once at start-up (DESIGN §7).

Handlers never call ``os.environ``: they get one frozen ``OperatorSettings`` (kept in kopf's
memo), so a test builds its own with ``dataclasses.replace`` and a bad value fails at start-up
with a message naming the variable, not in the middle of a sync.
Google's own knobs (API root, token URI, rate) live in ``google.endpoints.GoogleSettings``;
this object embeds it instead of reading the same variables twice.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

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

SENDGRID_API_HOST = "https://api.sendgrid.com"
GOOGLE_DEFAULT_CHANNEL_TTL = 7 * 24 * 3600  # Google's default channel lifetime (DESIGN §5)
LOG_FORMATS = ("text", "json")


class SettingsError(ValueError):
    """An environment variable the operator cannot use; the message names it and the fix."""


@dataclass(frozen=True)
class OperatorSettings:
    """Everything the operator needs to know about its surroundings."""

    webhook_url: str | None = None  # public https URL ending in /push; None: no push channels
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
    # Replaces every CalendarSync's pollInterval (whose CRD minimum is 30 s): tests and demos only.
    poll_seconds_override: float | None = None
    # Shards (docs/operator.md): this replica serves the CalendarSyncs whose shard key hashes to
    # ``shard`` among ``shards``; 0 of 1 is the single replica that serves them all.
    shard: int = 0
    shards: int = 1

    def __post_init__(self) -> None:
        if self.webhook_url is not None and not self.webhook_url.startswith(("https://", "http://")):
            raise SettingsError(
                f"{ENV_WEBHOOK_URL}={self.webhook_url!r} is not a URL: set it to the webhook's public "
                "https address ending in /push (e.g. https://calsync.example.com/push)"
            )
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"{ENV_LOG_FORMAT}={self.log_format!r}: use one of {', '.join(LOG_FORMATS)}")
        if not 0 < self.channel_renew_fraction < 1:
            raise SettingsError(
                f"channel_renew_fraction must be in (0, 1), got {self.channel_renew_fraction}"
            )
        if self.shards < 1:
            raise SettingsError(f"{ENV_SHARDS} must be at least 1, got {self.shards}")
        if not 0 <= self.shard < self.shards:
            raise SettingsError(
                f"{ENV_SHARD}={self.shard} does not exist with {ENV_SHARDS}={self.shards}: "
                f"use 0..{self.shards - 1} (one replica per shard)"
            )
        if self.channel_ttl_seconds < 1:
            raise SettingsError(f"{ENV_CHANNEL_TTL} must be at least 1, got {self.channel_ttl_seconds}")

    @property
    def alerts_enabled(self) -> bool:
        return bool(self.sendgrid_api_key and self.alert_from and self.alert_to)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OperatorSettings:
        env = os.environ if environ is None else environ
        return cls(
            webhook_url=_text(env, ENV_WEBHOOK_URL),
            google=GoogleSettings.from_env(env),
            sendgrid_api_key=_text(env, ENV_SENDGRID_API_KEY),
            sendgrid_api_host=_text(env, ENV_SENDGRID_API_HOST) or SENDGRID_API_HOST,
            alert_from=_text(env, ENV_ALERT_FROM),
            alert_to=_list(env, ENV_ALERT_TO),
            heartbeat_url=_text(env, ENV_HEARTBEAT_URL),
            namespaces=_list(env, ENV_NAMESPACES),
            log_format=(_text(env, ENV_LOG_FORMAT) or "text").lower(),
            log_level=_log_level(env),
            health_port=_int(env, ENV_HEALTH_PORT, 8080),
            metrics_port=_int(env, ENV_METRICS_PORT, 9090),
            channel_ttl_seconds=_int(env, ENV_CHANNEL_TTL, GOOGLE_DEFAULT_CHANNEL_TTL),
            shard=_shard(env),
            shards=_int(env, ENV_SHARDS, 1),
        )


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None


def _shard(env: Mapping[str, str]) -> int:
    """``CALSYNC_SHARD``; unset with more than one shard: the StatefulSet pod's ordinal, from its
    name (``calsync-operator-2`` → 2)."""
    if _text(env, ENV_SHARD) is not None or _int(env, ENV_SHARDS, 1) == 1:
        return _int(env, ENV_SHARD, 0)
    for variable in ENV_POD_NAMES:
        found = _ORDINAL.search(_text(env, variable) or "")
        if found:
            return int(found.group(1))
    raise SettingsError(
        f"{ENV_SHARDS} is more than 1 but {ENV_SHARD} is unset and neither POD_NAME nor HOSTNAME "
        "ends in a StatefulSet ordinal (-0, -1, ...): set CALSYNC_SHARD or run in a StatefulSet"
    )


def _log_level(env: Mapping[str, str]) -> int:
    raw = (_text(env, ENV_LOG_LEVEL) or "INFO").upper()
    level = logging.getLevelName(raw)
    if not isinstance(level, int):
        raise SettingsError(f"{ENV_LOG_LEVEL}={raw!r}: use DEBUG, INFO, WARNING or ERROR")
    return level
