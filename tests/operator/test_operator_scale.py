"""What keeps many CalendarSyncs on one operator cheap: resume from status, bounded passes.

- A restarted operator resumes from the sync tokens in status: each source costs one
  incremental list with its stored token, and the copies of a target are read only when a
  change needs them (1,000 CalendarSyncs restarted together must not list every source's
  window again, nor read every target).
- Passes take a process-wide slot: however many CalendarSyncs start at once, at most
  ``max_concurrent_passes`` passes run together, the others queue (no thundering herd).
- Token Secrets labelled for calsync come from their watch, not from a read: 1,000
  CalendarSyncs starting would otherwise GET 3,000 Secrets the watch has just listed; and no
  CalendarSync handler waits for that listing (a kopf index would make a restart quadratic).
- Nothing in kopf holds a push back (no time-based event batching).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from operator_harness import (
    NAMESPACE,
    PERSONAL,
    WORK,
    World,
    condition,
    eventually,
    ready,
    request_sync,
    source_status,
)
from prometheus_client import REGISTRY

from calsync_operator.controller import sync_pass
from calsync_operator.controller.handlers import build_registry, resource, worker
from calsync_operator.controller.rules.outcomes import PassResult
from calsync_operator.controller.runner import kopf_settings
from calsync_operator.kube.client import KubeApi, SecretData
from calsync_operator.settings import OperatorSettings


def lists(kind: str) -> float:
    return REGISTRY.get_sample_value("calsync_google_lists_total", {"kind": kind}) or 0.0


def test_restart_resumes_each_source_with_one_incremental_list(world: World) -> None:
    world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    world.add_event(WORK, "rt-work", "Standup", day=3)
    with world.operator():
        world.apply_example()
        obj = world.wait(lambda o: ready(o) and len(world.copies()) == 2)
    tokens = {cal: source_status(obj, cal)["syncToken"] for cal in (PERSONAL, WORK)}
    assert all(tokens.values())
    full, filtered, incremental = lists("full"), lists("filtered"), lists("incremental")

    with world.operator():
        # The resume pass covers every source: one incremental list each, from the stored token.
        eventually(lambda: lists("incremental") >= incremental + 2)
        assert lists("full") == full
        assert lists("filtered") == filtered  # idle sources: the target's copies are not read

        # A change after the restart loads that source's copies once, then syncs incrementally.
        world.add_event(PERSONAL, "rt-personal", "Lunch", day=4)
        world.wait(lambda o: len(world.copies()) == 3)

    assert lists("full") == full
    assert lists("filtered") == filtered + 1
    titles = sorted(c["summary"] for c in world.copies())
    assert titles == ["[home] Dentist", "[home] Lunch", "[work] Standup"]


@pytest.fixture
def secret_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the Secrets the operator read from the API server (the real read, counted)."""
    reads: list[str] = []
    real = KubeApi.read_secret

    async def counted(self: KubeApi, namespace: str, name: str) -> SecretData | None:
        reads.append(name)
        return await real(self, namespace, name)

    monkeypatch.setattr(KubeApi, "read_secret", counted)
    return reads


def test_a_watched_token_secret_is_used_without_reads(world: World, secret_reads: list[str]) -> None:
    world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    with world.operator():
        world.apply_example()
        world.wait(lambda o: ready(o) and len(world.copies()) == 1)
        secret_reads.clear()  # the first pass may have run before the watch listed the Secrets
        # `calsync auth` again after Google revoked the old token: the watch carries the new one.
        world.emulator.revoke_refresh_token("rt-work")
        world.emulator.expire_access_tokens()
        world.token_secret("work-token", "rt-work-renewed")
        stamp = request_sync(world)
        obj = world.wait(lambda o: o["status"].get("lastHandledRequestAt") == stamp)
    assert ready(obj)
    assert condition(obj, "Authenticated")["status"] == "True"
    assert secret_reads == []


def test_calendarsync_handlers_do_not_wait_for_the_secrets_listing() -> None:
    # A kopf index would hold every CalendarSync handler until all Secrets are indexed, each
    # Secret waking every waiting worker: quadratic at a restart with 3,000 Secrets.
    registry = build_registry()
    assert not registry._indexing.get_all_handlers()  # kopf's registry has no public listing


def test_an_unlabelled_token_secret_is_read_from_the_api_server(
    world: World, secret_reads: list[str]
) -> None:
    world.apply_example()
    secret = world.kube.get("Secret", "work-token", namespace=NAMESPACE)
    world.kube.delete("Secret", "work-token", namespace=NAMESPACE)
    world.kube.create(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "work-token"}, "data": secret["data"]},
        namespace=NAMESPACE,
    )
    with world.operator():
        world.wait(ready)
    assert secret_reads == ["work-token"]


@pytest.fixture
def passes_in_flight(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """[now, most] passes running at once: the real ``run_pass``, counted on its way in and out."""
    counts = [0, 0]

    async def counted(*args: Any, **kwargs: Any) -> PassResult:
        counts[0] += 1
        counts[1] = max(counts[1], counts[0])
        try:
            return await sync_pass.run_pass(*args, **kwargs)
        finally:
            counts[0] -= 1

    monkeypatch.setattr(resource, "run_pass", counted)
    monkeypatch.setattr(worker, "run_pass", counted)
    return counts


def test_calendarsyncs_created_together_take_turns(world: World, passes_in_flight: list[int]) -> None:
    world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    names = ["first", "second", "third"]
    # Slow listings: without the slots these passes would overlap.
    world.emulator.inject_fault(method="events.list", status=None, latency=0.1)
    with world.operator(replace(world.settings, max_concurrent_passes=1)):
        world.apply_example()
        target = world.example()["spec"]["target"]
        for name in names:
            world.emulator.create_calendar(f"{name}@example.com")  # calendars exist once created
            manifest = world.example(target={**target, "calendarId": f"{name}@example.com"})
            manifest["metadata"]["name"] = name
            world.kube.create(manifest)
        for name in names:
            world.kube.wait_for("CalendarSync", name, lambda o: bool(o and ready(o)), namespace=NAMESPACE)
        world.wait(ready)
    assert passes_in_flight[1] == 1


def test_kopf_adds_no_batching_wait_to_the_push_path() -> None:
    """kopf used to hold every event of an object for ``batching.batch_window`` (0.1 s) waiting
    for more; the pinned kopf removed time-based batching, so a push annotation reaches the
    worker's wake-up handler as soon as the watch delivers it. Should kopf ever batch again,
    this fails: then set the window in ``runner.kopf_settings`` (docs/operator.md, latency)."""
    configured = kopf_settings(OperatorSettings())
    with pytest.warns(DeprecationWarning, match="batching was removed"):
        assert configured.queueing.batch_window >= 0
