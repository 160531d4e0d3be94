"""Everything one emulator instance holds, and the control operations tests use on it.

The HTTP app, the ``/_emulator/`` control routes and the in-process ``EmulatorServer`` all
act on one ``EmulatorState``; each part guards itself with its own lock, so the test thread
and the server's event loop can use it at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from calsync_operator.emulator.counters import Counters, CounterSnapshot
from calsync_operator.emulator.faults import FaultInjector
from calsync_operator.emulator.instanceids import InstanceIdStyle
from calsync_operator.emulator.oauth import TokenRegistry
from calsync_operator.emulator.push import PushNotifier
from calsync_operator.emulator.splits import split_series
from calsync_operator.emulator.store import CalendarStore


@dataclass(frozen=True)
class EmulatorOptions:
    """Where the emulator may be kinder than Google, on request only (``reset`` restores them)."""

    instance_ids: InstanceIdStyle = "opaque"  # "legacy": <master id>_<start> occurrence ids
    allow_http_push: bool = False  # watch addresses on http://127.0.0.1 (Google: https only)


@dataclass
class EmulatorState:
    options: EmulatorOptions = field(default_factory=EmulatorOptions)
    store: CalendarStore = field(default_factory=CalendarStore)
    tokens: TokenRegistry = field(default_factory=TokenRegistry)
    faults: FaultInjector = field(default_factory=FaultInjector)
    counters: Counters = field(default_factory=Counters)
    push: PushNotifier = field(init=False)

    def __post_init__(self) -> None:
        self.push = PushNotifier(self.counters)
        self._apply(self.options)

    def _apply(self, options: EmulatorOptions) -> None:
        self.store.ids.set_style(options.instance_ids)
        self.push.allow_http_loopback = options.allow_http_push

    def instance_ids(self, style: str) -> None:
        self.store.ids.set_style(style)

    def allow_http_push(self, enabled: bool = True) -> None:
        self.push.allow_http_loopback = enabled

    def create_calendar(self, calendar_id: str, *, primary: bool = False) -> None:
        self.store.create_calendar(calendar_id, primary=primary)

    def register_user(self, refresh_token: str, user: str) -> None:
        """Tokens refreshed with ``refresh_token`` belong to ``user``, whose primary calendar
        (id ``user``, alias ``primary``) exists from now on."""
        self.tokens.register_user(refresh_token, user)
        self.store.create_calendar(user, primary=True)

    def split_series(
        self,
        calendar_id: str,
        master_id: str,
        split_at: datetime | date,
        changes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Google Calendar's "this and following events" edit (see ``splits``)."""
        new = split_series(self.store, calendar_id, master_id, split_at, changes or {})
        self.push.changed(calendar_id)
        return new

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
        """Back to an empty emulator: no calendars, events, channels, faults, revocations or
        counts; the options it was started with apply again."""
        self.store.reset()
        self.tokens.reset()
        self.faults.clear()
        self.counters.reset()
        self.push.reset()
        self._apply(self.options)
