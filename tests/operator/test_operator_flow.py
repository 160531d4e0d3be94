"""The operator end to end: kopf + the real handlers, the Google emulator, the real webhook.

Each test arranges calendars and Secrets, starts the operator, acts once (apply, change an
event, revoke a token, delete, restart) and asserts what a user would check: copies in the
target, channels in Google, the status, Events and mails.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from operator_harness import (
    NAME,
    NAMESPACE,
    PERSONAL,
    SENDGRID_KEY,
    WORK,
    Clock,
    World,
    condition,
    eventually,
    ready,
    request_sync,
    source_status,
    status_writes,
)
from prometheus_client import REGISTRY

log = logging.getLogger(__name__)


def sample(metric: str, **labels: str) -> float:
    """The metric's current value in the operator's registry (0 before its first observation)."""
    return REGISTRY.get_sample_value(metric, labels) or 0.0


def sources_named(world: World, reason: str) -> set[str]:
    """The sources the Events of ``reason`` name (a pass's Events of one reason are one)."""
    messages = " ".join(event["message"] for event in world.events_of(reason))
    return {source for source in (PERSONAL, WORK) if f"source {source}" in messages}


def test_apply_example_registers_channels_copies_events_and_completes_status(world: World) -> None:
    world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    world.add_event(WORK, "rt-work", "Standup", day=3)

    with world.operator():
        world.apply_example()
        obj = world.wait(lambda o: ready(o) and condition(o, "PushActive").get("status") == "True")

    titles = sorted(event["summary"] for event in world.copies())
    assert titles == ["[home] Dentist", "[work] Standup"]
    channels = world.emulator.channels()
    assert sorted(c["calendarId"] for c in channels) == sorted([PERSONAL, WORK])

    status = obj["status"]
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert status["sourceCount"] == 2
    assert status["eventsSynced"] == 2
    assert status["lastSyncTime"]
    assert status["nextChannelExpiry"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "True",
        "Authenticated": "True",
        "PushActive": "True",
    }
    for calendar_id in (PERSONAL, WORK):
        entry = source_status(obj, calendar_id)
        assert entry["syncToken"]
        assert entry["lastSyncTime"]
        assert entry["lastFullSyncTime"]
        assert entry["counts"] == {"created": 1, "updated": 0, "deleted": 0, "skipped": 0}
        assert entry["copies"] == 1
        assert entry["channel"]["id"] in {c["id"] for c in channels}
        assert len(entry["channel"]["tokenHash"]) == 64
    assert "calsync.dev/finalizer" in obj["metadata"]["finalizers"]
    # kopf keeps its bookkeeping in calsync.dev/ annotations; the status is calsync's alone.
    assert "kopf" not in status
    annotations = world.csync()["metadata"]["annotations"]
    assert "calsync.dev/last-handled-configuration" in annotations
    assert all(key.startswith(("calsync.dev/", "push.calsync.dev/")) for key in annotations)
    assert obj["metadata"]["finalizers"] == ["calsync.dev/finalizer"]
    # One Event for the pass that opened both channels, naming each source (rules/notices.merged).
    eventually(lambda: sources_named(world, "ChannelCreated") == {PERSONAL, WORK})
    assert len(world.events_of("ChannelCreated")) == 1
    assert {e["source"]["component"] for e in world.events_of("ChannelCreated")} == {"calsync-operator"}


def test_change_in_source_reaches_target_through_push(world: World) -> None:
    event_id = world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    with world.operator():
        world.apply_example()
        world.wait(lambda o: ready(o) and condition(o, "PushActive").get("status") == "True")
        before = source_status(world.csync(), PERSONAL)
        writes = len(status_writes(world))
        latencies = sample("calsync_push_to_write_seconds_count")
        updates = sample("calsync_operations_total", kind="updated")

        started = time.monotonic()
        world.rename_event(PERSONAL, "rt-personal", event_id, "Dentist (moved)")
        obj = world.wait(lambda o: source_status(o, PERSONAL).get("counts", {}).get("updated") == 1)
        delay = time.monotonic() - started
        log.info("change in source -> copy updated in the target: %.3f s", delay)
        # The push pass wrote the status once (not per source or per step).
        assert len(status_writes(world)) == writes + 1
        assert [e["summary"] for e in world.copies()] == ["[home] Dentist (moved)"]

        # A later change found by a forced pass (its push lost) is no push-to-write sample:
        # the push handled before must not be measured again from its old receipt time.
        world.emulator.drop_pushes(1.0)
        world.rename_event(PERSONAL, "rt-personal", event_id, "Dentist (moved again)")
        request_sync(world)
        world.wait(lambda o: source_status(o, PERSONAL)["counts"]["updated"] == 2)

    assert sample("calsync_push_to_write_seconds_count") == latencies + 1  # this push, nothing else
    assert sample("calsync_operations_total", kind="updated") == updates + 2
    entry = source_status(obj, PERSONAL)
    annotation = obj["metadata"]["annotations"][f"push.calsync.dev/{entry['key']}"]
    assert entry["lastHandledPush"] == annotation
    assert entry["lastFullSyncTime"] == before["lastFullSyncTime"]  # incremental, not a re-list
    assert source_status(obj, WORK)["counts"]["updated"] == 0  # only the pushed source synced


def test_channel_near_expiry_is_renewed_with_overlap_and_no_change_is_missed(world: World) -> None:
    clock = Clock()
    event_id = world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    settings = replace(world.settings, channel_overlap_seconds=60.0)
    with world.operator(settings, clock=clock):
        world.apply_example()
        obj = world.wait(lambda o: ready(o) and condition(o, "PushActive").get("status") == "True")
        old = source_status(obj, PERSONAL)["channel"]

        clock.advance(0.85 * settings.channel_ttl_seconds)  # less than 20 % of the lifetime left
        request_sync(world)
        obj = world.wait(
            lambda o: source_status(o, PERSONAL).get("channel", {}).get("id") not in (None, old["id"])
        )
        entry = source_status(obj, PERSONAL)
        assert entry["previousChannel"]["id"] == old["id"]
        live = {c["id"] for c in world.emulator.channels(PERSONAL)}
        assert live == {old["id"], entry["channel"]["id"]}  # the overlap: both deliver

        world.rename_event(PERSONAL, "rt-personal", event_id, "Dentist (during overlap)")
        world.wait(lambda o: source_status(o, PERSONAL)["counts"]["updated"] == 1)

        clock.advance(settings.channel_overlap_seconds)
        request_sync(world)
        obj = world.wait(lambda o: "previousChannel" not in source_status(o, PERSONAL))
        new_id = source_status(obj, PERSONAL)["channel"]["id"]
        assert {c["id"] for c in world.emulator.channels(PERSONAL)} == {new_id}  # the old one is stopped

        world.rename_event(PERSONAL, "rt-personal", event_id, "Dentist (after renewal)")
        world.wait(lambda o: source_status(o, PERSONAL)["counts"]["updated"] == 2)

    assert [e["summary"] for e in world.copies()] == ["[home] Dentist (after renewal)"]
    eventually(
        lambda: (
            sources_named(world, "ChannelRenewed")
            == sources_named(world, "ChannelStopped")
            == {PERSONAL, WORK}
        )
    )


def test_revoked_refresh_token_alerts_once_and_updating_the_secret_recovers(world: World) -> None:
    with world.operator():
        world.apply_example()
        world.wait(ready)

        world.emulator.revoke_refresh_token("rt-personal")
        world.emulator.expire_access_tokens()  # the next call must refresh, and is refused
        request_sync(world)
        obj = world.wait(lambda o: condition(o, "Authenticated").get("reason") == "AuthExpired")
        message = condition(obj, "Authenticated")["message"]
        assert 'Secret "personal-token"' in message
        assert "calsync auth --client-secrets client.json --secret personal-token -n default" in message
        assert "7 days" in message
        assert condition(obj, "Ready")["status"] == "False"
        assert condition(obj, "Ready")["reason"] == "AuthExpired"
        eventually(lambda: len(world.mail.mails) == 1 and len(world.events_of("AuthExpired")) == 1)

        # Still broken on the next pass: no second mail, no second Event, no token-endpoint storm.
        refused = world.emulator.counters.calls("token", 400)
        stamp = request_sync(world)
        world.wait(lambda o: o["status"].get("lastHandledRequestAt") == stamp)
        assert world.emulator.counters.calls("token", 400) == refused

        world.token_secret("personal-token", "rt-personal-renewed")  # the user re-ran calsync auth
        obj = world.wait(ready)
        assert condition(obj, "Authenticated")["status"] == "True"
        eventually(lambda: len(world.mail.mails) == 2 and len(world.events_of("Recovered")) == 1)

    first, second = world.mail.mails
    assert "AuthExpired" in first["subject"]
    assert "calsync auth --client-secrets client.json --secret personal-token -n default" in str(
        first["content"]
    )
    assert "recovered" in second["subject"]
    assert first["personalizations"][0]["to"] == [{"email": "ops@example.com"}]
    assert world.mail.auth_headers == ["Bearer " + SENDGRID_KEY] * 2
    assert len(world.events_of("AuthExpired")) == 1


def test_deleting_the_resource_stops_channels_deletes_copies_and_releases_the_finalizer(world: World) -> None:
    world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    world.add_event(WORK, "rt-work", "Standup", day=3)
    with world.operator():
        world.apply_example()  # onDelete: deleteCopies
        world.wait(lambda o: ready(o) and condition(o, "PushActive").get("status") == "True")
        assert len(world.copies()) == 2
        assert len(world.emulator.channels()) == 2

        world.kube.delete("CalendarSync", NAME, namespace=NAMESPACE)
        world.kube.wait_for("CalendarSync", NAME, lambda o: o is None, namespace=NAMESPACE, timeout=15)

    assert world.emulator.channels() == []
    assert world.copies() == []
    assert len(world.emulator.events(PERSONAL)) == 1  # the originals are untouched


def test_deletion_does_not_hang_when_google_cannot_stop_the_channels(world: World) -> None:
    with world.operator():
        world.apply_example()
        world.wait(lambda o: ready(o) and condition(o, "PushActive").get("status") == "True")
        world.emulator.inject_fault(method="channels.stop", status=503, reason="backendError")

        world.kube.delete("CalendarSync", NAME, namespace=NAMESPACE)
        world.kube.wait_for("CalendarSync", NAME, lambda o: o is None, namespace=NAMESPACE, timeout=30)
        eventually(lambda: len(world.events_of("CleanupIncomplete")) == 1)
    world.emulator.clear_faults()

    [warning] = world.events_of("CleanupIncomplete")
    assert warning["type"] == "Warning"
    assert "could not be stopped (they expire)" in warning["message"]
    assert len(world.emulator.channels()) == 2  # left to expire on Google's side
    assert world.copies() == []  # the rest of the cleanup (onDelete: deleteCopies) still ran
    # Bounded: the adapter's own attempts per channel (2 in these settings), no retry on top.
    assert world.emulator.counters.calls("channels.stop", 503) == 2 * world.settings.google.max_attempts


def test_a_source_removed_while_the_operator_was_down_gets_its_channel_stopped(world: World) -> None:
    with world.operator():
        world.apply_example()
        world.wait(lambda o: ready(o) and condition(o, "PushActive").get("status") == "True")
    sources = [s for s in world.csync()["spec"]["sources"] if s["calendarId"] != WORK]
    world.kube.patch("CalendarSync", NAME, {"spec": {"sources": sources}}, namespace=NAMESPACE)

    with world.operator():  # it learns the removed source's Secret from the old spec only
        obj = world.wait(lambda o: ready(o) and o["status"].get("sourceCount") == 1)
        eventually(lambda: [c["calendarId"] for c in world.emulator.channels()] == [PERSONAL])
    assert source_status(obj, WORK) == {}


def test_operator_restarted_mid_sync_resumes_from_status_without_duplicates(world: World) -> None:
    for day in range(1, 31):
        world.add_event(PERSONAL, "rt-personal", f"Event {day}", day=day)
    # Small batches and slow writes: the first pass is still writing when the operator stops.
    slow = replace(world.settings, google=replace(world.settings.google, batch_size=2))
    world.emulator.inject_fault(method="events.insert", status=None, latency=0.2)
    with world.operator(slow, stop_when_idle=False):
        world.apply_example()
        eventually(lambda: len(world.copies()) > 0, timeout=15)
    interrupted = len(world.copies())
    log.info("operator stopped after %d of 30 copies were written", interrupted)
    world.emulator.clear_faults()

    with world.operator():
        obj = world.wait(lambda o: ready(o) and source_status(o, PERSONAL).get("copies") == 30)

    copies = world.copies()
    sources = sorted(c["extendedProperties"]["private"]["calsyncEvent"] for c in copies)
    assert len(sources) == 30
    assert len(set(sources)) == 30  # exactly one copy per source event
    assert interrupted < 30
    assert world.emulator.counters.calls("events.insert", 409) == 0  # the index was rebuilt, not guessed
    assert source_status(obj, PERSONAL)["syncToken"]
