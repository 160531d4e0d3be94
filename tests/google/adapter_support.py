"""Building adapter clients against an in-process emulator (shared by the test_adapter_* files)."""

from __future__ import annotations

import itertools
from typing import Any

from calsync_operator.emulator import EmulatorServer
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.credentials import ManagedCredentials
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.google.ratelimit import TokenBucket
from calsync_operator.google.retry import RetryPolicy
from calsync_operator.sync.port import WriteKind, WriteOp

_calendars = itertools.count()
FAST_RETRIES = RetryPolicy(max_attempts=8, initial_wait=0.01, max_wait=0.05)


def new_calendar(emu: EmulatorServer) -> str:
    """A fresh calendar per test, created in the emulator (unknown calendars are 404, as on Google)."""
    calendar_id = f"adapter-{next(_calendars)}@example.com"
    emu.create_calendar(calendar_id)
    return calendar_id


def make_client(
    emu: EmulatorServer,
    *,
    refresh_token: str = "rt-adapter",
    limiter: TokenBucket | None = None,
    policy: RetryPolicy = FAST_RETRIES,
    page_size: int = 2500,
    **settings: Any,
) -> GoogleCalendarClient:
    google = GoogleSettings(api_root=emu.root_url, **settings)
    credentials = ManagedCredentials(
        emu.token_json(refresh_token=refresh_token), source='Secret "test/src" key "token.json"'
    )
    return GoogleCalendarClient(
        credentials,
        google,
        limiter=limiter or TokenBucket(1_000_000, burst=100_000),
        policy=policy,
        page_size=page_size,
    )


def event_body(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "summary": f"event {n}",
        "start": {"dateTime": f"2026-12-{1 + n % 28:02d}T09:00:00Z"},
        "end": {"dateTime": f"2026-12-{1 + n % 28:02d}T10:00:00Z"},
        **extra,
    }


def inserts(calendar_id: str, count: int, prefix: str = "evt") -> list[WriteOp]:
    return [WriteOp(WriteKind.INSERT, calendar_id, f"{prefix}{n:05d}", event_body(n)) for n in range(count)]
