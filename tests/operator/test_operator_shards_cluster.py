"""Shards on a real API server: each CalendarSync served by exactly one operator process, a
SIGKILLed shard restarted without loss, a reshard with overlap, deletion while sharded, and
the guarded status write (docs/operator.md, "Shards").

The session's control plane (``cluster`` from tests/conftest.py when it is there) or the
cluster of ``CALSYNC_TEST_KUBECONFIG``; skipped with neither. Operators are real
``calsync operator --shard I --shards N`` processes; Google is the emulator; edits flow by push
through the real webhook. ``bench/shards.py`` runs the same scenarios at 300 CalendarSyncs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from operator_endpoints import WebhookThread, free_port
from shard_processes import ShardWorld, manifest, until

from calsync_operator.api.names import FINALIZER, GROUP, PLURAL, VERSION
from calsync_operator.controller.rules.shard import shard_key, shard_of
from calsync_operator.controller.rules.status import guarded_status_write
from calsync_operator.emulator import EmulatorServer
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.kube.client import KubeApi, StatusConflict
from calsync_operator.kube.connect import load_configuration
from calsync_operator.kube.login import OperatorLogin
from calsync_operator.settings import OperatorSettings
from support.cluster import TestCluster
from support.operator_thread import start_operator_thread
from support.shard_ledger import StatusWriteLedger

pytestmark = pytest.mark.cluster


@pytest.fixture
def kubeconfig(cluster: TestCluster) -> str:
    cluster.apply_crd()
    return str(cluster.kubeconfig)


@pytest.fixture
def api(kubeconfig: str) -> Iterator[client.ApiClient]:
    api_client = client.ApiClient(load_configuration(kubeconfig)[0])
    yield api_client
    api_client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def namespace(cluster: TestCluster) -> Iterator[str]:
    with cluster.scratch_namespace("calsync-shards") as name:
        yield name


@pytest.fixture
def world(
    kubeconfig: str, api: client.ApiClient, namespace: str, emulator: EmulatorServer, tmp_path: Path
) -> Iterator[ShardWorld]:
    with WebhookThread(client.ApiClient(load_configuration(kubeconfig)[0]), (namespace,)) as webhook:
        found = ShardWorld(kubeconfig, namespace, emulator, webhook.url, tmp_path, api)
        try:
            yield found
        finally:
            found.stop_all()


def owner(namespace: str, n: int, shards: int) -> int:
    return shard_of(shard_key(namespace, f"cs-{n}", manifest(n)["spec"]), shards)


def settled(world: ShardWorld) -> bool:
    return world.all_ready() and world.copies_match_sources()


def test_each_calendarsync_is_served_by_exactly_one_shard(world: ShardWorld) -> None:
    count = 12
    with StatusWriteLedger(world.api, world.namespace) as ledger:
        operators = [world.start_operator(shard, 3) for shard in range(3)]
        world.add_calendarsyncs(count)
        until(lambda: settled(world), what="every CalendarSync Ready with its copy")
        for n in range(count):
            world.edit(n, f"second {n}")
        until(lambda: settled(world), what="every pushed edit copied")
        objects = world.objects()

    owners = {n: owner(world.namespace, n, 3) for n in range(count)}
    owned = {op.shard: [n for n, index in owners.items() if index == op.shard] for op in operators}
    for n in range(count):
        expected = f"{owner(world.namespace, n, 3)}/3"
        assert ledger.writers[f"cs-{n}"] == {expected}, f"cs-{n} was written by {ledger.writers[f'cs-{n}']}"
        assert objects[f"cs-{n}"]["metadata"]["finalizers"] == [FINALIZER]

    def writes() -> dict[int, float]:
        return {op.shard: op.metric("calsync_status_writes_total", result="written") for op in operators}

    def revisions() -> int:
        return sum(int(obj["status"]["revision"]) for obj in world.objects().values())

    # Every write raised one revision by one: the per-process counts add up to them, exactly.
    until(lambda: sum(writes().values()) == revisions(), 30, "the status write counts add up")
    written = writes()
    for op in operators:
        calls = op.metric("calsync_google_calls_total")
        assert (written[op.shard] > 0) == bool(owned[op.shard]), (op.label, written, owned)
        assert (calls > 0) == bool(owned[op.shard]), (op.label, calls, owned)
        assert op.metric("calsync_shard_info", shard=str(op.shard), shards="3") == 1

    # No finalizer war between owners and non-owners: one more edit is handled, and only the
    # edited CalendarSync changes.
    versions = {name: obj["metadata"]["resourceVersion"] for name, obj in objects.items()}
    world.edit(0, "third 0")
    until(lambda: settled(world), what="the last edit copied")
    after = world.objects()
    changed = sorted(n for n, rv in versions.items() if after[n]["metadata"]["resourceVersion"] != rv)
    assert changed == ["cs-0"]

    # A spec edit that names another target Secret moves the CalendarSync to that Secret's shard.
    before = owners[1]
    secret = next(f"moved-{k}" for k in range(100) if shard_of(f"{world.namespace}/moved-{k}", 3) != before)
    world.copy_secret("tgt-1", secret)
    world.custom.patch_namespaced_custom_object(
        GROUP, VERSION, world.namespace, PLURAL, "cs-1",
        {"spec": {"target": {"credentials": {"secretRef": {"name": secret}}}}},
    )  # fmt: skip
    world.edit(1, "after the move")
    moved = f"{shard_of(f'{world.namespace}/{secret}', 3)}/3"
    until(lambda: settled(world) and world.objects()["cs-1"]["status"]["shard"] == moved, what="cs-1 moved")


def test_a_killed_shard_restarts_and_nothing_is_lost_or_duplicated(world: ShardWorld) -> None:
    count = 8
    operators = [world.start_operator(shard, 2) for shard in range(2)]
    world.add_calendarsyncs(count)
    until(lambda: settled(world), what="every CalendarSync Ready")
    for n in range(count):
        world.edit(n, f"before kill {n}")
    operators[1].kill()
    for n in range(count):
        world.edit(n, f"while down {n}")
    world.start_operator(1, 2)
    for n in range(count):
        world.edit(n, f"after restart {n}")
    until(lambda: settled(world), what="every edit copied once, every CalendarSync Ready")
    assert len(world.emulator.channels()) == count  # one live channel per source, none leaked


def test_reshard_with_overlap_then_delete_everything(world: ShardWorld) -> None:
    count = 8
    old = [world.start_operator(shard, 2) for shard in range(2)]
    world.add_calendarsyncs(count)
    until(lambda: settled(world), what="every CalendarSync Ready under 2 shards")
    for n in range(count):
        world.edit(n, f"before {n}")
    new = [world.start_operator(shard, 3) for shard in range(3)]  # both generations run
    for n in range(count):
        world.edit(n, f"overlap {n}")
    until(lambda: settled(world), what="the overlap's edits copied")
    for process in old:
        process.stop()
    for n in range(count):
        world.edit(n, f"after {n}")
    until(lambda: settled(world), what="every edit copied once after the reshard")

    objects = world.objects()
    for n in range(count):
        assert objects[f"cs-{n}"]["status"]["shard"] == f"{owner(world.namespace, n, 3)}/3"
    assert len(world.emulator.channels()) == count
    conflicts = sum(op.metric("calsync_status_writes_total", result="conflict") for op in new)
    print(f"status write conflicts during the overlap: {conflicts:.0f}")

    # Deletion while sharded: each CalendarSync's new owner cleans up and lets it go.
    custom = world.custom
    for name in world.names:
        custom.delete_namespaced_custom_object(GROUP, VERSION, world.namespace, PLURAL, name)
    until(lambda: not world.objects(), what="every CalendarSync deleted")
    assert world.emulator.channels() == []
    assert all(world.emulator.events(f"shard-tgt-{n}@example.com") == [] for n in range(count))


def test_a_status_write_never_overwrites_a_newer_one(
    api: client.ApiClient, kubeconfig: str, namespace: str
) -> None:
    custom = client.CustomObjectsApi(api)
    created: dict[str, Any] = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, manifest(0)
    )  # type: ignore[assignment]
    kube = KubeApi(OperatorLogin(kubeconfig))
    stale_version = created["metadata"]["resourceVersion"]

    async def write(current: dict[str, Any], desired: dict[str, Any], version: str | None) -> None:
        await kube.write_status(namespace, "cs-0", guarded_status_write(current, desired, version).operations)

    def status() -> dict[str, Any]:
        found: dict[str, Any] = custom.get_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, "cs-0"
        )  # type: ignore[assignment]
        return dict(found.get("status") or {})

    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "cs-0", {"metadata": {"annotations": {"touched": "yes"}}}
    )
    with pytest.raises(StatusConflict):  # the object changed since this replica read it
        asyncio.run(write({}, {"shard": "0/2"}, stale_version))
    fresh = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "cs-0")
    asyncio.run(write({}, {"shard": "0/2"}, fresh["metadata"]["resourceVersion"]))  # type: ignore[index]
    assert status() == {"shard": "0/2", "revision": 1}

    asyncio.run(write(status(), {"shard": "1/3"}, None))  # the new owner, from revision 1
    assert status() == {"shard": "1/3", "revision": 2}
    with pytest.raises(StatusConflict):  # the old owner, still computing from revision 1
        asyncio.run(write({"shard": "0/2", "revision": 1}, {"shard": "0/2", "sourceCount": 1}, None))
    assert status() == {"shard": "1/3", "revision": 2}


def test_the_owner_takes_back_a_status_last_written_by_a_replica_that_is_gone(
    world: ShardWorld, kubeconfig: str
) -> None:
    """The last write of a reshard's overlap can be the old replica's (both served the same
    push; the old one's pass finished last). After it stopped, the owner's next pass — here an
    idle poll, which changes nothing else — must write ``status.shard`` again: a pass that diffed
    against the owner's own last write found nothing to write, and ``status.shard`` named the
    stopped replica until something changed (the ``lastSyncTime`` refresh, two poll intervals)."""
    settings = OperatorSettings(
        webhook_url=world.webhook_url,
        webhook_insecure_loopback=True,  # the test's webhook is http on loopback
        google=GoogleSettings(api_root=world.emulator.root_url, max_attempts=2),
        poll_seconds_override=0.3,
        health_port=free_port(),
        metrics_port=free_port(),
    )
    stop, started, thread = start_operator_thread(settings, kubeconfig, world.namespace)
    try:
        assert started.wait(60)
        world.add_calendarsyncs(1)
        until(lambda: settled(world) and status_of(world)["shard"] == "0/1", what="cs-0 Ready, by 0/1")

        # The old generation's last write, as a replica of 3 shards would have made it.
        current = status_of(world)
        kube = KubeApi(OperatorLogin(world.kubeconfig))
        write = guarded_status_write(current, {**current, "shard": "1/3"}, None)
        asyncio.run(kube.write_status(world.namespace, "cs-0", write.operations))
        lists = world.emulator.counters.calls("events.list")

        def taken_back_or_many_polls() -> bool:  # many: the watch may lag on a loaded machine
            polls = world.emulator.counters.calls("events.list") - lists
            return status_of(world)["shard"] == "0/1" or polls >= 20

        until(taken_back_or_many_polls, what="status.shard written again, or 20 more listings")
        status = status_of(world)
        assert status["shard"] == "0/1", status
        assert status["revision"] > write.status["revision"]
    finally:
        stop.set()
        thread.join(30)


def status_of(world: ShardWorld) -> dict[str, Any]:
    return dict(world.objects()["cs-0"].get("status") or {})
