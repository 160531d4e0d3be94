"""``KubeEmulator`` in its own thread and event loop, for sync code and for other loops.

The official ``kubernetes`` client blocks, kopf runs its own loop, and the webhook tests run
uvicorn on theirs: none of them may stall the API server, and the server must not stall them. So
the server gets a thread and a loop; every helper call hops onto that loop and returns its result,
which also keeps the single-loop store free of locks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import pathlib
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from calsync_operator.kubeemu.emulator import KubeEmulator, Objects
from calsync_operator.kubeemu.resources import ResourceType
from calsync_operator.kubeemu.server import KubeApiServer
from calsync_operator.kubeemu.store import Store, WatchEvent

T = TypeVar("T")


class ThreadedKubeEmulator(Objects):
    """``KubeEmulator`` hosted in its own thread and event loop, for sync code and other loops.

    Helpers are thread-safe: each runs on the server loop and returns its result. ``wait_for``
    blocks the calling thread until an object satisfies a condition (it never polls).
    """

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._inner: KubeEmulator | None = None
        self._stop: asyncio.Event | None = None
        self._changed = threading.Condition()
        self._version = 0  # bumped on every write; waiters re-check when it moves

    @property
    def emulator(self) -> KubeEmulator:
        if self._inner is None:
            raise RuntimeError(
                "the emulator is not running: use it as `with ThreadedKubeEmulator() as kube:`"
            )
        return self._inner

    @property
    def store(self) -> Store:  # type: ignore[override]
        return self.emulator.store

    @property
    def url(self) -> str:
        return self.emulator.url

    @property
    def server(self) -> KubeApiServer:
        return self.emulator.server

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the emulator is not running")
        return self._loop

    def _call(self, fn: Callable[[], T]) -> T:
        if threading.current_thread() is self._thread:
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed over to the calling thread
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result()

    def __enter__(self) -> Self:
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._serve, args=(started,), name="kubeemu", daemon=True)
        self._thread.start()
        started.result()
        self.emulator.store.add_listener(self._notify)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join()
        self._thread = self._loop = self._inner = None

    def _serve(self, started: concurrent.futures.Future[None]) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                async with KubeEmulator(**self._kwargs) as inner:
                    self._inner = inner
                    started.set_result(None)
                    await self._stop.wait()
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)
                raise

        asyncio.run(main())

    def _notify(self, rtype: ResourceType, event: WatchEvent) -> None:
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    def wait_for(
        self,
        kind: str,
        name: str,
        condition: Callable[[dict[str, Any] | None], bool],
        *,
        namespace: str | None = "default",
        timeout: float = 10.0,
    ) -> dict[str, Any] | None:
        """Block until ``condition(object or None)`` holds; return that object (None if absent).

        Re-checks after every write to the cluster. Raises ``TimeoutError`` with the last seen
        state, so a failing test shows what the object looked like.
        """
        last: dict[str, Any] | None = None

        def check() -> bool:
            nonlocal last
            last = self.find(kind, name, namespace=namespace)
            return condition(last)

        try:
            self.wait_until(check, timeout=timeout)
        except TimeoutError:
            raise TimeoutError(
                f"{kind} {namespace}/{name} did not reach the condition in {timeout}s; last seen: {last}"
            ) from None
        return last

    def wait_until(self, check: Callable[[], bool], *, timeout: float = 10.0) -> None:
        """Block until ``check()`` is true, re-evaluating it after every write to the cluster.

        For conditions over several objects, e.g. ``lambda: len(kube.list("events")) >= 2``.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                seen_version = self._version
            if check():  # outside the lock: helpers hop to the server loop, which notifies
                return
            with self._changed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the condition did not hold within {timeout}s")
                self._changed.wait_for(self._moved_since(seen_version), timeout=remaining)

    def _moved_since(self, version: int) -> Callable[[], bool]:
        return lambda: self._version != version

    async def await_for(
        self,
        kind: str,
        name: str,
        condition: Callable[[dict[str, Any] | None], bool],
        *,
        namespace: str | None = "default",
        timeout: float = 10.0,  # noqa: ASYNC109 - the same contract as wait_for, passed to it
    ) -> dict[str, Any] | None:
        """``wait_for`` for async tests: waits in a worker thread, the caller's loop keeps running."""
        return await asyncio.to_thread(
            self.wait_for, kind, name, condition, namespace=namespace, timeout=timeout
        )

    # Connecting clients: delegated to the running emulator.
    def kubeconfig(self, *, namespace: str = "default") -> dict[str, Any]:
        return self.emulator.kubeconfig(namespace=namespace)

    def write_kubeconfig(self, path: str | pathlib.Path, *, namespace: str = "default") -> pathlib.Path:
        return self.emulator.write_kubeconfig(path, namespace=namespace)

    def api_client(self) -> Any:
        return self.emulator.api_client()

    def login(self) -> Any:
        return self.emulator.login()

    def kopf_vault(self) -> Any:
        return self.emulator.kopf_vault()

    @property
    def requests(self) -> list[Any]:
        return self._call(lambda: self.emulator.requests)
