"""Fixtures of the webhook integration tests (helpers in ``webhook_harness``).

``webhook`` serves the real app with a real uvicorn on 127.0.0.1, wired to the ``kube`` fixture
(the in-memory Kubernetes API) through the official ``kubernetes`` client: the index watcher
lists and watches CalendarSyncs, the patcher patches them. ``make_csync`` creates a
CalendarSync whose status carries push channels, the way the operator records them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from webhook_harness import Channel, LiveWebhook, MakeCsync, channels_status, csync_body, serve_webhook

from calsync_operator.kubeemu import ThreadedKubeEmulator
from calsync_webhook.settings import WebhookSettings


@pytest.fixture
def make_csync(kube: ThreadedKubeEmulator) -> MakeCsync:
    """Create a CalendarSync with one channel per source key; returns the channels."""

    def make(name: str, keys: list[str]) -> list[Channel]:
        channels = [Channel(key, f"chan-{name}-{key}", f"token-{name}-{key}-secret") for key in keys]
        kube.create(csync_body(name, keys))
        kube.patch("CalendarSync", name, {"status": channels_status(channels)}, subresource="status")
        return channels

    return make


@pytest.fixture
async def webhook(kube: ThreadedKubeEmulator) -> AsyncIterator[LiveWebhook]:
    async with serve_webhook(kube, WebhookSettings()) as live:
        yield live
