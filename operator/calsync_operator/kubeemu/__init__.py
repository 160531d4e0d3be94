"""An in-memory Kubernetes API server for tests, benchmarks and ``calsync demo``.

Built on kmock (by kopf's author) with the behaviour kopf and the official client depend on:
cluster-wide monotonic ``resourceVersion``, ``uid``/``creationTimestamp``/``generateName``,
``generation`` for spec changes only, merge/JSON/strategic patches (422 on a failed JSON-patch
``test``), status subresource separation, finalizers, CRD schema pruning and defaults, label and
field selectors, paginated lists, and watches that resume at a ``resourceVersion`` without replay
or loss. See ``docs/testing.md``. It is generic: nothing here knows what a CalendarSync does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from calsync_operator.lazyexports import lazy_exports

if TYPE_CHECKING:
    from calsync_operator.kubeemu.emulator import ApiError, KubeEmulator
    from calsync_operator.kubeemu.operator_thread import OperatorThread, run_operator
    from calsync_operator.kubeemu.threaded import ThreadedKubeEmulator

__all__ = ["ApiError", "KubeEmulator", "OperatorThread", "ThreadedKubeEmulator", "run_operator"]

# Loaded on first use: the submodules importing ``errors`` from this package, and a CLI module
# under it, must not pull in kopf, kmock and aiohttp just by touching the package.
if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error
    __getattr__ = lazy_exports(
        __name__,
        {
            "ApiError": "calsync_operator.kubeemu.emulator",
            "KubeEmulator": "calsync_operator.kubeemu.emulator",
            "OperatorThread": "calsync_operator.kubeemu.operator_thread",
            "run_operator": "calsync_operator.kubeemu.operator_thread",
            "ThreadedKubeEmulator": "calsync_operator.kubeemu.threaded",
        },
    )
