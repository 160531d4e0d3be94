"""Push notification channels: registration, expiry, and delivery like Google's.

``events.watch`` registers a channel and queues the ``sync`` message at once (so it may reach
the receiver before the watch response does, as with Google); every change of the calendar
queues an ``exists`` message for each live channel. Delivery runs on worker tasks with httpx,
never inside the request that caused the change. Message numbers grow with random gaps;
a configurable share of messages is dropped (Google's pushes are lossy); a receiver's
500/502/503/504 is retried a few times with backoff, as Google does, other answers are final.
Google delivers only to HTTPS addresses, so ``events.watch`` refuses any other; the explicit
``allow_http_loopback`` option lets tests and the demo use ``http://127.0.0.1`` receivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from calsync_operator.emulator.counters import Counters
from calsync_operator.emulator.errors import ApiError, bad_request

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
MAX_TTL_SECONDS = 30 * 24 * 3600
_CHANNEL_ID = re.compile(r"^[A-Za-z0-9\-_+/=]{1,64}$")
_RETRIED_STATUSES = (500, 502, 503, 504)
_WORKERS = 4
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def check_address(address: object, allow_http_loopback: bool) -> str:
    """An HTTPS URL (or, when allowed, http on loopback); otherwise Google's 400."""
    if not isinstance(address, str) or not address:
        raise bad_request("Missing channel address.", "required", "address")
    parts = urlsplit(address)
    if parts.scheme == "https" and parts.hostname:
        return address
    if allow_http_loopback and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return address
    raise bad_request(f"WebHook callback must be HTTPS: {address}", "push.webhookUrlNotHttps", "address")


@dataclass
class WatchChannel:
    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    address: str
    token: str | None
    expiration_ms: int
    last_message: int = 0

    def live(self, now_ms: int | None = None) -> bool:
        return self.expiration_ms > (now_ms if now_ms is not None else int(time.time() * 1000))

    def response(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "expiration": str(self.expiration_ms),
        }
        if self.token is not None:
            body["token"] = self.token
        return body

    def to_json(self) -> dict[str, Any]:
        return {**self.response(), "calendarId": self.calendar_id, "address": self.address}


@dataclass(frozen=True)
class Notification:
    channel: WatchChannel  # a copy taken when the message was queued
    state: str  # "sync" | "exists" | "not_exists"
    number: int

    def headers(self) -> dict[str, str]:
        expiry = datetime.fromtimestamp(self.channel.expiration_ms / 1000, UTC)
        headers = {
            "X-Goog-Channel-ID": self.channel.id,
            "X-Goog-Message-Number": str(self.number),
            "X-Goog-Resource-ID": self.channel.resource_id,
            "X-Goog-Resource-State": self.state,
            "X-Goog-Resource-URI": self.channel.resource_uri,
            "X-Goog-Channel-Expiration": format_datetime(expiry, usegmt=True),
        }
        if self.channel.token is not None:
            headers["X-Goog-Channel-Token"] = self.channel.token
        return headers


class _RetryableDelivery(Exception):
    pass


@dataclass
class PushNotifier:
    counters: Counters
    drop_probability: float = 0.0
    delivery_timeout: float = 5.0
    allow_http_loopback: bool = False  # an explicit emulator option: Google requires https
    _channels: dict[str, WatchChannel] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=random.Random)
    _queue: asyncio.Queue[Notification] | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _workers: list[asyncio.Task[None]] = field(default_factory=list)
    _client: httpx.AsyncClient | None = None

    # -- lifecycle (inside the server's event loop) ------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._client = httpx.AsyncClient(timeout=self.delivery_timeout)
        self._workers = [asyncio.create_task(self._deliver_forever()) for _ in range(_WORKERS)]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- channels ----------------------------------------------------------------------------

    def register(
        self, calendar_id: str, resource_id: str, resource_uri: str, body: dict[str, Any]
    ) -> WatchChannel:
        channel_id = body.get("id")
        if not isinstance(channel_id, str) or not _CHANNEL_ID.match(channel_id):
            raise bad_request("Invalid channel id: 1-64 characters of [A-Za-z0-9-_+/=].", "required", "id")
        if body.get("type") not in ("web_hook", "webhook"):
            raise bad_request(
                f"Invalid value for type: {body.get('type')!r} (use web_hook).", location="type"
            )
        address = check_address(body.get("address"), self.allow_http_loopback)
        token = body.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > 256):
            raise bad_request("Invalid channel token: at most 256 characters.", location="token")
        now_ms = int(time.time() * 1000)
        ttl = DEFAULT_TTL_SECONDS
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise bad_request("Invalid params: expected an object.", location="params")
        if "ttl" in params:
            try:
                ttl = max(1, min(int(str(params["ttl"])), MAX_TTL_SECONDS))
            except ValueError as exc:
                raise bad_request(f"Invalid ttl: {params['ttl']!r}", location="params.ttl") from exc
        expiration_ms = now_ms + ttl * 1000
        if body.get("expiration"):
            try:
                requested = int(str(body["expiration"]))
            except ValueError as exc:
                raise bad_request("Invalid expiration: epoch milliseconds.", location="expiration") from exc
            expiration_ms = min(requested, now_ms + MAX_TTL_SECONDS * 1000)
        with self._lock:
            existing = self._channels.get(channel_id)
            if existing is not None and existing.live(now_ms):
                raise bad_request(f"Channel id {channel_id} not unique", "channelIdNotUnique", "id")
            channel = WatchChannel(
                channel_id, resource_id, resource_uri, calendar_id, address, token, expiration_ms
            )
            self._channels[channel_id] = channel
            sync = self._next_message(channel, "sync")
        self._enqueue(sync)
        return channel

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        with self._lock:
            channel = self._channels.get(channel_id)
            if channel is None or channel.resource_id != resource_id:
                raise ApiError(
                    404, "notFound", f"Channel '{channel_id}' not found for project 'calsync-emulator'"
                )
            del self._channels[channel_id]

    def channels(self, calendar_id: str | None = None) -> list[dict[str, Any]]:
        now_ms = int(time.time() * 1000)
        with self._lock:
            return [
                c.to_json()
                for c in self._channels.values()
                if c.live(now_ms) and (calendar_id is None or c.calendar_id == calendar_id)
            ]

    def reset(self) -> None:
        with self._lock:
            self._channels.clear()
            self.drop_probability = 0.0

    def changed(self, calendar_id: str) -> None:
        """A calendar changed: queue ``exists`` to every live channel on it."""
        now_ms = int(time.time() * 1000)
        with self._lock:
            for channel_id, channel in list(self._channels.items()):
                if not channel.live(now_ms):
                    del self._channels[channel_id]  # expired channels stop delivering
                elif channel.calendar_id == calendar_id:
                    self._enqueue(self._next_message(channel, "exists"))

    def _next_message(self, channel: WatchChannel, state: str) -> Notification:
        # Google's numbers grow but skip; the first (sync) message is number 1.
        channel.last_message += 1 if state == "sync" else self._random.randint(1, 3)
        return Notification(replace(channel), state, channel.last_message)

    def _enqueue(self, notification: Notification) -> None:
        if self._random.random() < self.drop_probability:
            self.counters.push("dropped")
            return
        if self._queue is None or self._loop is None:
            return  # the server is not running: nothing can be delivered
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._queue.put_nowait(notification)
        else:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, notification)

    # -- delivery ----------------------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        assert self._queue is not None
        while True:
            notification = await self._queue.get()
            try:
                await self._deliver(notification)
            finally:
                self._queue.task_done()

    async def _deliver(self, notification: Notification) -> None:
        assert self._client is not None
        if not notification.channel.live():
            return
        client = self._client

        async def post() -> None:
            response = await client.post(notification.channel.address, headers=notification.headers())
            if response.status_code in _RETRIED_STATUSES:
                raise _RetryableDelivery(str(response.status_code))

        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(lambda e: isinstance(e, _RetryableDelivery | httpx.TransportError)),
                stop=stop_after_attempt(3),
                wait=wait_exponential(multiplier=0.1, max=1.0),
                reraise=True,
            ):
                with attempt:
                    await post()
        except (_RetryableDelivery, httpx.HTTPError):
            self.counters.push("failed")
        else:
            self.counters.push("sent")

    async def drain(self) -> None:
        """Wait until every queued message was delivered (or given up)."""
        if self._queue is not None:
            await self._queue.join()
