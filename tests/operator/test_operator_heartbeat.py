"""The heartbeat GETs its URL while healthy and stays silent otherwise (real HTTP); healthy is
kopf's liveness probe answering and the Kubernetes API reachable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import kopf
import pytest
from operator_endpoints import Beats

from calsync_operator.heartbeat import all_healthy, liveness_check, run_heartbeat
from calsync_operator.kube.client import KubeApi
from calsync_operator.kube.login import static_login
from calsync_operator.kubeemu import ThreadedKubeEmulator


@pytest.fixture
def monitor() -> Iterator[Beats]:
    beats = Beats()
    yield beats
    beats.close()


async def beat_until(url: str, healthy: bool, done: Callable[[int], bool]) -> None:
    """Run the heartbeat until ``done(number of health checks so far)`` holds at a check (each
    check comes after the previous answer was acted on). The timeout only guards against a hang:
    the tests assert what happened, not how fast."""
    checks, reached = 0, asyncio.Event()

    async def check() -> bool:
        nonlocal checks
        checks += 1
        if done(checks):
            reached.set()
        return healthy

    task = asyncio.create_task(run_heartbeat(url, interval=0.05, healthy=check))
    try:
        await asyncio.wait_for(reached.wait(), 30)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_beats_while_healthy(monitor: Beats) -> None:
    await beat_until(monitor.url, True, lambda _: len(monitor.paths) >= 2)
    assert set(monitor.paths) == {"/api/push/kuma-token?status=up&msg=OK"}


async def test_silent_while_unhealthy(monitor: Beats) -> None:
    # At the third check, the first two answers were acted on: two beats withheld.
    await beat_until(monitor.url, False, lambda checks: checks >= 3)
    assert monitor.paths == []


async def test_liveness_check_follows_the_probe(monitor: Beats) -> None:
    assert await liveness_check(monitor.url)() is True
    assert await liveness_check("http://127.0.0.1:9/healthz")() is False


async def test_healthy_needs_every_check() -> None:
    async def yes() -> bool:
        return True

    async def no() -> bool:
        return False

    assert await all_healthy(yes, yes)() is True
    assert await all_healthy(yes, no)() is False


async def test_kubernetes_reachability_is_part_of_health(kube: ThreadedKubeEmulator) -> None:
    reachable = KubeApi(kube.login())
    assert await reachable.reachable() is True
    await reachable.close()
    nowhere = KubeApi(static_login(kopf.ConnectionInfo(server="http://127.0.0.1:9")))  # nothing listens
    assert await nowhere.reachable() is False  # the operator is cut off
