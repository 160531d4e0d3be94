"""Spec switches and operator duties beyond the main flow: suspend, dry run, a bad spec,
coalesced pushes, refresh-token rotation, and no secret anywhere it could leak."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from operator_harness import (
    CENTRAL,
    NAME,
    NAMESPACE,
    PERSONAL,
    SENDGRID_KEY,
    TOKENS,
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
from prometheus_client import REGISTRY, generate_latest

from calsync_operator.api.names import push_annotation
from calsync_operator.api.times import parse_time
from calsync_operator.sync.port import WriteKind, WriteOp
from calsync_operator.sync.rolling import next_full_sync


def expiry_series() -> list[str]:
    """This CalendarSync's lines of the channel expiry gauge, as Prometheus scrapes them."""
    text = generate_latest(REGISTRY).decode()
    return [
        line
        for line in text.splitlines()
        if line.startswith("calsync_channel_seconds_to_expiry{") and f'name="{NAME}"' in line
    ]


def _push_active(obj: dict[str, Any]) -> bool:
    return ready(obj) and condition(obj, "PushActive").get("status") == "True"


def test_suspend_stops_channels_and_syncing_and_resume_catches_up(world: World) -> None:
    event_id = world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    with world.operator():
        world.apply_example()
        world.wait(_push_active)

        assert expiry_series()  # every source's channel counts down to its expiry
        world.kube.patch("CalendarSync", NAME, {"spec": {"suspend": True}}, namespace=NAMESPACE)
        obj = world.wait(lambda o: condition(o, "Ready").get("reason") == "Suspended")
        assert condition(obj, "PushActive")["reason"] == "Suspended"
        assert world.emulator.channels() == []
        assert expiry_series() == []  # no channel, no series
        world.rename_event(PERSONAL, "rt-personal", event_id, "Dentist (while suspended)")
        assert [e["summary"] for e in world.copies()] == ["[home] Dentist"]

        world.kube.patch("CalendarSync", NAME, {"spec": {"suspend": False}}, namespace=NAMESPACE)
        world.wait(_push_active)
    assert [e["summary"] for e in world.copies()] == ["[home] Dentist (while suspended)"]
    assert len(world.emulator.channels()) == 2
    assert world.mail.mails == []  # suspending is a choice, not a failure


def test_dry_run_writes_the_plan_into_status_and_nothing_to_google(world: World) -> None:
    world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    world.add_event(WORK, "rt-work", "Standup", day=3)
    with world.operator():
        world.apply_example(dryRun=True)
        obj = world.wait(lambda o: condition(o, "Ready").get("reason") == "DryRun")
    plan = obj["status"]["plan"]
    assert plan["counts"]["insert"] == 2
    assert sorted(op["summary"] for op in plan["operations"]) == ["[home] Dentist", "[work] Standup"]
    assert {op["op"] for op in plan["operations"]} == {"insert"}
    assert plan["truncated"] is False
    assert world.copies() == []
    assert world.emulator.channels() == []
    assert world.emulator.counters.calls("events.watch") == 0


def test_invalid_spec_is_reported_in_ready_and_not_retried(world: World, all_logs: list[str]) -> None:
    with world.operator():
        world.apply_example()
        world.wait(ready)
        world.kube.patch(
            "CalendarSync", NAME, {"spec": {"filters": {"titleInclude": "(unclosed"}}}, namespace=NAMESPACE
        )
        obj = world.wait(lambda o: condition(o, "Ready").get("reason") == "InvalidSpec")
        # Like any failure: one Warning Event and one mail, with the field to fix.
        eventually(lambda: len(world.events_of("SyncFailed")) == 1 and len(world.mail.mails) == 1)
        assert "titleInclude" in world.events_of("SyncFailed")[0]["message"]
        assert "InvalidSpec" in world.mail.subjects()[0]

        world.kube.patch(
            "CalendarSync", NAME, {"spec": {"filters": {"titleInclude": "(closed)"}}}, namespace=NAMESPACE
        )
        world.wait(ready)
        eventually(lambda: len(world.mail.mails) == 2 and len(world.events_of("Recovered")) == 1)
    message = condition(obj, "Ready")["message"]
    assert "titleInclude" in message
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    # kopf.PermanentError: kopf gives up on this spec instead of retrying it.
    assert [line for line in all_logs if "failed permanently" in line and "titleInclude" in line]
    assert "recovered" in world.mail.subjects()[1]


def test_pushes_during_a_running_sync_cause_one_more_sync_not_one_each(world: World) -> None:
    with world.operator():
        world.apply_example()
        world.wait(_push_active)
        lists_before = world.emulator.counters.calls("events.list")
        # The first pass hangs on Google long enough for every later push to arrive during it.
        world.emulator.inject_fault(method="events.list", status=None, latency=2.0, count=1)

        stamps = [
            (datetime.now(UTC) + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            for i in range(6)
        ]
        for stamp in stamps:  # what the webhook does on every push it lets through
            world.kube.patch(
                "CalendarSync",
                NAME,
                {"metadata": {"annotations": {push_annotation(PERSONAL): stamp}}},
                namespace=NAMESPACE,
            )
        obj = world.wait(lambda o: source_status(o, PERSONAL).get("lastHandledPush") == stamps[-1])
        world.emulator.clear_faults()
    passes = world.emulator.counters.calls("events.list") - lists_before
    assert 1 <= passes <= 2  # the first push, then one pass for everything that came meanwhile
    assert source_status(obj, WORK).get("lastHandledPush") is None


def test_rotated_refresh_token_is_written_back_to_its_secret(world: World) -> None:
    world.emulator.rotate_refresh_tokens(True)  # Google answers a refresh with a new refresh token
    with world.operator():
        world.apply_example()
        world.wait(ready)

        def rotated() -> bool:
            secret = world.kube.get("Secret", "personal-token", namespace=NAMESPACE)
            token = json.loads(base64.b64decode(secret["data"]["token.json"]))
            return str(token["refresh_token"]).startswith("1//emu-")

        eventually(rotated)
        world.emulator.rotate_refresh_tokens(False)
        world.emulator.revoke_refresh_token("rt-personal")  # the old one is dead now
        world.emulator.expire_access_tokens()
        stamp = request_sync(world)
        obj = world.wait(lambda o: o["status"].get("lastHandledRequestAt") == stamp)
    assert ready(obj)  # the operator uses the rotated token it stored
    assert condition(obj, "Authenticated")["status"] == "True"


def test_no_token_appears_in_logs_status_events_or_metrics(world: World, all_logs: list[str]) -> None:
    event_id = world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    channel_tokens: set[str] = set()
    with world.operator():
        world.apply_example()
        world.wait(_push_active)
        channel_tokens |= {str(c["token"]) for c in world.emulator.channels()}
        world.rename_event(PERSONAL, "rt-personal", event_id, "Dentist (moved)")
        world.wait(lambda o: source_status(o, PERSONAL)["counts"]["updated"] == 1)
        world.emulator.revoke_refresh_token("rt-work")
        world.emulator.expire_access_tokens()
        request_sync(world)
        world.wait(lambda o: condition(o, "Authenticated").get("reason") == "AuthExpired")
        eventually(lambda: len(world.mail.mails) == 1)
        world.token_secret("work-token", "rt-work-renewed")  # a Secret update through the index
        world.wait(ready)
        eventually(lambda: len(world.mail.mails) == 2)
        surfaces = {
            "logs": "\n".join(all_logs),
            "resource": json.dumps(world.csync()),
            "events": json.dumps(world.kube.list("Event", namespace=NAMESPACE)),
            "metrics": generate_latest(REGISTRY).decode(),
            "mails": json.dumps(world.mail.mails),
        }
    # The token JSON's refresh tokens and OAuth client secret (the emulator's default), the
    # SendGrid key, the channel tokens; access tokens by their shape below.
    secrets = {"rt-personal", "rt-work", "rt-work-renewed", "rt-central", "csecret", SENDGRID_KEY}
    secrets |= channel_tokens
    assert len(channel_tokens) == 2
    assert surfaces["logs"]  # the scan saw the operator's logging at DEBUG
    for surface, text in surfaces.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {surface}"
        assert not re.search(r"ya29\.[\w-]+", text), f"an access token leaked into {surface}"
    assert CENTRAL in surfaces["resource"]  # the scan looked at the real thing


def test_mass_deletion_trips_the_guard_until_confirmed_once(world: World) -> None:
    ids = [world.add_event(PERSONAL, "rt-personal", f"Event {day}", day=day) for day in range(1, 11)]
    with world.operator():
        world.apply_example()
        world.wait(lambda o: ready(o) and source_status(o, PERSONAL).get("copies") == 10)

        client = world.calendar("rt-personal")
        client.write([WriteOp(WriteKind.DELETE, PERSONAL, event_id) for event_id in ids[:6]])
        obj = world.wait(lambda o: condition(o, "DeleteGuard").get("status") == "True")
        assert condition(obj, "Ready")["reason"] == "DeleteGuard"
        assert "maxDeleteFraction" in condition(obj, "DeleteGuard")["message"]
        assert len(world.copies()) == 10  # nothing deleted
        eventually(lambda: len(world.events_of("DeleteGuardTripped")) == 1 and len(world.mail.mails) == 1)

        world.kube.patch(
            "CalendarSync",
            NAME,
            {"metadata": {"annotations": {"calsync.dev/confirm-delete": "true"}}},
            namespace=NAMESPACE,
        )
        obj = world.wait(
            lambda o: ready(o) and "calsync.dev/confirm-delete" not in o["metadata"]["annotations"]
        )
    assert condition(obj, "DeleteGuard") == {}
    assert len(world.copies()) == 4
    assert source_status(obj, PERSONAL)["counts"]["deleted"] == 6


def test_a_missing_secret_is_reported_and_creating_it_recovers(world: World) -> None:
    with world.operator():
        for secret, refresh_token in TOKENS.items():
            if secret != "central-token":
                world.token_secret(secret, refresh_token)
        world.kube.create(world.example())
        obj = world.wait(lambda o: condition(o, "Authenticated").get("reason") == "SecretMissing")
        assert 'Secret "central-token" does not exist' in condition(obj, "Authenticated")["message"]
        assert (
            "calsync auth --client-secrets client.json --secret central-token -n default"
            in (condition(obj, "Ready")["message"])
        )

        world.token_secret("central-token", "rt-central")
        world.wait(lambda o: ready(o) and condition(o, "PushActive").get("status") == "True")
    eventually(lambda: len(world.mail.mails) == 2)
    assert "SecretMissing" in world.mail.mails[0]["subject"]
    assert "recovered" in world.mail.mails[1]["subject"]


def test_poll_catches_a_lost_push_and_an_idle_poll_writes_nothing(world: World) -> None:
    event_id = world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    polling = replace(world.settings, poll_seconds_override=0.3)
    with world.operator(polling):
        world.apply_example()
        world.wait(_push_active)

        world.emulator.drop_pushes(1.0)  # Google's pushes are lossy: the poll is the backstop
        world.rename_event(PERSONAL, "rt-personal", event_id, "Dentist (push lost)")
        world.wait(lambda o: source_status(o, PERSONAL)["counts"]["updated"] == 1)

        lists = world.emulator.counters.calls("events.list")
        writes = len(status_writes(world))
        eventually(lambda: world.emulator.counters.calls("events.list") >= lists + 6)  # three more polls
        assert len(status_writes(world)) == writes
    assert [e["summary"] for e in world.copies()] == ["[home] Dentist (push lost)"]


def test_google_outage_is_reported_and_retried_until_it_passes(world: World) -> None:
    world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    # More 503s than the adapter retries (2 attempts in these settings): the pass fails.
    world.emulator.inject_fault(method="events.list", status=503, reason="backendError", count=4)

    def reconcile_errors() -> float:
        return REGISTRY.get_sample_value("calsync_reconcile_errors_total", {"reason": "GoogleError"}) or 0.0

    errors = reconcile_errors()
    with world.operator():
        world.apply_example()
        obj = world.wait(lambda o: condition(o, "Ready").get("reason") == "GoogleError")
        assert "503" in condition(obj, "Ready")["message"]
        eventually(lambda: reconcile_errors() > errors)
        # kopf retries the handler (TemporaryError with the retry delay); the faults run out.
        obj = world.wait(lambda o: ready(o) and source_status(o, PERSONAL).get("copies") == 1)
        eventually(lambda: len(world.events_of("SyncFailed")) == 1 and len(world.events_of("Recovered")) == 1)
    assert [e["summary"] for e in world.copies()] == ["[home] Dentist"]


def test_daily_quota_exhaustion_alerts_once_and_backs_off_for_hours(world: World) -> None:
    clock = Clock()
    event_id = world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    world.emulator.inject_fault(method="events.list", status=403, reason="quotaExceeded", count=1)
    personal = [s for s in world.example()["spec"]["sources"] if s["calendarId"] == PERSONAL]
    with world.operator(clock=clock, stop_when_idle=False):  # kopf holds its retry for hours
        world.apply_example(sources=personal)  # the one source that hits the limit
        obj = world.wait(lambda o: condition(o, "Ready").get("reason") == "QuotaExceeded")
        eventually(lambda: len(world.events_of("SyncFailed")) == 1 and len(world.mail.mails) == 1)
        # kopf.TemporaryError(delay=...) with the adapter's hours-scale back-off, kept in kopf's
        # progress annotation under calsync.dev/.
        progress = world.wait(lambda o: "calsync.dev/reconcile" in o["metadata"].get("annotations", {}))
        retry = json.loads(progress["metadata"]["annotations"]["calsync.dev/reconcile"])

        # A push during the back-off is answered without calling Google.
        lists = world.emulator.counters.calls("events.list")
        world.rename_event(PERSONAL, "rt-personal", event_id, "Dentist (during the limit)")
        world.wait(lambda o: source_status(o, PERSONAL).get("lastHandledPush") is not None)
        assert world.emulator.counters.calls("events.list") == lists
        assert condition(world.csync(), "Ready")["reason"] == "QuotaExceeded"

        clock.advance(retry_seconds(retry) + 1)  # the back-off is over: the next push syncs
        world.rename_event(PERSONAL, "rt-personal", event_id, "Dentist (next day)")
        # The pass the back-off's end triggers may run before this rename (after a clock jump of
        # hours it may also be the day's full listing): wait for the rename's own pass.
        renamed = ["[home] Dentist (next day)"]
        world.wait(lambda o: ready(o) and [e["summary"] for e in world.copies()] == renamed)
        eventually(lambda: len(world.mail.mails) == 2)
    assert "daily usage limit" in condition(obj, "Ready")["message"]
    assert "QuotaExceeded" in world.mail.subjects()[0]
    assert retry_seconds(retry) > 3600
    assert world.emulator.counters.calls("events.list", 403) == 1  # no retries inside the pass
    assert [e["summary"] for e in world.copies()] == ["[home] Dentist (next day)"]


def retry_seconds(progress: dict[str, Any]) -> float:
    return (
        datetime.fromisoformat(progress["delayed"]) - datetime.fromisoformat(progress["started"])
    ).total_seconds()


def test_a_webhook_url_google_cannot_push_to_turns_push_off_with_the_reason(world: World) -> None:
    """Google pushes only to https: an http URL (without the loopback test flag) opens no
    channel, and PushActive says why; syncing goes on by polling."""
    settings = replace(world.settings, webhook_insecure_loopback=False)  # the URL is http://127.0.0.1
    event_id = world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    with world.operator(settings):
        world.apply_example()
        obj = world.wait(lambda o: ready(o) and bool(condition(o, "PushActive")))

    push = condition(obj, "PushActive")
    assert (push["status"], push["reason"]) == ("False", "WebhookURLNotHTTPS")
    assert "https" in push["message"]
    assert world.emulator.channels() == []
    assert [c["extendedProperties"]["private"]["calsyncEvent"] for c in world.copies()] == [event_id]


def test_the_window_rolls_daily_on_the_operator_clock(world: World) -> None:
    clock = Clock()
    with world.operator(clock=clock):
        world.apply_example()
        obj = world.wait(ready)
        first = source_status(obj, PERSONAL)["lastFullSyncTime"]
        # Each source's re-list slot is a fixed time of day: stay before it, wherever it falls.
        key = f"{NAMESPACE}/{NAME}/{source_status(obj, PERSONAL)['key']}"
        slot = next_full_sync(parse_time(first), key)
        clock.advance(min(3600.0, (slot - clock()).total_seconds() / 2))
        stamp = request_sync(world)  # within the day: an incremental pass
        obj = world.wait(lambda o: o["status"].get("lastHandledRequestAt") == stamp)
        assert source_status(obj, PERSONAL)["lastFullSyncTime"] == first

        clock.advance(24 * 3600)  # past this source's slot of the next day
        request_sync(world)
        obj = world.wait(lambda o: source_status(o, PERSONAL)["lastFullSyncTime"] > first)
    rolled = source_status(obj, PERSONAL)["lastFullSyncTime"]
    assert rolled >= (clock() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_calendar_google_does_not_know_is_named_with_its_secret(world: World) -> None:
    sources = world.example()["spec"]["sources"]
    sources[0] = {**sources[0], "calendarId": "nobody@example.com"}  # personal-token cannot see it
    with world.operator():
        world.apply_example(sources=sources)
        obj = world.wait(lambda o: condition(o, "Ready").get("reason") == "GoogleError")

    message = condition(obj, "Ready")["message"]
    assert "'nobody@example.com'" in message
    assert 'Secret "personal-token"' in message
    assert "404" in message
