"""An in-memory Kubernetes API server for tests, benchmarks and ``calsync demo``.

Built on kmock (by kopf's author) with the behaviour kopf and the official client depend on:
cluster-wide monotonic ``resourceVersion``, ``uid``/``creationTimestamp``/``generateName``,
``generation`` for spec changes only, merge/JSON/strategic patches (422 on a failed JSON-patch
``test``), status subresource separation, finalizers, CRD schema pruning and defaults, label and
field selectors, paginated lists, and watches that resume at a ``resourceVersion`` without replay
or loss. See ``docs/testing.md``. It is generic: nothing here knows what a CalendarSync does.
"""

from __future__ import annotations

from calsync_operator.controller.thread import OperatorThread, run_operator
from calsync_operator.kubeemu.emulator import ApiError, KubeEmulator
from calsync_operator.kubeemu.threaded import ThreadedKubeEmulator

__all__ = ["ApiError", "KubeEmulator", "OperatorThread", "ThreadedKubeEmulator", "run_operator"]
