"""The engine's world for integration tests: the shipped Google emulator over real HTTP, one real
``GoogleCalendarClient`` per calendar, and a ``sync`` helper that keeps each source's state and
copy index between passes the way the operator does (state in status, index in memory)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from calsync_operator.api.names import TAG_EVENT, TAG_SOURCE
from calsync_operator.api.spec import CalendarSyncSpec, Source
from calsync_operator.api.status import SourceStatus
from calsync_operator.emulator import EmulatorServer
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.credentials import ManagedCredentials
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.google.ratelimit import TokenBucket
from calsync_operator.google.retry import RetryPolicy
from calsync_operator.sync.copyindex import CopyIndex
from calsync_operator.sync.engine import SyncOutcome, sync_source
from calsync_operator.sync.port import CalendarClient, Event, WriteKind, WriteOp


@dataclass
class World:
    emulator: EmulatorServer
    attempts: int = 3
    clients: dict[str, GoogleCalendarClient] = field(default_factory=dict)
    states: dict[tuple[str, str], SourceStatus] = field(default_factory=dict)
    indexes: dict[tuple[str, str], CopyIndex] = field(default_factory=dict)

    def client(self, calendar_id: str) -> GoogleCalendarClient:
        """One client (one credential) per calendar, as each Secret would give."""
        if calendar_id not in self.clients:
            self.clients[calendar_id] = self._new_client(calendar_id, self.emulator.root_url)
        return self.clients[calendar_id]

    def unreachable_client(self, calendar_id: str) -> GoogleCalendarClient:
        """A client whose API root refuses connections (Google unreachable); OAuth still works."""
        with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        client = self._new_client(calendar_id, f"http://127.0.0.1:{port}/")
        self.clients[f"unreachable:{calendar_id}"] = client  # closed with the others
        return client

    def _new_client(self, calendar_id: str, api_root: str) -> GoogleCalendarClient:
        # Each calendar is its Secret's user's primary calendar, as for a person's own calendar.
        token_json = self.emulator.token_json(refresh_token=f"refresh-{calendar_id}", user=calendar_id)
        settings = GoogleSettings(api_root=api_root)
        policy = RetryPolicy(max_attempts=self.attempts, initial_wait=0.01, max_wait=0.05)
        credentials = ManagedCredentials(token_json, source=f"secret for {calendar_id}")
        # Quota pacing is the adapter's concern (tested there): here it must not slow passes.
        limiter = TokenBucket(1_000_000, burst=100_000)
        return GoogleCalendarClient(credentials, settings, limiter=limiter, policy=policy)

    def sync(
        self,
        spec: CalendarSyncSpec,
        source: Source,
        *,
        target_client: CalendarClient | None = None,
        **kwargs: Any,
    ) -> SyncOutcome:
        """One pass with the state and index of the previous one; ``target_client`` replaces
        the target's client for this pass (an unreachable or crashing one)."""
        key = (spec.target.calendar_id, source.calendar_id)
        outcome = sync_source(
            spec=spec,
            source=source,
            state=self.states.get(key) or SourceStatus(source.calendar_id),
            source_client=self.client(source.calendar_id),
            target_client=target_client or self.client(spec.target.calendar_id),
            index=self.indexes.get(key),
            **kwargs,
        )
        self.states[key] = outcome.state
        self.indexes[key] = outcome.index
        return outcome

    def restart(self) -> None:
        """What an operator restart loses: the in-memory copy indexes (status survives)."""
        self.indexes.clear()

    def write(self, calendar_id: str, kind: WriteKind, events: list[Event]) -> None:
        """Change a calendar the way a user would (through the API), asserting it worked."""
        body = kind is not WriteKind.DELETE
        ops = [WriteOp(kind, calendar_id, str(e["id"]), e if body else None) for e in events]
        results = self.client(calendar_id).write(ops)
        assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]

    def occurrence(self, calendar_id: str, series_id: str, original_start: datetime | str) -> Event:
        """One occurrence of a series, found as any client must find it: Google's occurrence
        ids are opaque, so by the series and the original start (``events.instances``; a date
        string for an all-day series)."""
        if isinstance(original_start, datetime):
            original_start = original_start.isoformat().replace("+00:00", "Z")
        found = self.client(calendar_id).instances(calendar_id, series_id, original_start=original_start)
        assert len(found) == 1, found
        return found[0]

    def copies(self, target: str, source: str | None = None) -> list[Event]:
        """Live events in ``target`` that are copies (of ``source`` when given)."""
        return [
            e
            for e in self.emulator.events(target)
            if TAG_EVENT in e.get("extendedProperties", {}).get("private", {})
            and (source is None or e["extendedProperties"]["private"][TAG_SOURCE] == source)
        ]

    def calls(self) -> int:
        """Calendar API calls so far (each batch part counts, as in Google's quota; OAuth
        token refreshes are not Calendar calls)."""
        counters = self.emulator.counters
        return counters.calls() - counters.calls("token")

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(params=["minimalCancelled", "fullCancelled"])
def emulator(emulator_server: EmulatorServer, request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """The module's emulator, emptied for each test (events, tokens, faults, counters).

    Every engine test runs twice: with cancelled events listed as Google guarantees them (only
    ``id``, plus ``recurringEventId`` and ``originalStartTime`` for an occurrence: the emulator's
    default) and with every field, as Google may list them on the organizer's own calendar."""
    emulator_server.reset()
    emulator_server.minimal_cancelled(request.param == "minimalCancelled")
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def world(emulator: EmulatorServer) -> Iterator[World]:
    made = World(emulator)
    yield made
    made.close()
