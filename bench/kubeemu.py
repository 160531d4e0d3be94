"""Figures for the in-memory Kubernetes API (``calsync_operator.kubeemu``).

Tests and ``calsync demo`` start one emulator per run, patch status on every sync and watch
everything, so three numbers matter: how long the server takes to start (bundled resources plus
the CalendarSync CRD), how many writes per second a client gets over real HTTP, and how long a
write takes to reach a watcher. Each is measured over loopback with real clients (aiohttp for
writes and the watch stream). For the write figures the server runs in a separate process, so the
client does not compete with it for the GIL: in one process two busy threads hand the GIL over
every 5 ms (``sys.getswitchinterval()``), which would measure Python's scheduler, not the server.

    python bench/kubeemu.py [--starts 10] [--writes 2000] [--concurrency 8]

The last line is ``start_ms=<median> writes_per_s=<x> watch_p50_ms=<y> watch_p99_ms=<z>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.connection
import statistics
import time

import aiohttp

from calsync_operator.kubeemu import ThreadedKubeEmulator

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}


def measure_starts(count: int) -> list[float]:
    durations = []
    for _ in range(count):
        began = time.perf_counter()
        with ThreadedKubeEmulator():
            durations.append(time.perf_counter() - began)
    return durations


async def measure_writes(url: str, writes: int, concurrency: int) -> tuple[float, list[float]]:
    """Merge-patch one ConfigMap ``writes`` times while a watcher times each event's arrival."""
    latencies: list[float] = []
    sent_at: dict[str, float] = {}
    async with aiohttp.ClientSession(url) as session:
        async with session.post(CONFIGMAPS, json={"metadata": {"name": "bench"}, "data": {"n": "0"}}) as rsp:
            since = (await rsp.json())["metadata"]["resourceVersion"]
        params = {"watch": "true", "resourceVersion": since}
        async with session.get(CONFIGMAPS, params=params) as stream:

            async def watch() -> None:
                while len(latencies) < writes:
                    event = json.loads(await stream.content.readline())
                    stamp = sent_at.pop(event["object"]["data"]["n"], None)
                    if stamp is not None:
                        latencies.append(time.perf_counter() - stamp)

            async def write(worker: int) -> None:
                for i in range(worker, writes, concurrency):
                    sent_at[str(i + 1)] = time.perf_counter()
                    body = {"data": {"n": str(i + 1)}}
                    async with session.patch(f"{CONFIGMAPS}/bench", json=body, headers=MERGE) as rsp:
                        rsp.raise_for_status()

            watcher = asyncio.create_task(watch())
            began = time.perf_counter()
            await asyncio.gather(*(write(worker) for worker in range(concurrency)))
            elapsed = time.perf_counter() - began
            await asyncio.wait_for(watcher, 30)
    return writes / elapsed, latencies


def serve(conn: multiprocessing.connection.Connection) -> None:
    """Child process: run the emulator until the parent says stop."""
    with ThreadedKubeEmulator() as kube:
        conn.send(kube.url)
        conn.recv()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    starts = measure_starts(args.starts)
    print(f"start: median {statistics.median(starts) * 1000:.0f} ms over {args.starts} starts")
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(child,))
    server.start()
    try:
        rate, latencies = asyncio.run(measure_writes(parent.recv(), args.writes, args.concurrency))
    finally:
        parent.send("stop")
        server.join(30)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"writes: {rate:.0f}/s at concurrency {args.concurrency}; "
        f"write-to-watch p50 {p50:.1f} ms p99 {p99:.1f} ms"
    )
    print(
        f"start_ms={statistics.median(starts) * 1000:.0f} writes_per_s={rate:.0f} "
        f"watch_p50_ms={p50:.1f} watch_p99_ms={p99:.1f}"
    )


if __name__ == "__main__":
    main()
