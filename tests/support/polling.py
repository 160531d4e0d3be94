"""Waiting for a condition in tests that drive real processes or a real cluster."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def poll(check: Callable[[], Any], *, timeout: float, interval: float, failure: str) -> Any:
    """Call ``check`` every ``interval`` seconds until it returns something truthy, and return
    that; raise ``TimeoutError(failure)`` once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(failure)
        time.sleep(interval)
