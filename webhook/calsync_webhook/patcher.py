"""The signal to the operator: a merge patch of ``push.calsync.dev/<source key>`` (docs/design.md §3).

The value is the push's receipt time in RFC 3339 UTC with milliseconds, the convention of
Flux's ``reconcile.fluxcd.io/requestedAt``: a new value is a new request, and the operator
measures push-to-write latency from it. An annotation (not status) because status belongs to
the operator alone, and a metadata change wakes kopf's handlers without bumping generation.

The kubernetes client blocks, so patches run in a small dedicated thread pool: a slow API
server then delays only the pushes that patch, never the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

import urllib3
from kubernetes import client

from calsync_operator.api.names import GROUP, PLURAL, PUSH_ANNOTATION_PREFIX, VERSION
from calsync_webhook.coalesce import TrailingRetryable
from calsync_webhook.index import SignalTarget

logger = logging.getLogger(__name__)

# (connect, read) seconds: bounded so a hung API server turns into a 503 Google retries.
REQUEST_TIMEOUT = (3.0, 10.0)


class PatchFailed(TrailingRetryable):
    """The API server did not take the patch: answer 503 so Google delivers the push again."""


class TargetGone(Exception):
    """The CalendarSync no longer exists: nothing to signal, and a retry would not help."""


class Patcher(Protocol):
    async def signal(self, target: SignalTarget, stamp: str) -> None: ...


def receipt_stamp(now: datetime | float) -> str:
    """``2026-11-25T09:00:00.123Z``: UTC, millisecond precision, fixed width (so strings sort
    like times). ``now`` is a datetime or a POSIX timestamp (``time.time()``)."""
    if isinstance(now, datetime):
        now = now.timestamp()
    seconds, millis = divmod(int(now * 1000), 1000)  # floor, also before 1970
    return f"{_second_stamp(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=4)
def _second_stamp(seconds: int) -> str:
    """Formatting the date is the costly part and changes once a second: cache it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def signal_patch(source_key: str, stamp: str) -> dict[str, Any]:
    """The merge-patch body: touches one annotation and nothing else."""
    return {"metadata": {"annotations": {PUSH_ANNOTATION_PREFIX + source_key: stamp}}}


class KubePatcher:
    def __init__(self, api_client: client.ApiClient, *, max_workers: int = 4) -> None:
        self._api = client.CustomObjectsApi(api_client)
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="calsync-patch")

    async def signal(self, target: SignalTarget, stamp: str) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._patch, target, stamp)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _patch(self, target: SignalTarget, stamp: str) -> None:
        try:
            self._api.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                target.namespace,
                PLURAL,
                target.name,
                signal_patch(target.source_key, stamp),
                _content_type="application/merge-patch+json",
                _request_timeout=REQUEST_TIMEOUT,
            )
        except client.ApiException as exc:
            if exc.status == 404:
                raise TargetGone(f"CalendarSync {target.namespace}/{target.name} not found") from None
            raise PatchFailed(
                f"patching CalendarSync {target.namespace}/{target.name} failed: {exc.status} {exc.reason}"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise PatchFailed(
                f"patching CalendarSync {target.namespace}/{target.name} failed: {type(exc).__name__}"
            ) from None
