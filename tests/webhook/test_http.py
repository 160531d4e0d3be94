"""What /push refuses at the HTTP level: 413 bodies, 405 methods, 400 headers — nothing written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from webhook_harness import LiveWebhook, MakeCsync, eventually, push_headers, serve_webhook

from calsync_operator.kubeemu import ThreadedKubeEmulator
from calsync_webhook.settings import WebhookSettings

PUSHES = "calsync_webhook_pushes_total"


async def raw_request(webhook: LiveWebhook, data: bytes) -> int:
    """Send raw bytes on a fresh connection; the status code of the first response."""
    host, port = webhook.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def test_body_over_1_kib_is_refused(webhook: LiveWebhook, make_csync: MakeCsync) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))
    headers = push_headers(channel)

    exact = await webhook.client.post("/push", headers=headers, content=b"x" * 1024)
    declared = await webhook.client.post("/push", headers=headers, content=b"x" * 1025)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"y" * 300

    chunked = await webhook.client.post("/push", headers=headers, content=chunks())

    assert exact.status_code == 200  # at the limit is fine (Google sends nothing anyway)
    assert declared.status_code == 413
    assert chunked.status_code == 413
    assert webhook.metric(PUSHES, outcome="too_large") == 2
    assert len(webhook.patch_requests()) == 1  # the 1 KiB one only


async def test_a_huge_declared_length_is_refused_without_waiting_for_the_body(
    webhook: LiveWebhook, make_csync: MakeCsync
) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))
    head = "".join(f"{k}: {v}\r\n" for k, v in push_headers(channel).items())
    # Claims 10 MB, sends 10 bytes and keeps the connection open: answered at once.
    request = f"POST /push HTTP/1.1\r\nHost: x\r\n{head}Content-Length: 10000000\r\n\r\n".encode()
    request += b"0123456789"
    assert await raw_request(webhook, request) == 413
    assert webhook.patch_requests() == []


async def test_a_body_longer_than_its_content_length_is_not_a_push(webhook: LiveWebhook) -> None:
    # Claims 5 bytes, sends 5,000: the server reads 5 as the body; the rest is garbage, not a
    # second request that could slip past the limit.
    request = b"POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n" + b"z" * 5000
    assert await raw_request(webhook, request) == 400  # no X-Goog headers
    assert webhook.patch_requests() == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(webhook: LiveWebhook, method: str) -> None:
    response = await webhook.client.request(method, "/push")
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize("drop", ["X-Goog-Channel-ID", "X-Goog-Resource-State", "X-Goog-Message-Number"])
async def test_missing_headers_are_400_and_nothing_is_written(
    webhook: LiveWebhook, make_csync: MakeCsync, drop: str
) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))
    headers = {k: v for k, v in push_headers(channel).items() if k != drop}
    response = await webhook.client.post("/push", headers=headers)
    assert response.status_code == 400
    assert drop.lower() in response.text.lower()
    assert webhook.patch_requests() == []
    assert webhook.metric(PUSHES, outcome="malformed") == 1


async def test_invalid_state_is_400(webhook: LiveWebhook, make_csync: MakeCsync) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))
    assert (await webhook.push(channel, state="deleted")).status_code == 400
    assert webhook.patch_requests() == []


async def test_index_is_loaded_from_the_initial_list_before_ready(
    kube: ThreadedKubeEmulator, make_csync: MakeCsync
) -> None:
    [channel] = make_csync("early", ["aaaaaaaaaa"])  # exists before the webhook starts
    async with serve_webhook(kube, WebhookSettings()) as webhook:
        assert (await webhook.client.get("/readyz")).status_code == 200
        assert webhook.index.lookup(channel.id) is not None
        assert (await webhook.push(channel)).status_code == 200
        assert len(webhook.patch_requests()) == 1


async def test_namespaces_limit_what_is_indexed(kube: ThreadedKubeEmulator, make_csync: MakeCsync) -> None:
    [channel] = make_csync("elsewhere", ["aaaaaaaaaa"])  # in "default"
    kube.create_namespace("team-a")
    async with serve_webhook(kube, WebhookSettings(namespaces=("team-a",))) as webhook:
        assert (await webhook.client.get("/readyz")).status_code == 200
        assert webhook.index.lookup(channel.id) is None
        assert (await webhook.push(channel)).status_code == 200  # unknown here
        assert webhook.patch_requests() == []
