"""Helpers of the webhook integration tests: channels, push headers, CalendarSync bodies, and
``serve_webhook`` — the real app under a real uvicorn on 127.0.0.1 (ephemeral port, in the
test's event loop), wired to an in-memory Kubernetes API through the official client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from prometheus_client import CollectorRegistry

from calsync_operator.api.names import token_hash
from calsync_operator.kubeemu import ThreadedKubeEmulator
from calsync_webhook.app import create_app
from calsync_webhook.index import ChannelIndex
from calsync_webhook.patcher import KubePatcher
from calsync_webhook.settings import WebhookSettings
from calsync_webhook.watcher import IndexWatcher

NAMESPACE = "default"


@dataclass
class Channel:
    source_key: str
    id: str
    token: str

    def status(self) -> dict[str, str]:
        return {
            "id": self.id,
            "resourceId": f"resource-{self.id}",
            "expiration": "2026-12-02T09:00:00Z",
            "tokenHash": token_hash(self.token),
        }


@dataclass
class LiveWebhook:
    url: str
    client: httpx.AsyncClient
    registry: CollectorRegistry
    index: ChannelIndex
    kube: ThreadedKubeEmulator
    settings: WebhookSettings = field(default_factory=WebhookSettings)

    async def push(
        self, channel: Channel, *, state: str = "exists", token: str | None = None, number: int = 1
    ) -> httpx.Response:
        return await self.client.post(
            "/push", headers=push_headers(channel, state=state, token=token, number=number)
        )

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def patch_requests(self) -> list[Any]:
        return [r for r in self.kube.requests if r.method == "PATCH"]


def push_headers(
    channel: Channel, *, state: str = "exists", token: str | None = None, number: int = 1
) -> dict[str, str]:
    return {
        "X-Goog-Channel-ID": channel.id,
        "X-Goog-Channel-Token": channel.token if token is None else token,
        "X-Goog-Channel-Expiration": "Wed, 02 Dec 2026 09:00:00 GMT",
        "X-Goog-Message-Number": str(number),
        "X-Goog-Resource-ID": f"resource-{channel.id}",
        "X-Goog-Resource-State": state,
        "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/a%40example.com/events",
    }


def csync_body(name: str, keys: list[str], calendar_ids: list[str] | None = None) -> dict[str, Any]:
    """A valid CalendarSync; sources are ``<key>@example.com`` unless ``calendar_ids`` says."""
    calendar_ids = calendar_ids or [f"{key}@example.com" for key in keys]
    return {
        "apiVersion": "calsync.dev/v1alpha1",
        "kind": "CalendarSync",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "target": {
                "calendarId": "central@example.com",
                "credentials": {"secretRef": {"name": "central-token"}},
            },
            "sources": [
                {"calendarId": calendar_id, "credentials": {"secretRef": {"name": "src-token"}}}
                for calendar_id in calendar_ids
            ],
        },
    }


def channels_status(channels: list[Channel], previous: dict[str, Channel] | None = None) -> dict[str, Any]:
    previous = previous or {}
    sources = []
    for channel in channels:
        entry: dict[str, Any] = {
            "key": channel.source_key,
            "calendarId": f"{channel.source_key}@example.com",
            "channel": channel.status(),
        }
        if channel.source_key in previous:
            entry["previousChannel"] = previous[channel.source_key].status()
        sources.append(entry)
    return {"sources": sources}


MakeCsync = Callable[..., list[Channel]]


@contextlib.asynccontextmanager
async def serve_webhook(
    kube: ThreadedKubeEmulator, settings: WebhookSettings, *, wait_ready: bool = True
) -> AsyncIterator[LiveWebhook]:
    api_client = kube.api_client()
    index = ChannelIndex()
    watcher = IndexWatcher(api_client, index, settings.namespaces, watch_timeout=60)
    patcher = KubePatcher(api_client)
    app = create_app(index=index, patcher=patcher, settings=settings, background=watcher)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        if wait_ready:
            assert await asyncio.to_thread(watcher.wait_ready, 10), "the index did not load"
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield LiveWebhook(url, client, app.state.metrics.registry, index, kube, settings)
    finally:
        server.should_exit = True
        await task
        patcher.close()
        api_client.close()


async def eventually(condition: Callable[[], object], within: float = 10.0) -> None:
    """Wait until ``condition()`` is truthy: for state the watch thread updates (the index)."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"condition not met within {within}s")
