"""The heartbeat: while the operator is healthy, GET a URL every minute (docs/design.md §7).

This is the dead-man's switch of the old bot's health-monitor container, in the shape Uptime
Kuma's "push" monitors expect (``https://kuma.example/api/push/<token>?status=up&msg=OK``) —
any monitor that alarms when a GET stops arriving works. Silence is the signal, so nothing is
sent while unhealthy. The URL embeds a token: only its host is ever logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp  # the client kopf already loads: the operator process carries one HTTP client

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[bool]]
REQUEST_TIMEOUT_SECONDS = 10.0


async def run_heartbeat(url: str, *, interval: float, healthy: HealthCheck) -> None:
    """Beat until cancelled: one GET per ``interval`` seconds while ``healthy()`` says so."""
    host = urlsplit(url).hostname or "?"
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as client:  # follows redirects
        while True:
            # First wait: at start-up kopf's probe endpoint is not listening yet, and a monitor
            # expecting one beat per interval needs none before the first interval is over.
            await asyncio.sleep(interval)
            if await healthy():
                await _beat(client, url, host)
            else:
                logger.warning("Heartbeat to %s withheld: the operator is not healthy", host)


async def _beat(client: aiohttp.ClientSession, url: str, host: str) -> None:
    try:
        async with client.get(url) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        logger.warning("Heartbeat to %s failed: %s", host, type(exc).__name__)
        return
    if 200 <= status < 300:
        logger.debug("Heartbeat to %s: HTTP %d", host, status)
    else:
        logger.warning("Heartbeat to %s answered HTTP %d", host, status)


def all_healthy(*checks: HealthCheck) -> HealthCheck:
    """Healthy only when every check says so (checked in order, stopping at the first no)."""

    async def check() -> bool:
        for each in checks:
            if not await each():
                return False
        return True

    return check


def liveness_check(url: str) -> HealthCheck:
    """Healthy means kopf's own liveness endpoint answers 200: the same verdict as the kubelet's."""

    async def check() -> bool:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as client, client.get(url) as response:
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError):
            return False

    return check
