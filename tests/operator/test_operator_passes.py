"""How passes share one CalendarSync's memory: retries per source, the one status writer (and
what a pass does when another replica wrote first), and channels that could not be stopped.
Each test pins a bug found while reading the pass code."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import pytest
from kopf._core.engines.posting import settings_var
from operator_harness import (
    NAME,
    NAMESPACE,
    PERSONAL,
    WORK,
    Clock,
    World,
    condition,
    ready,
    source_status,
    with_changes,
)

from calsync_operator.api.names import source_key, token_hash
from calsync_operator.api.status import ChannelRecord, SourceStatus
from calsync_operator.controller.channel_step import ChannelTimes, reconcile_channels
from calsync_operator.controller.handlers.resource import reconcile
from calsync_operator.controller.memory import OperatorContext, resource_memory
from calsync_operator.controller.rules.status import guarded_status_write
from calsync_operator.controller.runner import operator_memo
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.kube.client import KubeApi
from calsync_operator.kubeemu import ThreadedKubeEmulator
from calsync_operator.settings import OperatorSettings


def test_a_push_for_one_source_keeps_the_pending_retry_of_another(world: World) -> None:
    # A long retry delay and a poll a day away: only the retry can bring the failed source back.
    settings = with_changes(world.settings, retry_delay_seconds=600.0, poll_seconds_override=86400.0)
    clock = Clock()
    with world.operator(settings, clock=clock, stop_when_idle=False):
        world.apply_example()
        world.wait(ready)
        # A push for the personal calendar whose listing fails past the adapter's attempts.
        world.emulator.inject_fault(method="events.list", status=503, reason="backendError", count=2)
        world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
        world.wait(lambda o: condition(o, "Ready").get("reason") == "GoogleError")
        # Meanwhile a push for the work calendar is handled.
        world.add_event(WORK, "rt-work", "Standup", day=3)
        world.wait(lambda o: source_status(o, WORK).get("counts", {}).get("created") == 1)

        clock.advance(601)  # the personal source's retry is due; the poll is not
        touch(world)  # any watch event wakes the worker, which looks at its deadlines again

        obj = world.wait(ready)
    assert source_status(obj, PERSONAL).get("lastError") is None
    assert sorted(e["summary"] for e in world.copies()) == ["[home] Dentist", "[work] Standup"]


def touch(world: World) -> None:
    world.kube.patch(
        "CalendarSync",
        "personal-to-central",
        {"metadata": {"annotations": {"example.com/touched": datetime.now(UTC).isoformat()}}},
        namespace=NAMESPACE,
    )


class LockWatchingKube(KubeApi):
    """The real Kubernetes adapter, noting whether the object's lock was held at each status write."""

    lock_held_at_writes: list[bool]
    memo: kopf.Memo

    async def write_status(self, namespace: str, name: str, operations: list[dict[str, Any]]) -> None:
        self.lock_held_at_writes.append(resource_memory(self.memo).lock.locked())
        await super().write_status(namespace, name, operations)


@pytest.fixture
def no_kopf_events() -> Iterator[None]:
    """kopf.event() outside a running operator needs kopf's settings; with posting off it is a no-op."""
    settings = kopf.OperatorSettings()
    settings.posting.enabled = False
    token = settings_var.set(settings)
    yield
    settings_var.reset(token)


@pytest.mark.usefixtures("no_kopf_events")
async def test_an_invalid_spec_is_reported_by_the_status_writer_under_the_objects_lock(
    kube: ThreadedKubeEmulator,
) -> None:
    manifest = {
        "apiVersion": "calsync.dev/v1alpha1",
        "kind": "CalendarSync",
        "metadata": {"name": "bad-regex", "namespace": NAMESPACE},
        "spec": {
            "target": {"calendarId": "t@example.com", "credentials": {"secretRef": {"name": "t"}}},
            "sources": [{"calendarId": "s@example.com", "credentials": {"secretRef": {"name": "s"}}}],
            "filters": {"titleInclude": "("},  # the schema cannot tell a broken regex
        },
    }
    kube.create(manifest)
    body = kopf.Body(kube.get("CalendarSync", "bad-regex", namespace=NAMESPACE))
    spy = LockWatchingKube(kube.login())
    spy.lock_held_at_writes = []
    spy.memo = operator_memo_for(spy)

    with pytest.raises(kopf.PermanentError):
        await reconcile(
            body=body,
            spec=body.spec,
            meta=body.meta,
            status=body.status,
            name="bad-regex",
            namespace=NAMESPACE,
            memo=spy.memo,
            reason="create",
            logger=logging.getLogger("test"),
        )

    # A pass of this object may be running: the InvalidSpec write waits for it, like every write.
    assert spy.lock_held_at_writes == [True]
    written = kube.get("CalendarSync", "bad-regex", namespace=NAMESPACE)["status"]
    assert condition({"status": written}, "Ready")["reason"] == "InvalidSpec"
    assert resource_memory(spy.memo).known_status == written


def operator_memo_for(kube: KubeApi) -> kopf.Memo:
    from calsync_operator.controller.memory import OperatorContext

    return operator_memo(OperatorContext(settings=OperatorSettings(), kube=kube, mailer=None))


def personal_client(world: World) -> GoogleCalendarClient:
    """The personal calendar's client with the operator's settings (few attempts per call)."""
    return GoogleCalendarClient.from_token_json(
        world.emulator.token_json(refresh_token="rt-personal"), source="test", settings=world.settings.google
    )


async def test_a_renewal_keeps_an_older_channel_it_could_not_stop(world: World) -> None:
    client = personal_client(world)
    now = datetime.now(UTC)
    older = ChannelRecord("older", "res-older", now + timedelta(minutes=50), token_hash("x"))
    current = ChannelRecord("current", "res-current", now + timedelta(minutes=5), token_hash("y"))
    entry = SourceStatus(PERSONAL, source_key(PERSONAL), channel=current, previous_channel=older)
    world.emulator.inject_fault(method="channels.stop", status=503, reason="backendError")
    try:
        # Less than 20 % of the current channel's hour is left, and the older one's overlap is
        # long over: stop the older one, open a new one, keep the current one for the overlap.
        step = await reconcile_channels(
            entry=entry,
            client=client,
            settings=world.settings,
            times=ChannelTimes(),
            wanted=True,
            now=now,
        )
    finally:
        world.emulator.clear_faults()

    # The older channel could not be stopped: it stays recorded (and is stopped by a later pass)
    # instead of being dropped from status while Google keeps pushing on it until it expires.
    recorded = {step.entry.channel.id if step.entry.channel else None}
    recorded.add(step.entry.previous_channel.id if step.entry.previous_channel else None)
    assert "older" in recorded


async def test_channel_timing_is_forgotten_with_the_channels_it_describes(world: World) -> None:
    client = personal_client(world)
    now = datetime.now(UTC)
    expired = ChannelRecord("expired", "res-expired", now - timedelta(minutes=1), token_hash("x"))
    current = ChannelRecord("current", "res-current", now + timedelta(minutes=50), token_hash("y"))
    entry = SourceStatus(PERSONAL, source_key(PERSONAL), channel=current, previous_channel=expired)
    times = ChannelTimes(
        created={"expired": now - timedelta(hours=2), "current": now - timedelta(minutes=10)},
        retire_at={"expired": now - timedelta(hours=1)},
    )
    step = await reconcile_channels(
        entry=entry, client=client, settings=world.settings, times=times, wanted=True, now=now
    )

    assert step.entry.previous_channel is None  # Google stopped delivering it by itself
    assert (set(times.created), set(times.retire_at)) == ({"current"}, set())


class RacingKube(KubeApi):
    """The real adapter, but another replica writes a newer status just before our first write."""

    raced = False

    async def write_status(self, namespace: str, name: str, operations: list[dict[str, Any]]) -> None:
        if not self.raced:
            self.raced = True
            found = await self.read_status(namespace, name)
            assert found is not None
            theirs = guarded_status_write(found[0], {"shard": "1/2"}, found[1])
            await super().write_status(namespace, name, theirs.operations)
        await super().write_status(namespace, name, operations)


@pytest.mark.usefixtures("no_kopf_events")
async def test_a_pass_whose_status_write_lost_the_race_stops_the_channels_it_made(world: World) -> None:
    world.apply_example()
    body = kopf.Body(world.kube.get("CalendarSync", NAME, namespace=NAMESPACE))
    racing = RacingKube(world.kube.login())
    memo = operator_memo(OperatorContext(settings=world.settings, kube=racing, mailer=None))

    with pytest.raises(kopf.TemporaryError, match="Another replica"):
        await reconcile(
            body=body,
            spec=body.spec,
            meta=body.meta,
            status=body.status,
            name=NAME,
            namespace=NAMESPACE,
            memo=memo,
            reason="create",
            logger=logging.getLogger("test"),
        )

    # The other replica's status stands; the channels our pass opened are named by no status,
    # so they were stopped instead of pushing into the void until they expire.
    status = world.kube.get("CalendarSync", NAME, namespace=NAMESPACE)["status"]
    assert status == {"shard": "1/2", "revision": 1}
    assert resource_memory(memo).known_status == status
    assert world.emulator.channels() == []
