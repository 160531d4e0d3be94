"""Pushes as the Google Calendar emulator sends them (its real headers) reach the CalendarSync."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from webhook_harness import Channel, LiveWebhook, channels_status, csync_body, eventually

from calsync_operator.api.names import PUSH_ANNOTATION_PREFIX, source_key
from calsync_operator.emulator import EmulatorServer

CALENDAR = "alice@example.com"


async def test_emulator_pushes_signal_the_source(webhook: LiveWebhook, emulator: EmulatorServer) -> None:
    key = source_key(CALENDAR)
    annotation = PUSH_ANNOTATION_PREFIX + key
    webhook.kube.create(csync_body("demo", [key], calendar_ids=[CALENDAR]))
    token = "channel-token-" + uuid.uuid4().hex
    emulator.create_calendar(CALENDAR)
    emulator.allow_http_push()  # the webhook listens on http://127.0.0.1 (Google: https only)
    auth = {"Authorization": f"Bearer {emulator.issue_access_token()}"}
    events_url = emulator.api_endpoint + f"calendars/{CALENDAR}/events"
    async with httpx.AsyncClient(headers=auth, timeout=10) as google:
        # Like the operator: watch first (Google sends "sync" at once, maybe before status has
        # the channel), then record the channel in status.
        watch = {
            "id": "chan-" + uuid.uuid4().hex,
            "type": "web_hook",
            "address": webhook.url + "/push",
            "token": token,
        }
        watched = (await google.post(events_url + "/watch", json=watch)).json()
        channel = Channel(key, watched["id"], token)
        status = channels_status([channel])
        status["sources"][0]["channel"]["resourceId"] = watched["resourceId"]
        status["sources"][0]["calendarId"] = CALENDAR
        webhook.kube.patch("CalendarSync", "demo", {"status": status}, subresource="status")
        await eventually(lambda: webhook.index.lookup(channel.id))
        await asyncio.to_thread(emulator.wait_for_pushes)
        assert _annotation(webhook, annotation) is None  # the sync handshake writes nothing

        (
            await google.post(
                events_url,
                json={
                    "summary": "Dentist",
                    "start": {"dateTime": "2026-11-26T09:00:00Z"},
                    "end": {"dateTime": "2026-11-26T10:00:00Z"},
                },
            )
        ).raise_for_status()

    found = await webhook.kube.await_for(
        "CalendarSync", "demo", lambda obj: bool(obj and _annotations(obj).get(annotation))
    )
    assert found is not None
    # The annotation lands before the handler counts its outcome: wait for Google's answer too.
    await asyncio.to_thread(emulator.wait_for_pushes)
    assert webhook.metric("calsync_webhook_pushes_total", outcome="signalled") == 1
    assert webhook.metric("calsync_webhook_pushes_total", outcome="forbidden") == 0


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def _annotation(webhook: LiveWebhook, name: str) -> str | None:
    return _annotations(webhook.kube.get("CalendarSync", "demo")).get(name)
