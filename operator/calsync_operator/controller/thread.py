"""Run a real kopf operator in its own thread against a running emulator.

kopf owns an event loop for its whole life; tests, the demo and the emulator need theirs to stay
responsive. So the operator gets a thread and a loop of its own, connects through a pre-filled
credentials vault (no kubeconfig, no global client state), and stops through kopf's
``stop_flag``, which runs the cleanup activities as a SIGTERM would.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Collection, Iterator
from typing import Any, Protocol


class _HasVault(Protocol):
    def kopf_vault(self) -> Any: ...


class OperatorThread:
    """A handle on the running operator: its settings, memo and the failure, if it crashed."""

    def __init__(
        self, thread: threading.Thread, stop_flag: threading.Event, settings: Any, memo: Any
    ) -> None:
        self.thread = thread
        self.stop_flag = stop_flag
        self.settings = settings
        self.memo = memo
        self.error: BaseException | None = None

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()


def _with_scope(operator_kwargs: dict[str, Any], namespaces: Collection[str]) -> dict[str, Any]:
    """kopf's arguments with the scope: the given namespaces, else cluster-wide; standalone
    (no peering) unless told otherwise."""
    scoped: dict[str, Any] = {"standalone": True, **operator_kwargs}
    if namespaces:
        scoped["namespaces"] = list(namespaces)
    else:
        scoped["clusterwide"] = True
    return scoped


@contextlib.contextmanager
def run_operator(
    kube: _HasVault,
    *,
    registry: Any = None,
    settings: Any = None,
    namespaces: Collection[str] = (),
    memo: Any = None,
    startup_timeout: float = 10.0,
    stop_timeout: float = 10.0,
    **operator_kwargs: Any,
) -> Iterator[OperatorThread]:
    """``with run_operator(kube, registry=reg) as op:`` — kopf serves ``kube`` until the block ends.

    ``registry`` defaults to kopf's global registry (the handlers of imported modules). Without
    ``namespaces`` the operator is cluster-wide. Standalone (no peering) unless told otherwise.
    Raises if kopf does not get ready in ``startup_timeout`` or crashes; re-raises its error on exit.
    """
    import kopf

    from calsync_operator.controller.memory import MEMO_CONTEXT, OperatorContext
    from calsync_operator.kube import lean_bodies

    lean_bodies.install()  # as the operator process does
    settings = settings if settings is not None else kopf.OperatorSettings()
    memo = memo if memo is not None else kopf.Memo()
    stop_flag = threading.Event()
    ready_flag = threading.Event()
    operator_kwargs = _with_scope(operator_kwargs, namespaces)

    async def operate() -> None:
        try:
            await kopf.operator(
                registry=registry,
                settings=settings,
                memo=memo,
                vault=kube.kopf_vault(),
                stop_flag=stop_flag,
                ready_flag=ready_flag,
                **operator_kwargs,
            )
        finally:  # the context's Kubernetes session belongs to this loop
            context = memo.get(MEMO_CONTEXT)
            if isinstance(context, OperatorContext):
                await context.kube.close()

    def serve() -> None:
        try:
            asyncio.run(operate())
        except BaseException as exc:  # reported to the owner thread
            handle.error = exc
        finally:
            ready_flag.set()  # unblock the starter if kopf died before getting ready

    thread = threading.Thread(target=serve, name="kopf-operator", daemon=True)
    handle = OperatorThread(thread, stop_flag, settings, memo)
    thread.start()
    try:
        if not ready_flag.wait(startup_timeout):
            raise TimeoutError(f"kopf did not get ready within {startup_timeout}s (see its log)")
        if handle.error is not None:
            raise RuntimeError("kopf failed to start") from handle.error
        yield handle
    finally:
        stop_flag.set()
        thread.join(stop_timeout)
        if thread.is_alive():
            raise TimeoutError(f"kopf did not stop within {stop_timeout}s after the stop flag was raised")
    if handle.error is not None:
        raise RuntimeError("kopf crashed while running") from handle.error
