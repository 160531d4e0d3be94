"""Watch streams over real HTTP: resume without replay or loss, selectors, errors, the official client."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import kubernetes
import pytest

from calsync_operator.kubeemu import KubeEmulator, ThreadedKubeEmulator

from .conftest import WIDGET_CRD, widget

WIDGETS = "/apis/kubeemu.test/v1/namespaces/default/widgets"
READ_GUARD = 10  # seconds: a hang guard, not an assertion on speed
WATCH: Any = kubernetes.watch.Watch  # the client's watch helper is untyped


@pytest.fixture
async def http(widgets: ThreadedKubeEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(widgets.url, timeout=aiohttp.ClientTimeout(total=READ_GUARD)) as session:
        yield session


async def list_rv(http: aiohttp.ClientSession) -> str:
    async with http.get(WIDGETS) as response:
        body = await response.json()
    return str(body["metadata"]["resourceVersion"])


async def read_events(response: aiohttp.ClientResponse, count: int) -> list[tuple[str, str]]:
    events = []
    for _ in range(count):
        event = json.loads(await response.content.readline())
        events.append((event["type"], event["object"]["metadata"].get("name", "")))
    return events


async def test_watch_from_list_version_replays_nothing(
    widgets: ThreadedKubeEmulator, http: aiohttp.ClientSession
) -> None:
    widgets.create(widget("a"))
    widgets.create(widget("b"))
    since = await list_rv(http)
    async with http.get(WIDGETS, params={"watch": "true", "resourceVersion": since}) as response:
        widgets.create(widget("c"))
        assert await read_events(response, 1) == [("ADDED", "c")]


async def test_watch_delivers_changes_made_between_list_and_watch(
    widgets: ThreadedKubeEmulator, http: aiohttp.ClientSession
) -> None:
    widgets.create(widget("a"))
    widgets.create(widget("b"))
    since = await list_rv(http)
    widgets.create(widget("x"))  # all three happen before the watch connects
    widgets.patch("widgets", "a", {"spec": {"size": 7}})
    widgets.delete("widgets", "b")
    async with http.get(WIDGETS, params={"watch": "true", "resourceVersion": since}) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        widgets.create(widget("live"))
        events = await read_events(response, 4)
    assert events == [("ADDED", "x"), ("MODIFIED", "a"), ("DELETED", "b"), ("ADDED", "live")]


async def test_watch_without_version_starts_with_the_current_state(
    widgets: ThreadedKubeEmulator, http: aiohttp.ClientSession
) -> None:
    widgets.create(widget("a"))
    async with http.get(WIDGETS, params={"watch": "true"}) as response:
        widgets.create(widget("b"))
        assert await read_events(response, 2) == [("ADDED", "a"), ("ADDED", "b")]


async def test_initial_events_end_with_a_bookmark(
    widgets: ThreadedKubeEmulator, http: aiohttp.ClientSession
) -> None:
    widgets.create(widget("a"))
    params = {
        "watch": "true",
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
    }
    async with http.get(WIDGETS, params=params) as response:
        added = json.loads(await response.content.readline())
        bookmark = json.loads(await response.content.readline())
    assert added["type"] == "ADDED"
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_label_selector_turns_transitions_into_added_and_deleted(
    widgets: ThreadedKubeEmulator, http: aiohttp.ClientSession
) -> None:
    widgets.create(widget("a"))
    params = {"watch": "true", "labelSelector": "team in (blue),!legacy"}
    async with http.get(WIDGETS, params=params) as response:
        widgets.patch("widgets", "a", {"metadata": {"labels": {"team": "blue"}}})
        widgets.patch("widgets", "a", {"spec": {"size": 3}})
        widgets.patch("widgets", "a", {"metadata": {"labels": {"legacy": "yes"}}})
        events = await read_events(response, 3)
    assert events == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


async def test_server_timeout_ends_the_stream(
    widgets: ThreadedKubeEmulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(WIDGETS, params={"watch": "true", "timeoutSeconds": "1"}) as response:
        assert await response.content.read() == b""


def test_too_old_resource_version_is_410_in_the_stream() -> None:
    with ThreadedKubeEmulator(history_limit=3) as kube:
        kube.create(WIDGET_CRD)
        for name in "abcdef":
            kube.create(widget(name))
        client = kube.api_client()
        api = kubernetes.client.CustomObjectsApi(client)
        with pytest.raises(kubernetes.client.ApiException) as gone:
            for _ in WATCH().stream(
                api.list_namespaced_custom_object,
                "kubeemu.test",
                "v1",
                "default",
                "widgets",
                resource_version="1",
                timeout_seconds=READ_GUARD,
            ):
                pass
        client.close()
    assert gone.value.status == 410


def test_official_client_lists_then_watches_without_replay(widgets: ThreadedKubeEmulator) -> None:
    widgets.create(widget("old"))
    client = widgets.api_client()
    api = kubernetes.client.CustomObjectsApi(client)
    listed: Any = api.list_namespaced_custom_object("kubeemu.test", "v1", "default", "widgets")
    watch = WATCH()
    seen: list[tuple[str, str]] = []
    connected = threading.Event()

    def writer() -> None:
        connected.wait(READ_GUARD)
        widgets.create(widget("new"))
        widgets.delete("widgets", "new")

    thread = threading.Thread(target=writer)
    thread.start()
    stream = watch.stream(
        api.list_namespaced_custom_object,
        "kubeemu.test",
        "v1",
        "default",
        "widgets",
        resource_version=listed["metadata"]["resourceVersion"],
        timeout_seconds=READ_GUARD,
    )
    connected.set()  # events written before the connection are delivered too: no race to lose
    for event in stream:
        seen.append((event["type"], event["object"]["metadata"]["name"]))
        if len(seen) == 2:
            watch.stop()
    thread.join()
    client.close()
    assert seen == [("ADDED", "new"), ("DELETED", "new")]


async def test_in_loop_emulator_serves_the_callers_loop() -> None:
    async with KubeEmulator() as kube, aiohttp.ClientSession(kube.url) as session:
        kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}})
        async with session.get("/api/v1/namespaces/default/configmaps/c") as response:
            body = await response.json()
    assert body["data"] == {"k": "v"}
