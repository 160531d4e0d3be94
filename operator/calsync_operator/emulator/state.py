"""Everything one emulator instance holds, and the control operations tests use on it.

The HTTP app, the ``/_emulator/`` control routes and the in-process ``EmulatorServer`` all
act on one ``EmulatorState``; each part guards itself with its own lock, so the test thread
and the server's event loop can use it at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from calsync_operator.emulator.counters import Counters, CounterSnapshot
from calsync_operator.emulator.faults import FaultInjector
from calsync_operator.emulator.oauth import TokenRegistry
from calsync_operator.emulator.push import PushNotifier
from calsync_operator.emulator.store import CalendarStore


@dataclass
class EmulatorState:
    store: CalendarStore = field(default_factory=CalendarStore)
    tokens: TokenRegistry = field(default_factory=TokenRegistry)
    faults: FaultInjector = field(default_factory=FaultInjector)
    counters: Counters = field(default_factory=Counters)
    push: PushNotifier = field(init=False)

    def __post_init__(self) -> None:
        self.push = PushNotifier(self.counters)

    def drop_pushes(self, probability: float) -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        self.push.drop_probability = probability

    def short_pages(self, probability: float) -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        self.store.pager.short_page_probability = probability

    def minimal_cancelled(self, enabled: bool = True) -> None:
        self.store.pager.full_cancelled = not enabled

    def snapshot(self) -> CounterSnapshot:
        return self.counters.snapshot()

    def events(self, calendar_id: str, include_cancelled: bool = False) -> list[dict[str, Any]]:
        return self.store.events(calendar_id, include_cancelled)

    def channels(self, calendar_id: str | None = None) -> list[dict[str, Any]]:
        return self.push.channels(calendar_id)

    def reset(self) -> None:
        """Back to an empty emulator: no events, channels, faults, revocations or counts."""
        self.store.reset()
        self.tokens.reset()
        self.faults.clear()
        self.counters.reset()
        self.push.reset()
