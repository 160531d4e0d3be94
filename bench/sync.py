"""Throughput and cost of one incremental sync pass: N changed events, one source, one target.

The shipped Google emulator runs in-process on loopback; the engine talks to it through the real
adapter (google-api-python-client, batches, retries), exactly as the operator does. Setup puts
N new events into the source directly in the emulator's store (not measured) after a first,
empty pass has stored a sync token and built the copy index, so the measured pass is the
steady state the operator sees: an incremental listing, then N inserts in batches.

The adapter's quota limiter is set far above Google's 600/min so the figure is the engine's
and the transport's cost; with the production limit (500/min) any pass is quota-bound instead.

    python bench/sync.py [--events 10000] [--batch 1000]

The last line is ``events_per_s=<x> google_calls_per_event=<y> http_requests_per_event=<z>``
(Calendar API calls counted per batch part, as Google's quota does; OAuth refreshes excluded).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from calsync_operator.api.names import TAG_EVENT
from calsync_operator.api.spec import CalendarSyncSpec, SecretRef, Source, Target
from calsync_operator.api.status import SourceStatus
from calsync_operator.emulator import EmulatorServer
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.credentials import ManagedCredentials
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.google.ratelimit import TokenBucket
from calsync_operator.sync.engine import sync_source

SOURCE = "bench-source@example.com"
TARGET = "bench-target@example.com"


def client(emulator: EmulatorServer, name: str) -> GoogleCalendarClient:
    credentials = ManagedCredentials(emulator.token_json(refresh_token=f"rt-{name}"), source=name)
    settings = GoogleSettings(api_root=emulator.root_url)
    return GoogleCalendarClient(credentials, settings, limiter=TokenBucket(10_000_000, burst=1_000_000))


def source_events(count: int, now: datetime) -> list[dict[str, object]]:
    first = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    events: list[dict[str, object]] = []
    for n in range(count):
        start = first + timedelta(minutes=30 * n)
        events.append(
            {
                "id": f"bench{n:07d}",
                "summary": f"Bench event {n}",
                "description": "a line of text",
                "location": "Room 1",
                "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
                "end": {"dateTime": (start + timedelta(minutes=25)).isoformat(), "timeZone": "Europe/Berlin"},
            }
        )
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="changed events in the pass")
    parser.add_argument("--batch", type=int, default=1000, help="calls per batch request (max 1000)")
    args = parser.parse_args()

    source = Source(SOURCE, SecretRef("bench-source"))
    spec = CalendarSyncSpec(target=Target(TARGET, SecretRef("bench-target")), sources=(source,))
    now = datetime.now(UTC)
    # 30-minute slots must all fall in the default window (365 days ahead).
    if args.events * 30 > 364 * 24 * 60:
        parser.error("at most 17,472 events fit the default window at 30-minute spacing")

    with EmulatorServer() as emulator:
        emulator.create_calendar(SOURCE, TARGET)
        source_client, target_client = client(emulator, "source"), client(emulator, "target")
        first = sync_source(
            spec=spec,
            source=source,
            state=SourceStatus(SOURCE),
            source_client=source_client,
            target_client=target_client,
            now=now,
        )
        for event in source_events(args.events, now):
            emulator.state.store.insert_event(SOURCE, event)
        before = emulator.counters

        started = time.perf_counter()
        outcome = sync_source(
            spec=spec,
            source=source,
            state=first.state,
            index=first.index,
            source_client=source_client,
            target_client=target_client,
            now=now,
            batch_size=args.batch,
        )
        elapsed = time.perf_counter() - started

        after = emulator.counters
        copies = [e for e in emulator.events(TARGET) if TAG_EVENT in e["extendedProperties"]["private"]]
        calls = (after.calls() - after.calls("token")) - (before.calls() - before.calls("token"))
        http = after.http_round_trips - before.http_round_trips

    assert outcome.counts.created == args.events == len(copies), (outcome.counts, len(copies))
    print(
        f"events={args.events} seconds={elapsed:.2f} calls={calls} http_requests={http} "
        f"batches={after.batches - before.batches} created={outcome.counts.created}"
    )
    print(
        f"events_per_s={args.events / elapsed:.1f} google_calls_per_event={calls / args.events:.4f} "
        f"http_requests_per_event={http / args.events:.4f}"
    )


if __name__ == "__main__":
    main()
