"""What the Google adapter costs on the wire: batching, retries under faults, single-call latency.

Runs the shipped emulator in-process on loopback and drives ``GoogleCalendarClient`` exactly
as the operator does (google-api-python-client, per-thread ``AuthorizedHttp``, tenacity). The
quota limiter is set far above Google's 600/min so the figures are the adapter's own cost;
with the production limit (500/min) bulk writes are quota-bound at ~450 calls/min instead.

    python bench/google_adapter.py [--events 2000] [--gets 200]

Prints one line per scenario, then a summary line
``batched_writes_per_s=<x> round_trips=<n> faulty_writes_per_s=<y> duplicates=<d> get_p50_ms=<z>``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

from calsync_operator.emulator import EmulatorServer
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.credentials import ManagedCredentials
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.google.ratelimit import TokenBucket
from calsync_operator.google.retry import RetryPolicy
from calsync_operator.sync.port import WriteKind, WriteOp


def make_client(emu: EmulatorServer, name: str, batch_size: int = 1000) -> GoogleCalendarClient:
    credentials = ManagedCredentials(emu.token_json(refresh_token=f"rt-{name}"), source=name)
    settings = GoogleSettings(api_root=emu.root_url, batch_size=batch_size)
    return GoogleCalendarClient(
        credentials,
        settings,
        limiter=TokenBucket(10_000_000, burst=1_000_000),
        policy=RetryPolicy(max_attempts=10, initial_wait=0.05, max_wait=1.0),
    )


def inserts(calendar_id: str, count: int) -> list[WriteOp]:
    return [
        WriteOp(
            WriteKind.INSERT,
            calendar_id,
            f"bench{n:06d}",
            {
                "summary": f"event {n}",
                "start": {"dateTime": f"2026-12-{1 + n % 28:02d}T09:00:00Z"},
                "end": {"dateTime": f"2026-12-{1 + n % 28:02d}T10:00:00Z"},
            },
        )
        for n in range(count)
    ]


def timed_write(emu: EmulatorServer, client: GoogleCalendarClient, cal: str, count: int) -> tuple[float, int]:
    client.list_events(cal)  # refresh the token and open the connection outside the measurement
    before = emu.counters.batches
    start = time.perf_counter()
    results = client.write(inserts(cal, count))
    elapsed = time.perf_counter() - start
    if not all(r.ok for r in results):
        raise SystemExit(f"{sum(not r.ok for r in results)} writes failed")
    return elapsed, emu.counters.batches - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--gets", type=int, default=200)
    args = parser.parse_args()
    n = args.events

    with EmulatorServer() as emu:
        emu.create_calendar("batched@bench", "small@bench", "faulty@bench")
        elapsed, batched_trips = timed_write(emu, make_client(emu, "batched"), "batched@bench", n)
        batched_rate = n / elapsed
        print(f"batched 1000: {n} inserts in {elapsed:.2f}s ({batched_rate:.0f}/s), {batched_trips} batches")

        elapsed, trips = timed_write(emu, make_client(emu, "small", batch_size=50), "small@bench", n)
        print(f"batched 50:   {n} inserts in {elapsed:.2f}s ({n / elapsed:.0f}/s), {trips} batches")

        for status, reason in ((429, "rateLimitExceeded"), (503, "backendError")):
            emu.inject_fault("events.insert", status=status, reason=reason, retry_after=0.2, probability=0.15)
        client = make_client(emu, "faulty")
        elapsed, trips = timed_write(emu, client, "faulty@bench", n)
        emu.clear_faults()
        faults = emu.counters.calls("events.insert", 429) + emu.counters.calls("events.insert", 503)
        duplicates = sum(c - 1 for c in Counter(e["id"] for e in emu.events("faulty@bench")).values())
        faulty_rate = n / elapsed
        print(
            f"30% faults:   {n} inserts in {elapsed:.2f}s ({faulty_rate:.0f}/s), {trips} batches, "
            f"{faults} faulted parts re-queued, {duplicates} duplicates"
        )

        latencies = []
        for _ in range(args.gets):
            start = time.perf_counter()
            client.get_event("faulty@bench", "bench000000")
            latencies.append((time.perf_counter() - start) * 1000)
        p50 = statistics.median(latencies)
        print(f"events.get:   p50 {p50:.2f} ms over {args.gets} calls (one keep-alive connection per thread)")

    print(
        f"batched_writes_per_s={batched_rate:.0f} round_trips={batched_trips} "
        f"faulty_writes_per_s={faulty_rate:.0f} "
        f"duplicates={duplicates} get_p50_ms={p50:.2f}"
    )


if __name__ == "__main__":
    main()
