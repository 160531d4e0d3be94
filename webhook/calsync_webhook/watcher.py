"""Keeps the ``ChannelIndex`` current: list, then watch from the list's resourceVersion.

The standard informer pattern with the official ``kubernetes`` client: a full list replaces
the index (objects deleted while nobody watched disappear), then a watch applies each change;
a 410 Gone (the resourceVersion fell out of the server's window) means list again. Any other
failure backs off with jitter (tenacity) and lists again, so an API server restart heals by
itself. One daemon thread per watched scope (a namespace, or the whole cluster), because the
client blocks; ``stop()`` unblocks a waiting watch by shutting its socket down.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client, watch
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, wait_exponential_jitter

from calsync_operator.api.names import GROUP, PLURAL, VERSION
from calsync_webhook.index import ChannelIndex

logger = logging.getLogger(__name__)

LIST_PAGE_SIZE = 500
LIST_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds: a hung list fails and is retried


class IndexWatcher:
    def __init__(
        self,
        api_client: client.ApiClient,
        index: ChannelIndex,
        namespaces: tuple[str, ...] = (),
        *,
        watch_timeout: int = 300,
    ) -> None:
        self._api = client.CustomObjectsApi(api_client)
        self._index = index
        self._scopes: tuple[str | None, ...] = namespaces or (None,)
        self._watch_timeout = watch_timeout
        self._listed = {scope: threading.Event() for scope in self._scopes}
        self._stopping = threading.Event()
        self._watches: dict[str | None, watch.Watch] = {}
        self._threads: list[threading.Thread] = []

    @property
    def ready(self) -> bool:
        """True once every scope's initial list is in the index."""
        return all(event.is_set() for event in self._listed.values())

    def wait_ready(self, timeout: float | None = None) -> bool:
        return all(event.wait(timeout) for event in self._listed.values())

    def start(self) -> None:
        for scope in self._scopes:
            thread = threading.Thread(
                target=self._run, args=(scope,), name=f"calsync-watch-{scope or 'all'}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        for w in list(self._watches.values()):
            w.stop()  # type: ignore[no-untyped-call]
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _run(self, scope: str | None) -> None:
        retrying = Retrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential_jitter(initial=0.5, max=30),
            stop=lambda _: self._stopping.is_set(),
            sleep=self._sleep,
            before_sleep=lambda state: _log_failure(scope, state),
            reraise=False,
        )
        # RetryError only escapes when stopping; the last failure is already logged.
        with contextlib.suppress(RetryError):
            retrying(self._list_and_watch, scope)

    def _sleep(self, seconds: float) -> None:
        """Back-off that ends early when the watcher is stopped."""
        self._stopping.wait(seconds)

    def _list_and_watch(self, scope: str | None) -> None:
        while not self._stopping.is_set():
            resource_version = self._list(scope)
            try:
                self._watch(scope, resource_version)
            except client.ApiException as exc:
                if exc.status != 410:
                    raise
                logger.info("watch of CalendarSyncs in %s expired (410); listing again", _name(scope))

    def _list(self, scope: str | None) -> str:
        list_func, args = self._list_call(scope)
        items: list[Mapping[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": LIST_PAGE_SIZE, "_request_timeout": LIST_TIMEOUT}
            if token:
                kwargs["_continue"] = token
            page = list_func(*args, **kwargs)
            items.extend(page.get("items") or [])
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                break
        self._index.replace(items, scope)
        self._listed[scope].set()
        logger.info(
            "channel index loaded from %d CalendarSyncs in %s (%d channels)",
            len(items),
            _name(scope),
            len(self._index),
        )
        return str(metadata.get("resourceVersion") or "")

    def _watch(self, scope: str | None, resource_version: str) -> None:
        list_func, args = self._list_call(scope)
        w = watch.Watch()  # type: ignore[no-untyped-call]
        self._watches[scope] = w
        try:
            while not self._stopping.is_set():
                for event in w.stream(  # type: ignore[no-untyped-call]
                    list_func,
                    *args,
                    resource_version=resource_version,
                    timeout_seconds=self._watch_timeout,
                    allow_watch_bookmarks=True,
                    # A dead connection otherwise blocks forever; a timeout here only re-lists.
                    _request_timeout=(10, self._watch_timeout + 30),
                ):
                    obj = event.get("raw_object")
                    if isinstance(obj, Mapping):
                        self._index.apply_event(str(event.get("type")), obj)
                    if self._stopping.is_set():
                        break
                resource_version = w.resource_version or resource_version
        finally:
            self._watches.pop(scope, None)

    def _list_call(self, scope: str | None) -> tuple[Callable[..., Any], tuple[str, ...]]:
        """The list function and its positional arguments; ``Watch.stream`` calls the same one
        with ``watch=True`` (and reads its return type from the signature)."""
        if scope is None:
            return self._api.list_cluster_custom_object, (GROUP, VERSION, PLURAL)
        return self._api.list_namespaced_custom_object, (GROUP, VERSION, scope, PLURAL)


def _name(scope: str | None) -> str:
    return f"namespace {scope}" if scope else "all namespaces"


def _log_failure(scope: str | None, state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    logger.warning(
        "listing/watching CalendarSyncs in %s failed (%s); retrying", _name(scope), type(exc).__name__
    )
