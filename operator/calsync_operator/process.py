"""The operator process's memory settings, applied once at start-up (``calsync operator``).

- ``limit_malloc_arenas``: glibc gives threads that allocate at the same time their own malloc
  arena (up to 8 per core) and rarely hands freed memory in them back; the operator's I/O
  threads (Google and Kubernetes calls) would each grow one. Two arenas keep the resident size
  close to what Python actually holds (the same as ``MALLOC_ARENA_MAX=2`` in the environment,
  without depending on how the process is started). Nothing happens off glibc.
- ``freeze_imports``: the objects alive after the imports (kopf, the Kubernetes and Google
  clients: most of the idle process) move out of the garbage collector's generations, so the
  collections that many CalendarSyncs trigger do not scan them again and again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit_malloc_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas; False where there is no glibc ``mallopt``."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, count))


def freeze_imports() -> None:
    """Collect once, then keep everything alive so far out of later collections."""
    gc.collect()
    gc.freeze()
