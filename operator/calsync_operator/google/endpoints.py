"""Where Google lives and how hard we may hit it, read once from the environment.

Everything that points at Google (API root, batch URI, token URI) is configurable so the same
adapter talks to the shipped emulator in tests, the demo and benchmarks (docs/design.md §5, §7).
google-api-python-client ignores ``api_endpoint`` for batches, so the batch URI is derived here
and passed explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from calsync_operator.errors import SettingsError

GOOGLE_API_ROOT = "https://www.googleapis.com/"
DEFAULT_RATE_PER_MINUTE = 500  # Google allows 600/min per user per project: keep headroom.
MAX_BATCH_SIZE = 1000  # Google's limit of calls in one batch request.
DEFAULT_MAX_ATTEMPTS = 8  # 30 % of calls failing still leaves < 1e-4 failing eight times
DEFAULT_HTTP_TIMEOUT = 30.0

ENV_API_ROOT = "CALSYNC_GOOGLE_API_ROOT"
ENV_TOKEN_URI = "CALSYNC_GOOGLE_TOKEN_URI"
ENV_RATE_PER_MINUTE = "CALSYNC_RATE_PER_MINUTE"
ENV_BATCH_SIZE = "CALSYNC_GOOGLE_BATCH_SIZE"


@dataclass(frozen=True)
class GoogleSettings:
    """How the adapter reaches Google. Build it with ``from_env()`` once at start-up."""

    api_root: str = GOOGLE_API_ROOT
    token_uri: str | None = None  # overrides the token JSON's token_uri when set
    rate_per_minute: int = DEFAULT_RATE_PER_MINUTE
    burst: int | None = None  # token bucket capacity; None -> a tenth of the rate
    batch_size: int = MAX_BATCH_SIZE
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    http_timeout: float = DEFAULT_HTTP_TIMEOUT

    def __post_init__(self) -> None:
        if not self.api_root.startswith(("http://", "https://")):
            raise SettingsError(f"Google API root {self.api_root!r} is not an http(s) URL")
        if not self.api_root.endswith("/"):
            # Every Google path is joined under the root: normalise once, here.
            object.__setattr__(self, "api_root", self.api_root + "/")
        if self.rate_per_minute < 2:
            raise SettingsError(f"{ENV_RATE_PER_MINUTE} must be at least 2, got {self.rate_per_minute}")
        if self.burst is not None and not 1 <= self.burst < self.rate_per_minute:
            raise SettingsError(f"burst must be within 1..{self.rate_per_minute - 1}, got {self.burst}")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise SettingsError(f"{ENV_BATCH_SIZE} must be within 1..{MAX_BATCH_SIZE}, got {self.batch_size}")
        if self.max_attempts < 1:
            raise SettingsError(f"max_attempts must be at least 1, got {self.max_attempts}")

    @property
    def calendar_endpoint(self) -> str:
        """The Calendar v3 base URL (``api_endpoint`` replaces rootUrl + servicePath)."""
        return self.api_root + "calendar/v3/"

    @property
    def batch_uri(self) -> str:
        return self.api_root + "batch/calendar/v3"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GoogleSettings:
        env = os.environ if environ is None else environ
        return cls(
            api_root=env.get(ENV_API_ROOT) or GOOGLE_API_ROOT,
            token_uri=env.get(ENV_TOKEN_URI) or None,
            rate_per_minute=_int_setting(env, ENV_RATE_PER_MINUTE, DEFAULT_RATE_PER_MINUTE),
            batch_size=_int_setting(env, ENV_BATCH_SIZE, MAX_BATCH_SIZE),
        )


def _int_setting(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
