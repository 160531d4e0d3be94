"""The operator process's memory settings, applied once at start-up (``calsync operator``).

- ``limit_malloc_arenas``: glibc gives threads that allocate at the same time their own malloc
  arena (up to 8 per core) and rarely hands freed memory in them back; the operator's I/O
  threads (Google and Kubernetes calls) would each grow one. Two arenas keep the resident size
  close to what Python actually holds (the same as ``MALLOC_ARENA_MAX=2`` in the environment,
  without depending on how the process is started). Nothing happens off glibc.
- ``return_free_memory``: every 10 s, a garbage collection (the asyncio tasks, futures and
  tracebacks of finished passes form cycles that only the collector frees) and then
  ``malloc_trim`` gives the pages glibc holds free back to the system. A start or a burst of
  1,000 passes leaves the heap full of holes that Python freed but glibc keeps; without the
  trim the resident size stays at that peak for good.
- ``freeze_imports``: the objects alive after the imports (kopf, the Kubernetes and Google
  clients: most of the idle process) move out of the garbage collector's generations, so the
  collections that many CalendarSyncs trigger do not scan them again and again.
- ``hidden_official_client``: kopf imports the official ``kubernetes`` client when it is
  installed (to recognise its model objects, which calsync never hands it), ~32 MB resident
  for a client the operator does not use (``kube/login.py``, ``kube/client.py``); while kopf
  is first imported, ``import kubernetes`` fails, and kopf does without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import gc
import sys
from collections.abc import Iterator
from typing import Any

M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
TRIM_INTERVAL_SECONDS = 10.0
OFFICIAL_CLIENT = "kubernetes"


@functools.cache
def _glibc_function(name: str) -> Any:
    """A glibc function, or None off glibc (musl, macOS)."""
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    return getattr(ctypes.CDLL(library), name, None)


def limit_malloc_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas; False where there is no glibc ``mallopt``."""
    mallopt = _glibc_function("mallopt")
    return mallopt is not None and bool(mallopt(M_ARENA_MAX, count))


def trim_malloc() -> bool:
    """Give free heap pages back to the system; False where there is no glibc ``malloc_trim``."""
    malloc_trim = _glibc_function("malloc_trim")
    if malloc_trim is None:
        return False
    malloc_trim(0)  # its answer (whether anything was released) tells nothing to act on
    return True


async def return_free_memory(interval: float = TRIM_INTERVAL_SECONDS) -> None:
    """Trim the heap every ``interval`` seconds until cancelled (a no-op off glibc)."""
    if _glibc_function("malloc_trim") is None:
        return
    while True:
        await asyncio.sleep(interval)
        gc.collect()
        trim_malloc()


def freeze_imports() -> None:
    """Collect once, then keep everything alive so far out of later collections."""
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def hidden_official_client() -> Iterator[None]:
    """While kopf is imported for the first time, ``import kubernetes`` fails (a ``None`` in
    ``sys.modules``, Python's documented import block); afterwards it works again for whoever
    needs it (the official loader for exec-plugin kubeconfigs). No effect once either one is
    imported."""
    if OFFICIAL_CLIENT in sys.modules or "kopf" in sys.modules:
        yield
        return
    sys.modules[OFFICIAL_CLIENT] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if OFFICIAL_CLIENT in sys.modules and sys.modules[OFFICIAL_CLIENT] is None:
            del sys.modules[OFFICIAL_CLIENT]
