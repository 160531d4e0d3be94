"""Loop prevention, invite delivery, source cleanup and busy privacy, end to end."""

from __future__ import annotations

import json
from typing import Any

from calsync_operator.api.names import copy_event_id
from calsync_operator.api.spec import Delivery, Privacy, SourceCleanup
from calsync_operator.sync.port import WriteKind
from engine.conftest import World
from engine.factories import NOW, SRC_A, SRC_B, TARGET, attempted, source, spec, timed


def writes(outcome: Any) -> int:
    return sum(1 for r in outcome.report.results if attempted(r))


def test_two_way_sync_does_not_ping_pong(world: World) -> None:
    a_to_b = spec(source(SRC_A), target=SRC_B)
    b_to_a = spec(source(SRC_B), target=SRC_A)
    world.write(SRC_A, WriteKind.INSERT, [timed(f"aevent{i}", f"A {i}") for i in range(5)])
    world.write(SRC_B, WriteKind.INSERT, [timed(f"bevent{i}", f"B {i}") for i in range(3)])

    rounds = []
    for _ in range(3):
        ab = world.sync(a_to_b, a_to_b.sources[0], now=NOW)
        ba = world.sync(b_to_a, b_to_a.sources[0], now=NOW)
        rounds.append((writes(ab), writes(ba)))

    assert rounds == [(5, 3), (0, 0), (0, 0)]
    assert len(world.emulator.events(SRC_A)) == 8
    assert len(world.emulator.events(SRC_B)) == 8


def test_invite_delivery_adds_the_target_once(world: World) -> None:
    the_spec = spec(source(SRC_A), delivery=Delivery.INVITE)
    guest = [{"email": "x@example.com"}]
    world.write(SRC_A, WriteKind.INSERT, [timed("meeting1", attendees=guest), timed("meeting2")])

    first = world.sync(the_spec, the_spec.sources[0], now=NOW)
    second = world.sync(the_spec, the_spec.sources[0], now=NOW)  # sees its own patches come back

    assert first.counts.created == 2
    assert writes(second) == 0
    guests = {e["id"]: [a["email"] for a in e.get("attendees", [])] for e in world.emulator.events(SRC_A)}
    assert guests == {"meeting1": ["x@example.com", "me@example.com"], "meeting2": ["me@example.com"]}
    assert world.emulator.events(TARGET) == []


def test_source_cleanup_moves_events_and_keeps_unconfirmed_originals(world: World, emulator: Any) -> None:
    the_spec = spec(source(SRC_A), source_cleanup=SourceCleanup.DELETE)
    src = the_spec.sources[0]
    world.attempts = 1  # no retries: a failed insert stays failed within the pass
    world.write(SRC_A, WriteKind.INSERT, [timed("moveme1"), timed("moveme2"), timed("moveme3")])
    emulator.inject_fault("events.insert", status=500, count=1)

    first = world.sync(the_spec, src, now=NOW)

    assert first.counts.created == 2
    assert len(world.emulator.events(SRC_A)) == 1  # the one whose copy failed is kept
    second = world.sync(the_spec, src, now=NOW)  # retries it, and ignores the deletions it made
    assert second.counts.created == 1
    assert second.counts.deleted == 0
    assert world.emulator.events(SRC_A) == []
    assert sorted(e["id"] for e in world.copies(TARGET)) == sorted(
        copy_event_id(TARGET, SRC_A, f"moveme{i}") for i in (1, 2, 3)
    )


def test_busy_privacy_leaks_nothing(world: World) -> None:
    the_spec = spec(source(SRC_A), privacy=Privacy.BUSY)
    world.write(
        SRC_A,
        WriteKind.INSERT,
        [
            timed(
                "secret01",
                "Acquisition talks",
                description="Project Falcon numbers",
                location="Board room",
                attendees=[{"email": "ceo@example.com"}],
                hangoutLink="https://meet.google.com/fal-con-num",
                conferenceData={"conferenceId": "fal-con-num", "notes": "dial-in for Falcon"},
                colorId="11",
            )
        ],
    )

    world.sync(the_spec, the_spec.sources[0], now=NOW)

    (copy,) = world.copies(TARGET)
    dumped = json.dumps(copy)
    for secret in ("Acquisition", "Falcon", "Board room", "ceo@example.com", "fal-con-num"):
        assert secret not in dumped
    assert (copy["summary"], copy["visibility"]) == ("Busy", "private")
    for field in ("description", "location", "attendees", "conferenceData", "hangoutLink", "colorId"):
        assert field not in copy, field
    assert world.emulator.counters.invitations_sent == 0


def test_full_privacy_copies_the_content_but_invites_nobody(world: World) -> None:
    the_spec = spec(source(SRC_A, title_prefix="[A] "))
    guests = [{"email": "client@example.org"}, {"email": "colleague@example.com"}]
    world.write(
        SRC_A,
        WriteKind.INSERT,
        [timed("design01", "Design review", description="Agenda", location="Room 4", attendees=guests)],
    )

    world.sync(the_spec, the_spec.sources[0], now=NOW)

    (copy,) = world.copies(TARGET)
    assert (copy["summary"], copy["description"], copy["location"]) == (
        "[A] Design review",
        "Agenda",
        "Room 4",
    )
    assert "attendees" not in copy  # copies carry no guests: nobody is invited twice
    assert world.emulator.counters.invitations_sent == 0
