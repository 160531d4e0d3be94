"""The operator (``controller.runner.serve``) on a thread of the test process."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from calsync_operator.controller.runner import serve
from calsync_operator.settings import OperatorSettings


def start_operator_thread(
    settings: OperatorSettings, configuration: Any, namespace: str
) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """Start the operator watching ``namespace`` on a daemon thread: ``(stop, started, thread)``.
    ``started`` is set once it is ready; set ``stop`` and join ``thread`` to end it."""
    stop, started = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=lambda: asyncio.run(
            serve(settings, configuration, namespaces=[namespace], stop_flag=stop, ready_flag=started)
        ),
        daemon=True,
    )
    thread.start()
    return stop, started, thread
