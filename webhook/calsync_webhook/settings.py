"""The webhook's configuration, read from the environment once and then immutable.

Every knob the chart sets is an environment variable (DESIGN §7); parsing them in one place,
typed, means a typo in a value fails at start-up with a message that names the variable,
instead of surfacing as odd behaviour under load.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# Google sends push notifications without a body; anything larger is not Google.
MAX_BODY_BYTES = 1024
DEFAULT_COALESCE_WINDOW_MS = 250
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """An environment variable holds a value the webhook cannot use; the message names it."""


@dataclass(frozen=True)
class WebhookSettings:
    namespaces: tuple[str, ...] = ()  # empty: watch CalendarSyncs in every namespace
    coalesce_window: float = DEFAULT_COALESCE_WINDOW_MS / 1000  # seconds
    max_body_bytes: int = MAX_BODY_BYTES
    log_format: str = "text"
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookSettings:
        env = os.environ if environ is None else environ
        namespaces = tuple(ns.strip() for ns in env.get("CALSYNC_NAMESPACES", "").split(",") if ns.strip())
        window_ms = _parse_int(env, "CALSYNC_COALESCE_WINDOW_MS", DEFAULT_COALESCE_WINDOW_MS)
        if window_ms < 0:
            raise SettingsError(f"CALSYNC_COALESCE_WINDOW_MS must be >= 0, got {window_ms}")
        log_format = env.get("CALSYNC_LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in LOG_FORMATS:
            raise SettingsError(f"CALSYNC_LOG_FORMAT must be json or text, got {log_format!r}")
        log_level = env.get("CALSYNC_LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in LOG_LEVELS:
            raise SettingsError(
                f"CALSYNC_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}"
            )
        return cls(
            namespaces=namespaces,
            coalesce_window=window_ms / 1000,
            log_format=log_format,
            log_level=log_level,
        )


def _parse_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer (milliseconds), got {raw!r}") from None
