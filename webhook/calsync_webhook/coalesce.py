"""Per-source leading + trailing edge coalescing of push signals (docs/design.md §3).

Google can send hundreds of pushes for one calendar in a second (a bulk import, a sync from a
phone). Each one patching the CalendarSync would hammer the API server and wake the operator
for nothing, yet dropping pushes could lose the last change. So, per source:

* the first push of a burst patches at once (leading edge: the operator starts syncing with
  no added delay);
* pushes inside the window only remember the latest receipt time;
* when the window ends, one more patch carries that latest time (trailing edge: the operator
  is guaranteed to see a value at or after the last push) and opens a new window.

``Window`` is the pure state machine (numbers in, decisions out; tested with a fake clock).
``Coalescer`` drives it on the event loop: it serialises the patches of one source, so a slow
leading patch can never land after (and overwrite) a newer trailing one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Generic, TypeVar

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
SWEEP_MIN_SLOTS = 1024  # idle sources are forgotten only once this many are remembered


class Edge(StrEnum):
    LEADING = "leading"
    TRAILING = "trailing"


Flush = Callable[[K, str, Edge], Awaitable[None]]


class PushAction(Enum):
    LEAD = "lead"  # patch now with this push's time
    FOLD = "fold"  # remembered for the trailing patch already scheduled
    SCHEDULE = "schedule"  # remembered; the caller must schedule the trailing patch at ``closes_at``


@dataclass
class Window:
    """One source's coalescing state. Stamps are RFC 3339 UTC strings of fixed width, so the
    lexical maximum is the latest time."""

    length: float
    closes_at: float = -math.inf
    pending: str | None = None
    trailing: bool = False  # a trailing patch is scheduled or running

    def on_push(self, now: float, stamp: str) -> PushAction:
        if not self.trailing and now >= self.closes_at:
            self.closes_at = now + self.length
            return PushAction.LEAD
        self.pending = stamp if self.pending is None else max(self.pending, stamp)
        if self.trailing:
            return PushAction.FOLD
        self.trailing = True
        return PushAction.SCHEDULE

    def on_window_end(self, now: float) -> str | None:
        """The window closed: the stamp to patch (a new window opens), or None when the window
        saw no push (the source is idle again; its next push leads)."""
        stamp, self.pending = self.pending, None
        if stamp is None:
            self.trailing = False
            return None
        self.closes_at = now + self.length
        return stamp

    def on_lead_failed(self) -> None:
        """Google retries a push answered with 503; that retry must lead, not be folded."""
        self.closes_at = -math.inf


@dataclass
class _Slot:
    window: Window
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lead_settled: asyncio.Event = field(default_factory=asyncio.Event)


class TrailingRetryable(Exception):
    """Base for flush errors worth retrying on the trailing edge (nobody is waiting to get a
    503 there, so the coalescer retries a few times itself)."""


class Coalescer(Generic[K]):
    def __init__(
        self,
        window: float,
        flush: Flush[K],
        *,
        clock: Callable[[], float] = time.monotonic,
        trailing_attempts: int = 3,
    ) -> None:
        if trailing_attempts < 2:
            raise ValueError("trailing_attempts must be at least 2")
        self._length = window
        self._flush = flush
        self._clock = clock
        self._trailing_attempts = trailing_attempts
        self._slots: dict[K, _Slot] = {}
        self._sweep_at = SWEEP_MIN_SLOTS
        self._tasks: set[asyncio.Task[None]] = set()

    async def push(self, key: K, stamp: str) -> PushAction:
        """Signal one push. A leading push returns once its patch is done and raises what the
        flush raised; a folded push returns once the burst's leading patch has settled, so no
        later push of a burst is ever answered before the first one reached the API."""
        slot = self._slots.get(key)
        if slot is None:
            if len(self._slots) >= self._sweep_at:
                self._sweep(self._clock())
            slot = self._slots[key] = _Slot(Window(self._length))
        action = slot.window.on_push(self._clock(), stamp)
        if action is PushAction.LEAD:
            slot.lead_settled.clear()
            try:
                async with slot.lock:
                    await self._flush(key, stamp, Edge.LEADING)
            except BaseException:
                slot.window.on_lead_failed()
                raise
            finally:
                slot.lead_settled.set()
            return action
        if action is PushAction.SCHEDULE:
            task = asyncio.create_task(self._trail(key, slot))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await slot.lead_settled.wait()
        return action

    def __len__(self) -> int:
        return len(self._slots)

    def _sweep(self, now: float) -> None:
        """Forget sources whose window closed and that have nothing in flight. Slots of busy
        sources are kept (and reused), slots of deleted CalendarSyncs do not pile up; sweeping
        only when the table doubled keeps the cost amortised O(1) per push."""
        idle = [
            key
            for key, slot in self._slots.items()
            if not slot.window.trailing and now >= slot.window.closes_at and not slot.lock.locked()
        ]
        for key in idle:
            del self._slots[key]
        self._sweep_at = max(SWEEP_MIN_SLOTS, 2 * len(self._slots))

    async def aclose(self) -> None:
        """Shutdown: stop the windows and send what they still held, so a rolling update does
        not swallow the trailing signal of a burst."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for key, slot in list(self._slots.items()):
            stamp, slot.window.pending = slot.window.pending, None
            if stamp is not None:
                try:
                    await self._flush(key, stamp, Edge.TRAILING)
                except Exception as exc:
                    logger.warning("trailing push signal for %s dropped at shutdown: %s", key, exc)
        self._slots.clear()

    async def _trail(self, key: K, slot: _Slot) -> None:
        window = slot.window
        while True:
            await asyncio.sleep(max(0.0, window.closes_at - self._clock()))
            async with slot.lock:
                stamp = window.on_window_end(self._clock())
                if stamp is None:
                    break
                await self._flush_trailing(key, stamp)
        if self._slots.get(key) is slot and not window.trailing:
            del self._slots[key]

    async def _flush_trailing(self, key: K, stamp: str) -> None:
        # The first attempt goes straight through: tenacity's per-call state is cyclic garbage
        # (a GC pass every few hundred patches under load), so only a failure pays for it.
        try:
            await self._flush(key, stamp, Edge.TRAILING)
            return
        except TrailingRetryable:
            pass
        except Exception as exc:
            logger.warning("trailing push signal for %s dropped: %s", key, exc)
            return
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(TrailingRetryable),
                stop=stop_after_attempt(self._trailing_attempts - 1),  # the first one is above
                wait=wait_exponential(multiplier=0.1, max=2),
                reraise=True,
            ):
                with attempt:
                    await self._flush(key, stamp, Edge.TRAILING)
        except Exception as exc:
            # The operator's poll is the backstop for a lost signal; keep the loop alive.
            logger.warning("trailing push signal for %s dropped: %s", key, exc)
