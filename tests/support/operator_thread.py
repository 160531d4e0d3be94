"""The operator (``controller.runner.serve``) on a thread of the test process."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from calsync_operator.controller.runner import serve
from calsync_operator.kube.login import OperatorLogin
from calsync_operator.settings import OperatorSettings


def start_operator_thread(
    settings: OperatorSettings, kubeconfig: str | Path, namespace: str
) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """Start the operator watching ``namespace`` on a daemon thread, logged in with
    ``kubeconfig`` as ``calsync operator --kubeconfig`` does: ``(stop, started, thread)``.
    ``started`` is set once it is ready; set ``stop`` and join ``thread`` to end it."""
    stop, started = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=lambda: asyncio.run(
            serve(
                settings,
                OperatorLogin(str(kubeconfig)),
                namespaces=[namespace],
                stop_flag=stop,
                ready_flag=started,
            )
        ),
        daemon=True,
    )
    thread.start()
    return stop, started, thread
