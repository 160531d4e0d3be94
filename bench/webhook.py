"""Throughput of ``POST /push``: calsync's webhook against a bare Starlette app.

Both apps run under the same uvicorn settings, each in its own process; this process drives
them over loopback with aiohttp at a fixed concurrency, alternating webhook and bare runs so
that noise from other work on the machine hits both alike. The webhook has an index of 1,000
channels (100 CalendarSyncs of 10 sources) and every request is a valid, token-verified push
(rotating over all channels), so each one goes the whole way: headers, index, sha256 compare,
coalescer, and — on the leading edge — the patcher. The patcher is a stub that counts signals
and returns at once: the figure is the webhook's own cost, not the Kubernetes API server's.

    python bench/webhook.py [--concurrency 32] [--seconds 2] [--rounds 6]

Each round prints both throughputs and the server CPU time per request (less sensitive to
other load than throughput). The last line is ``webhook_rps=<x> bare_rps=<y> ratio=<x/y>
p99_ms=<z>``: the best round of each (like timeit: noise only slows a run down) and the p99
latency of the webhook over all rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette

CHANNELS = 1000
SOURCES_PER_CR = 10


def channel_token(i: int) -> str:
    return f"token-{i:04d}-bench"


def build_app(kind: str) -> Starlette:
    """The ASGI app to serve (runs in the server subprocess)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    if kind == "bare":

        async def push(request: Request) -> Response:
            return PlainTextResponse("ok\n")

        async def healthz(request: Request) -> Response:
            return PlainTextResponse("ok\n")

        return Starlette(routes=[Route("/push", push, methods=["POST"]), Route("/healthz", healthz)])

    from calsync_operator.api.names import token_hash
    from calsync_webhook.app import create_app
    from calsync_webhook.index import ChannelIndex, SignalTarget
    from calsync_webhook.settings import WebhookSettings

    class CountingPatcher:
        """Stands in for the Kubernetes API: counts signals, answers at once."""

        def __init__(self) -> None:
            self.signals = 0

        async def signal(self, target: SignalTarget, stamp: str) -> None:
            self.signals += 1

    index = ChannelIndex()
    objects = []
    for cr in range(CHANNELS // SOURCES_PER_CR):
        sources = []
        for s in range(SOURCES_PER_CR):
            i = cr * SOURCES_PER_CR + s
            channel = {
                "id": f"chan-{i:04d}",
                "resourceId": f"res-{i}",
                "expiration": "0",
                "tokenHash": token_hash(channel_token(i)),
            }
            sources.append({"key": f"{i:010x}", "calendarId": f"cal{i}@example.com", "channel": channel})
        objects.append(
            {"metadata": {"namespace": "bench", "name": f"sync-{cr:03d}"}, "status": {"sources": sources}}
        )
    index.replace(objects)
    # CALSYNC_COALESCE_WINDOW_MS applies, as in production (0: every push patches).
    return create_app(index=index, patcher=CountingPatcher(), settings=WebhookSettings.from_env())


def serve(kind: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(kind), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report server cost per request."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(kind: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port)])
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{kind} server did not start") from None
                time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


async def drive(url: str, concurrency: int, seconds: float) -> tuple[float, list[float]]:
    """Requests per second and per-request latencies over ``seconds`` after a short warm-up."""
    import aiohttp

    latencies: list[float] = []
    counter = 0
    measuring = False
    stop_at = 0.0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(offset: int) -> None:
            nonlocal counter
            i = offset
            while time.monotonic() < stop_at:
                n = i % CHANNELS
                headers = {
                    "X-Goog-Channel-ID": f"chan-{n:04d}",
                    "X-Goog-Channel-Token": channel_token(n),
                    "X-Goog-Message-Number": str(i + 1),
                    "X-Goog-Resource-ID": f"res-{n}",
                    "X-Goog-Resource-State": "exists",
                    "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/x/events",
                }
                started = time.perf_counter()
                async with session.post(url + "/push", headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"unexpected status {response.status}")
                if measuring:
                    latencies.append(time.perf_counter() - started)
                    counter += 1
                i += concurrency

        stop_at = time.monotonic() + seconds + 0.5
        tasks = [asyncio.create_task(worker(k)) for k in range(concurrency)]
        await asyncio.sleep(0.5)  # warm-up: connections open, caches hot
        measuring, started = True, time.monotonic()
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    return counter / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--serve", choices=["webhook", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return

    print(f"cpus={os.cpu_count()} concurrency={args.concurrency} seconds={args.seconds} rounds={args.rounds}")
    webhook_rps: list[float] = []
    bare_rps: list[float] = []
    webhook_latencies: list[float] = []
    with server("webhook") as (webhook_url, webhook_pid), server("bare") as (bare_url, bare_pid):
        for round_no in range(1, args.rounds + 1):
            cpu = cpu_seconds(webhook_pid)
            rps, latencies = asyncio.run(drive(webhook_url, args.concurrency, args.seconds))
            webhook_cpu_us = (cpu_seconds(webhook_pid) - cpu) / (len(latencies) or 1) * 1e6
            webhook_rps.append(rps)
            webhook_latencies.extend(latencies)
            cpu = cpu_seconds(bare_pid)
            b_rps, b_latencies = asyncio.run(drive(bare_url, args.concurrency, args.seconds))
            bare_cpu_us = (cpu_seconds(bare_pid) - cpu) / (len(b_latencies) or 1) * 1e6
            bare_rps.append(b_rps)
            print(
                f"round {round_no}: webhook {rps:.0f} req/s ({webhook_cpu_us:.0f} us server CPU/req), "
                f"bare {b_rps:.0f} req/s ({bare_cpu_us:.0f} us server CPU/req)"
            )
    print(
        f"median: webhook {statistics.median(webhook_rps):.0f} req/s, "
        f"bare {statistics.median(bare_rps):.0f} req/s"
    )
    # Best of N, like timeit: other work on the machine only ever makes a run slower.
    x, y = max(webhook_rps), max(bare_rps)
    p99 = statistics.quantiles(webhook_latencies, n=100)[98] * 1000
    print(f"webhook_rps={x:.0f} bare_rps={y:.0f} ratio={x / y:.2f} p99_ms={p99:.1f}")


if __name__ == "__main__":
    main()
