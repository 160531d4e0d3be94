"""Failures must show and guards must guard: the operator, the webhook and Google's pushes
together (in-memory Kubernetes API; the emulator as Google; SendGrid's stand-in for mails).

- A calendar emptied by pushes, one deletion after another, trips the delete guard like one
  emptied at once; ``calsync.dev/confirm-delete`` then deletes the rest.
- Writes failing after retries make Ready False (``WriteFailed``) within one pass, with one
  Warning Event and one mail; ``calsync check`` exits 1; when Google is back, Ready returns to
  True with one recovery mail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from operator_harness import (
    NAME,
    NAMESPACE,
    PERSONAL,
    TOKENS,
    World,
    condition,
    eventually,
    ready,
    source_status,
)

from calsync_operator.api.names import CONFIRM_DELETE_ANNOTATION, TAG_SOURCE
from calsync_operator.cli.main import main
from calsync_operator.kubeemu import ThreadedKubeEmulator
from calsync_operator.sync.port import WriteKind, WriteOp


def personal_copies(world: World) -> int:
    return sum(
        1
        for e in world.copies()
        if e.get("extendedProperties", {}).get("private", {}).get(TAG_SOURCE) == PERSONAL
    )


def deletions_seen(obj: dict[str, Any]) -> int:
    entry = source_status(obj, PERSONAL)
    return int(entry.get("counts", {}).get("deleted", 0)) + int(entry.get("heldDeletes", 0))


def test_a_calendar_emptied_event_by_event_trips_the_guard(world: World) -> None:
    ids = [world.add_event(PERSONAL, "rt-personal", f"Event {n}", day=n) for n in range(1, 21)]
    with world.operator():
        world.apply_example()
        world.wait(lambda o: ready(o) and source_status(o, PERSONAL).get("copies") == 20)

        client = world.calendar("rt-personal")
        try:
            for event_id in ids[:16]:  # one request each: Google pushes after every one
                [result] = client.write([WriteOp(WriteKind.DELETE, PERSONAL, event_id)])
                assert result.ok
        finally:
            client.close()
        obj = world.wait(
            lambda o: condition(o, "DeleteGuard").get("status") == "True" and deletions_seen(o) == 16
        )
        deleted = source_status(obj, PERSONAL)["counts"]["deleted"]
        assert deleted <= 4  # 20 % of 20: the rest is held
        assert source_status(obj, PERSONAL)["heldDeletes"] == 16 - deleted
        assert personal_copies(world) == 20 - deleted
        assert condition(obj, "Ready")["reason"] == "DeleteGuard"
        if deleted:  # the message counts the deletions the window already let through
            assert f"after {deleted} deleted within the last hour" in condition(obj, "DeleteGuard")["message"]
        eventually(lambda: len(world.events_of("DeleteGuardTripped")) == 1 and len(world.mail.mails) == 1)

        world.kube.patch(
            "CalendarSync",
            NAME,
            {"metadata": {"annotations": {CONFIRM_DELETE_ANNOTATION: "true"}}},
            namespace=NAMESPACE,
        )
        obj = world.wait(lambda o: ready(o) and CONFIRM_DELETE_ANNOTATION not in o["metadata"]["annotations"])
    assert personal_copies(world) == 4
    assert source_status(obj, PERSONAL)["counts"]["deleted"] == 16
    assert "heldDeletes" not in source_status(obj, PERSONAL)
    assert condition(obj, "DeleteGuard") == {}


def test_writes_failing_after_retries_make_ready_false_once_and_recover_once(
    world: World, tmp_path: Path, kube: ThreadedKubeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(1, 4):
        world.add_event(PERSONAL, "rt-personal", f"Event {n}", day=n)
    world.emulator.inject_fault("events.insert", status=500, reason="backendError")
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    with world.operator():
        world.apply_example()
        obj = world.wait(lambda o: condition(o, "Ready").get("reason") == "WriteFailed")
        message = condition(obj, "Ready")["message"]
        assert condition(obj, "Ready")["status"] == "False"
        assert "3 write(s) to Google failed" in message
        assert "500 backendError" in message
        failed = source_status(obj, PERSONAL)["failedWrites"]
        assert (failed["count"], failed["retrying"]) == (3, 3)
        assert world.copies() == []
        eventually(lambda: len(world.events_of("SyncFailed")) == 1 and len(world.mail.mails) == 1)
        assert world.events_of("SyncFailed")[0]["type"] == "Warning"
        assert "WriteFailed" in world.mail.mails[0]["subject"]

        assert main(["check", "--kubeconfig", str(kubeconfig), "-n", NAMESPACE]) == 1
        assert "WriteFailed" in capsys.readouterr().out

        world.emulator.clear_faults()  # Google is back: the back-off retry lands the copies
        obj = world.wait(ready, timeout=30)
    assert len(world.copies()) == 3
    assert "failedWrites" not in source_status(obj, PERSONAL)
    eventually(lambda: len(world.mail.mails) == 2)
    assert "recovered" in world.mail.mails[1]["subject"]
    assert len(world.events_of("SyncFailed")) == 1
    assert len(world.events_of("Recovered")) == 1


def test_a_bad_target_id_blames_the_target_with_a_reason_and_a_hint(world: World) -> None:
    world.add_event(PERSONAL, "rt-personal", "Dentist", day=2)
    manifest = world.example()
    bad = "tgt/../odd?#%@example.com"
    manifest["spec"]["target"]["calendarId"] = bad
    with world.operator():
        for secret, refresh_token in TOKENS.items():
            world.token_secret(secret, refresh_token)
        world.kube.create(manifest)
        obj = world.wait(
            lambda o: (
                condition(o, "Ready").get("status") == "False"
                and condition(o, "Ready").get("reason") not in ("Syncing", None)
            )
        )
    ready_condition = condition(obj, "Ready")
    assert ready_condition["reason"] == "TargetError"
    message = ready_condition["message"]
    assert message.startswith(f"The target calendar {bad!r} cannot be read: 404")
    assert "check spec.target.calendarId" in message
    assert "central-token" in message
    assert "(and " not in message  # one problem, not one per source
    assert "Syncing source" not in message
