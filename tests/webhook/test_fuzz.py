"""5,000 random and malformed requests: no write, no server error, no memory growth."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import tracemalloc
from collections import Counter

import aiohttp
import pytest
from webhook_harness import Channel, LiveWebhook, MakeCsync, eventually, push_headers

REQUESTS = 5000
RAW_SHARE = 0.05  # requests sent as raw bytes (not even valid HTTP)
WARM_UP = 1000  # requests before memory is measured: caches, pools and metrics are filled
CONNECTIONS = 20
# Only allocations made by the server's code count: the test's own bookkeeping and log capture
# are not the webhook's memory.
SERVER_CODE = ("calsync_webhook", "starlette", "uvicorn", "h11", "prometheus_client")
MEMORY_BOUND = 256 * 1024  # bytes still held by server code after 4,000 requests (~4 KiB seen)

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
PATHS = [
    "/push",
    "/push",
    "/push",
    "/push/",
    "/PUSH",
    "/push?x=1",
    "/healthz",
    "/readyz",
    "/metrics",
    "/nope",
]
STATES = ["exists", "not_exists", "sync", "", "EXISTS", "deleted", "sync\t", "null"]


def junk(rng: random.Random, longest: int) -> str:
    alphabet = "abcdefXYZ0123456789-_.:/%?=&+ \t'\"<>{}[]\\é€"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest))).strip()


def random_request(
    rng: random.Random, channels: list[Channel]
) -> tuple[str, str, dict[str, str], bytes | None]:
    """A request that must never be a valid push: tokens are never right."""
    method, path = rng.choice(METHODS), rng.choice(PATHS)
    known = rng.choice(channels)
    headers = push_headers(known, state=rng.choice(STATES), token=junk(rng, 80), number=rng.randint(0, 10**6))
    for name in list(headers):
        roll = rng.random()
        if roll < 0.15:
            del headers[name]
        elif roll < 0.3:
            headers[name] = junk(rng, 300 if rng.random() < 0.1 else 40)
    if rng.random() < 0.2:
        headers["X-Goog-Channel-ID"] = junk(rng, 100)  # unknown or over-long ids
    if rng.random() < 0.1:
        headers["X-Goog-Message-Number"] = rng.choice(["-1", "1e9", "9" * 30, "١٢٣", " 7 "])
    body = None
    if rng.random() < 0.2:
        body = rng.randbytes(rng.choice([1, 100, 1024, 1025, 5000]))
    return method, path, headers, body


def raw_garbage(rng: random.Random, channels: list[Channel]) -> bytes:
    known = rng.choice(channels)
    return rng.choice(
        [
            rng.randbytes(rng.randint(1, 2000)),
            b"POST /push HTTP/1.1\r\nHost: x\r\nX-Goog-Channel-ID " + known.id.encode() + b"\r\n\r\n",
            b"POST /push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n0\r\n\r\n",
            b"POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 7\r\n\r\nabcdefg",
            b"POST /push HTTP/9.9\r\n\r\n",
            b"\x00\x01\x02 /push HTTP/1.1\r\n\r\n",
            b"POST /push HTTP/1.1\r\nHost: x\r\nX-Goog-Channel-Token: \xff\xfe\x00\r\n\r\n",
            b"POST /push HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 70000 + b"\r\n\r\n",
        ]
    )


async def send_raw(url: str, data: bytes) -> int | None:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        writer.write_eof()
        line = await asyncio.wait_for(reader.readline(), 10)
        return int(line.split()[1]) if line.startswith(b"HTTP/") else None
    except ConnectionError:
        return None  # the server hung up on garbage: not an error answer
    finally:
        writer.close()


def server_bytes(snapshot: tracemalloc.Snapshot) -> int:
    return sum(
        stat.size
        for stat in snapshot.statistics("filename")
        if any(f"/{package}/" in stat.traceback[0].filename for package in SERVER_CODE)
    )


async def test_fuzz_writes_nothing_and_never_fails(
    webhook: LiveWebhook,
    make_csync: MakeCsync,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Captured log records hold request data (and tracebacks of refused garbage, with their
    # buffers): that is the test's memory, not the server's. Errors are still captured.
    monkeypatch.setattr(logging.getLogger("uvicorn.access"), "disabled", True)
    caplog.set_level(logging.ERROR, logger="uvicorn.error")
    channels = make_csync("demo", ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"])
    await eventually(lambda: len(webhook.index) == 3)
    rng = random.Random(20261125)
    statuses: Counter[int | None] = Counter()
    plan = list(range(REQUESTS))
    memory: list[int] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        while plan:
            n = plan.pop(0)
            if n == WARM_UP:
                tracemalloc.start()
            if rng.random() < RAW_SHARE:
                statuses[await send_raw(webhook.url, raw_garbage(rng, channels))] += 1
                continue
            method, path, headers, body = random_request(rng, channels)
            async with session.request(method, webhook.url + path, headers=headers, data=body) as response:
                await response.read()
                statuses[response.status] += 1

    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:
            await asyncio.gather(*(worker(session) for _ in range(CONNECTIONS)))
        await asyncio.sleep(0.3)  # let any (wrongly) scheduled trailing patch fire before counting
        gc.collect()  # refused requests leave exception/traceback cycles: garbage, not growth
        memory.append(server_bytes(tracemalloc.take_snapshot()))
    finally:
        tracemalloc.stop()

    assert sum(statuses.values()) == REQUESTS
    assert not [status for status in statuses if status is not None and status >= 500], statuses
    assert webhook.patch_requests() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert memory[0] < MEMORY_BOUND, f"{memory[0]} bytes held by server code"
    # Each kind of refusal was exercised.
    for status in (400, 403, 404, 405, 413):
        assert statuses[status] > 0, statuses
