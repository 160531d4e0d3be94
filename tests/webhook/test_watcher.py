"""The index watcher heals itself: 410 Gone re-lists, API failures back off and retry."""

from __future__ import annotations

from typing import Any

import pytest
from webhook_harness import MakeCsync, eventually, serve_webhook

from calsync_operator.kubeemu import ThreadedKubeEmulator
from calsync_webhook.settings import WebhookSettings


def calendarsyncs(kube: ThreadedKubeEmulator) -> Any:
    return kube.server.resource("calsync.dev", "v1alpha1", "calendarsyncs")


def requests_of(kube: ThreadedKubeEmulator, action: str) -> list[Any]:
    return [r for r in kube.requests if r.action == action and r.resource == calendarsyncs(kube)]


async def test_an_expired_watch_lists_again(
    kube: ThreadedKubeEmulator, make_csync: MakeCsync, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="calsync_webhook")
    kube.server["watch", calendarsyncs(kube)][:1] << 410
    async with serve_webhook(kube, WebhookSettings()) as webhook:
        [channel] = make_csync("demo", ["aaaaaaaaaa"])
        await eventually(lambda: webhook.index.lookup(channel.id))
        assert len(requests_of(kube, "LIST")) >= 2
        assert "expired (410); listing again" in caplog.text
        assert (await webhook.push(channel)).status_code == 200
        assert len(webhook.patch_requests()) == 1


async def test_not_ready_until_the_first_list_succeeds(
    kube: ThreadedKubeEmulator, make_csync: MakeCsync
) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    kube.server["list", calendarsyncs(kube)][:2] << 500
    async with serve_webhook(kube, WebhookSettings(), wait_ready=False) as webhook:
        first = await webhook.client.get("/readyz")
        early_push = await webhook.push(channel)
        await eventually(lambda: webhook.index.lookup(channel.id))
        assert first.status_code == 503
        assert early_push.status_code == 503  # Google delivers it again once the index is loaded
        assert webhook.metric("calsync_webhook_pushes_total", outcome="not_ready") == 1
        assert (await webhook.push(channel)).status_code == 200
        assert (await webhook.client.get("/readyz")).status_code == 200
        assert len(requests_of(kube, "LIST")) >= 3
