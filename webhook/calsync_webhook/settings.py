"""The webhook's configuration, read from the environment once and then immutable.

Every knob the chart sets is an environment variable (docs/webhook.md). The ones every role
shares (``CALSYNC_NAMESPACES``, ``CALSYNC_LOG_FORMAT``, ``CALSYNC_LOG_LEVEL``) are read by the
operator's ``settings.Environment``, with the same rules and messages; a typo in a value fails
at start-up with a message that names the variable, instead of surfacing as odd behaviour under
load.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from calsync_operator.errors import SettingsError
from calsync_operator.settings import Environment

__all__ = ["SettingsError", "WebhookSettings"]

# Google sends push notifications without a body; anything larger is not Google.
MAX_BODY_BYTES = 1024
DEFAULT_COALESCE_WINDOW_MS = 250
ENV_COALESCE_WINDOW_MS = "CALSYNC_COALESCE_WINDOW_MS"


@dataclass(frozen=True)
class WebhookSettings:
    namespaces: tuple[str, ...] = ()  # empty: watch CalendarSyncs in every namespace
    coalesce_window: float = DEFAULT_COALESCE_WINDOW_MS / 1000  # seconds
    max_body_bytes: int = MAX_BODY_BYTES
    log_format: str = "text"
    log_level: int = logging.INFO

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookSettings:
        env = Environment(environ)
        window_ms = env.integer(ENV_COALESCE_WINDOW_MS, DEFAULT_COALESCE_WINDOW_MS)
        if window_ms < 0:
            raise SettingsError(f"{ENV_COALESCE_WINDOW_MS} must be >= 0 (milliseconds), got {window_ms}")
        return cls(
            namespaces=env.namespaces(),
            coalesce_window=window_ms / 1000,
            log_format=env.log_format(),
            log_level=env.log_level(),
        )
