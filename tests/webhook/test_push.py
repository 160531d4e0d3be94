"""POST /push end to end: real uvicorn, the official kubernetes client, the in-memory API."""

from __future__ import annotations

import asyncio
import time

import pytest
from webhook_harness import Channel, LiveWebhook, MakeCsync, channels_status, eventually, push_headers

from calsync_operator.api.names import PUSH_ANNOTATION_PREFIX
from calsync_webhook.patcher import receipt_stamp

PUSHES = "calsync_webhook_pushes_total"


def annotation(webhook: LiveWebhook, name: str, key: str) -> str | None:
    obj = webhook.kube.get("CalendarSync", name)
    return (obj["metadata"].get("annotations") or {}).get(PUSH_ANNOTATION_PREFIX + key)


async def test_valid_push_patches_the_annotation_with_its_receipt_time(
    webhook: LiveWebhook, make_csync: MakeCsync, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    [channel, other] = make_csync("demo", ["aaaaaaaaaa", "bbbbbbbbbb"])
    await eventually(lambda: webhook.index.lookup(channel.id))

    before = receipt_stamp(time.time())
    response = await webhook.push(channel)
    after = receipt_stamp(time.time())

    assert response.status_code == 200
    value = annotation(webhook, "demo", channel.source_key)
    assert value is not None
    assert before <= value <= after
    assert annotation(webhook, "demo", other.source_key) is None  # only the pushed source
    assert len(webhook.patch_requests()) == 1
    assert webhook.metric(PUSHES, outcome="signalled") == 1
    assert channel.token not in caplog.text


async def test_forged_token_is_refused_and_nothing_is_written(
    webhook: LiveWebhook, make_csync: MakeCsync, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))

    forged = await webhook.push(channel, token="guessed-token")
    missing = await webhook.client.post(
        "/push", headers={k: v for k, v in push_headers(channel).items() if k != "X-Goog-Channel-Token"}
    )
    forged_sync = await webhook.push(channel, token="guessed-token", state="sync")

    assert [forged.status_code, missing.status_code, forged_sync.status_code] == [403, 403, 403]
    assert webhook.patch_requests() == []
    assert annotation(webhook, "demo", channel.source_key) is None
    assert webhook.metric(PUSHES, outcome="forbidden") == 3
    assert "guessed-token" not in caplog.text
    assert channel.token not in caplog.text


async def test_unknown_channel_is_answered_200_and_counted(
    webhook: LiveWebhook, make_csync: MakeCsync
) -> None:
    make_csync("demo", ["aaaaaaaaaa"])
    response = await webhook.push(Channel("aaaaaaaaaa", "chan-nobody-knows", "whatever"))
    assert response.status_code == 200
    assert webhook.patch_requests() == []
    assert webhook.metric(PUSHES, outcome="unknown_channel") == 1


async def test_sync_handshake_is_ignored(webhook: LiveWebhook, make_csync: MakeCsync) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))
    response = await webhook.push(channel, state="sync", number=1)
    assert response.status_code == 200
    assert webhook.patch_requests() == []
    assert webhook.metric(PUSHES, outcome="sync") == 1


async def test_not_exists_state_signals_too(webhook: LiveWebhook, make_csync: MakeCsync) -> None:
    # "not_exists": the watched collection is gone; the operator must look, like for "exists".
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))
    assert (await webhook.push(channel, state="not_exists")).status_code == 200
    assert annotation(webhook, "demo", channel.source_key) is not None


async def test_previous_channel_is_accepted_during_the_overlap_and_dropped_after(
    webhook: LiveWebhook, make_csync: MakeCsync
) -> None:
    [old] = make_csync("demo", ["aaaaaaaaaa"])
    new = Channel(old.source_key, "chan-renewed", "token-renewed-secret")
    overlap = channels_status([new], previous={old.source_key: old})
    webhook.kube.patch("CalendarSync", "demo", {"status": overlap}, subresource="status")
    await eventually(lambda: webhook.index.lookup(new.id))

    assert (await webhook.push(old, number=7)).status_code == 200
    first = annotation(webhook, "demo", old.source_key)
    assert first is not None
    # The old channel keeps its own token: the new channel's token does not open it.
    assert (await webhook.push(old, token=new.token)).status_code == 403

    webhook.kube.patch("CalendarSync", "demo", {"status": channels_status([new])}, subresource="status")
    await eventually(lambda: webhook.index.lookup(old.id) is None)
    writes = len(webhook.patch_requests())
    assert (await webhook.push(old, number=8)).status_code == 200  # unknown now: no retry, no write
    assert len(webhook.patch_requests()) == writes
    assert webhook.metric(PUSHES, outcome="unknown_channel") == 1


async def test_index_follows_create_update_delete(webhook: LiveWebhook, make_csync: MakeCsync) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))
    ref = webhook.index.lookup(channel.id)
    assert ref is not None
    assert (ref.target.namespace, ref.target.name, ref.target.source_key) == ("default", "demo", "aaaaaaaaaa")

    renewed = Channel(channel.source_key, "chan-next", "token-next-secret")
    webhook.kube.patch("CalendarSync", "demo", {"status": channels_status([renewed])}, subresource="status")
    await eventually(lambda: webhook.index.lookup(renewed.id) and not webhook.index.lookup(channel.id))

    webhook.kube.delete("CalendarSync", "demo")
    await eventually(lambda: len(webhook.index) == 0)
    assert (await webhook.push(renewed)).status_code == 200
    assert webhook.patch_requests() == []


async def test_api_error_answers_503_so_google_retries(webhook: LiveWebhook, make_csync: MakeCsync) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))
    server = webhook.kube.server
    server["patch", server.resource("calsync.dev", "v1alpha1", "calendarsyncs")] << 500

    response = await webhook.push(channel)

    assert response.status_code == 503
    assert webhook.metric(PUSHES, outcome="api_error") == 1
    assert webhook.metric("calsync_webhook_patches_total", edge="leading", result="error") == 1


async def test_deleted_calendarsync_is_not_retried(webhook: LiveWebhook, make_csync: MakeCsync) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))
    server = webhook.kube.server
    server["patch", server.resource("calsync.dev", "v1alpha1", "calendarsyncs")] << 404
    assert (await webhook.push(channel)).status_code == 200
    assert webhook.metric(PUSHES, outcome="gone") == 1


async def test_probes_and_metrics(webhook: LiveWebhook, make_csync: MakeCsync) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    await eventually(lambda: webhook.index.lookup(channel.id))
    assert (await webhook.client.get("/healthz")).status_code == 200
    assert (await webhook.client.get("/readyz")).status_code == 200
    await webhook.push(channel)
    metrics = await webhook.client.get("/metrics")
    assert metrics.status_code == 200
    for name in (
        "calsync_webhook_pushes_total",
        "calsync_webhook_patches_total",
        "calsync_webhook_coalesced_pushes_total",
        "calsync_webhook_push_handling_seconds_bucket",
        "calsync_webhook_indexed_channels 1.0",
    ):
        assert name in metrics.text
    assert channel.token not in metrics.text


async def test_concurrent_pushes_for_different_sources_each_lead(
    webhook: LiveWebhook, make_csync: MakeCsync
) -> None:
    channels = make_csync("demo", [f"{i:010d}" for i in range(5)])
    await eventually(lambda: len(webhook.index) == 5)
    responses = await asyncio.gather(*(webhook.push(channel) for channel in channels))
    assert [r.status_code for r in responses] == [200] * 5
    assert len(webhook.patch_requests()) == 5
    assert all(annotation(webhook, "demo", c.source_key) for c in channels)
