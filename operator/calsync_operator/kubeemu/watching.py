"""Watch streams: the changes after a resourceVersion, one JSON event per line, never lost.

A watch subscribes to the store's history and live feed in one synchronous step (see
``Store.subscribe``), so nothing written between a client's list and its watch goes missing and
nothing it already listed is replayed. Selectors are applied per event, with the API server's
transitions: an object that starts matching arrives as ADDED, one that stops as DELETED.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from calsync_operator.kubeemu import errors
from calsync_operator.kubeemu.internals import rendering
from calsync_operator.kubeemu.resources import ResourceType
from calsync_operator.kubeemu.store import Store, WatchEvent


class WatchStreams:
    def __init__(self, store: Store) -> None:
        self.store = store
        # Live queues; ``close_all()`` ends them so the HTTP server can shut down at once.
        self._queues: set[asyncio.Queue[WatchEvent | None]] = set()

    async def stream(
        self,
        rtype: ResourceType,
        namespace: str | None,
        predicate: Callable[[Mapping[str, Any]], bool],
        params: Mapping[str, str],
    ) -> AsyncIterator[rendering.Payload]:
        queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        since = params.get("resourceVersion") or ""
        initial_events = params.get("sendInitialEvents") == "true"
        timeout = float(params["timeoutSeconds"]) if params.get("timeoutSeconds", "").isdigit() else None
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout

        yield b""  # send the response headers now, even if no event comes for a while
        # List (if needed) and subscribe in one synchronous step: nothing can slip in between.
        initial: list[dict[str, Any]] = []
        try:
            if since in ("", "0") or initial_events:
                initial, revision, _, _ = self.store.list_objects(rtype, namespace, predicate)
                backlog, unsubscribe = self.store.subscribe(rtype, None, queue.put_nowait)
            else:
                revision = int(since) if since.isdigit() else -1
                if revision < 0:
                    raise errors.bad_request(f"invalid resourceVersion: {since!r}")
                backlog, unsubscribe = self.store.subscribe(rtype, revision, queue.put_nowait)
        except errors.ApiError as exc:
            yield {"type": "ERROR", "object": exc.as_status()}
            return
        self._queues.add(queue)
        try:
            for obj in initial:
                yield {"type": "ADDED", "object": obj}
            if initial_events and params.get("allowWatchBookmarks") == "true":
                yield {
                    "type": "BOOKMARK",
                    "object": {
                        "apiVersion": rtype.api_version,
                        "kind": rtype.kind,
                        "metadata": {
                            "resourceVersion": str(revision),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    },
                }
            for event in backlog:
                translated = translate(event, namespace, predicate)
                if translated is not None:
                    yield translated
            while True:
                live: WatchEvent | None
                if deadline is None:
                    live = await queue.get()
                else:
                    remaining = deadline - asyncio.get_running_loop().time()
                    if remaining <= 0:
                        return
                    try:
                        live = await asyncio.wait_for(queue.get(), remaining)
                    except TimeoutError:
                        return
                if live is None:  # the server is shutting down: end the stream like a timeout
                    return
                translated = translate(live, namespace, predicate)
                if translated is not None:
                    yield translated
        finally:
            unsubscribe()
            self._queues.discard(queue)

    def close_watches(self) -> None:
        for queue in list(self._queues):
            queue.put_nowait(None)

    def close_all(self) -> None:
        for queue in list(self._queues):
            queue.put_nowait(None)


def translate(
    event: WatchEvent, namespace: str | None, predicate: Callable[[Mapping[str, Any]], bool]
) -> dict[str, Any] | None:
    """Filter one store event for a watcher; selector transitions become ADDED/DELETED."""
    if namespace is not None and event.namespace != namespace:
        return None
    now_matches = predicate(event.object)
    if event.type == "ADDED":
        return {"type": "ADDED", "object": event.object} if now_matches else None
    if event.type == "DELETED":
        return {"type": "DELETED", "object": event.object} if now_matches else None
    was_matching = event.old is not None and predicate(event.old)
    if now_matches and was_matching:
        return {"type": "MODIFIED", "object": event.object}
    if now_matches:
        return {"type": "ADDED", "object": event.object}
    if was_matching:
        return {"type": "DELETED", "object": event.object}
    return None
