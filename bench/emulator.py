"""What the Google Calendar emulator itself costs: single calls, a 1,000-part batch, paging a
large calendar, and write-to-push delay. Everything goes through the real
google-api-python-client over loopback HTTP, as in the tests.

    python bench/emulator.py [--calls 200] [--events 5000]

Prints one line per scenario, then a summary line:
``insert_p50_ms=<a> list_p50_ms=<b> batch_1000_s=<c> page_5000_s=<d> push_p50_ms=<e>``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from typing import Any

import uvicorn
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from calsync_operator.emulator import EmulatorServer
from calsync_operator.emulator.server import bind_socket


def service_for(emu: EmulatorServer) -> Any:
    info = json.loads(emu.token_json(refresh_token="rt-bench"))
    credentials = Credentials.from_authorized_user_info(info).with_token_uri(info["token_uri"])
    return build(
        "calendar",
        "v3",
        credentials=credentials,
        static_discovery=True,
        client_options={"api_endpoint": emu.api_endpoint},
    )


def body(n: int) -> dict[str, Any]:
    day = 1 + n % 28
    return {
        "summary": f"bench {n}",
        "start": {"dateTime": f"2026-12-{day:02d}T09:00:00Z"},
        "end": {"dateTime": f"2026-12-{day:02d}T10:00:00Z"},
    }


def millis(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50={statistics.median(ordered) * 1000:.2f}ms p95={p95 * 1000:.2f}ms"


def timed_calls(calls: int, make: Any) -> list[float]:
    samples = []
    for n in range(calls):
        request = make(n)
        started = time.perf_counter()
        request.execute()
        samples.append(time.perf_counter() - started)
    return samples


def fill(emu: EmulatorServer, service: Any, calendar: str, count: int) -> float:
    started = time.perf_counter()
    for offset in range(0, count, 1000):
        batch = BatchHttpRequest(batch_uri=emu.batch_uri)
        for n in range(offset, min(offset + 1000, count)):
            batch.add(service.events().insert(calendarId=calendar, body=body(n)))
        batch.execute()
    return time.perf_counter() - started


class Receiver:
    """A push endpoint that notes when each ``exists`` message arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.arrived = threading.Event()

        async def push(request: Request) -> Response:
            if request.headers["x-goog-resource-state"] == "exists":
                self.arrivals.append(time.perf_counter())
                self.arrived.set()
            return Response()

        self.socket = bind_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/push"
        app = Starlette(routes=[Route("/push", push, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join()
        self.socket.close()


def push_delays(emu: EmulatorServer, service: Any, calls: int) -> list[float]:
    receiver = Receiver()
    try:
        service.events().watch(
            calendarId="push@bench", body={"id": "bench", "type": "web_hook", "address": receiver.url}
        ).execute()
        delays = []
        for n in range(calls):
            receiver.arrived.clear()
            service.events().insert(calendarId="push@bench", body=body(n)).execute()
            written = time.perf_counter()  # the write's response is back: the change is committed
            receiver.arrived.wait(10)
            delays.append(max(0.0, receiver.arrivals[-1] - written))
        return delays
    finally:
        receiver.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()

    # The push receiver listens on http://127.0.0.1: allowed by option (Google: https only).
    with EmulatorServer(allow_http_push=True) as emu:
        emu.create_calendar("push@bench", "warm@bench", "one@bench", "batch@bench", "big@bench")
        service = service_for(emu)
        service.events().list(calendarId="warm@bench").execute()

        inserts = timed_calls(
            args.calls, lambda n: service.events().insert(calendarId="one@bench", body=body(n))
        )
        print(f"single insert x{args.calls}: {millis(inserts)}")
        lists = timed_calls(
            args.calls, lambda n: service.events().list(calendarId="one@bench", maxResults=10)
        )
        print(f"single list (10 items) x{args.calls}: {millis(lists)}")

        before = emu.counters.http_round_trips
        batch_seconds = fill(emu, service, "batch@bench", 1000)
        print(
            f"batch of 1000 inserts: {batch_seconds:.2f}s "
            f"({1000 / batch_seconds:.0f} calls/s, {emu.counters.http_round_trips - before} round trip)"
        )

        fill(emu, service, "big@bench", args.events)
        started = time.perf_counter()
        request, listed = service.events().list(calendarId="big@bench", maxResults=2500), 0
        while request is not None:
            page = request.execute()
            listed += len(page["items"])
            request = service.events().list_next(request, page)
        page_seconds = time.perf_counter() - started
        print(f"full list of {listed} events in pages of 2500: {page_seconds:.2f}s")

        pushes = push_delays(emu, service, min(args.calls, 100))
        print(f"write response -> push received x{len(pushes)}: {millis(pushes)}")

        print(
            f"insert_p50_ms={statistics.median(inserts) * 1000:.2f} "
            f"list_p50_ms={statistics.median(lists) * 1000:.2f} "
            f"batch_1000_s={batch_seconds:.2f} page_{listed}_s={page_seconds:.2f} "
            f"push_p50_ms={statistics.median(pushes) * 1000:.2f}"
        )


if __name__ == "__main__":
    main()
