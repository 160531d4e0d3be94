"""The engine against a Google that refuses: no write is lost silently, no id is guessed.

Refused writes are remembered in status (``writefailures``) while the sync token moves on, and retried by the
next full listing; a 404 is success only for ids calsync chose; a "this and following" split
(``<id>_R<time>``) is a series of its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from calsync_operator.api.names import copy_event_id
from calsync_operator.api.records import FailedWrite
from calsync_operator.api.spec import Delivery, RecurringMode
from calsync_operator.sync.port import Event, WriteKind, WriteOp
from engine.conftest import World
from engine.factories import NOW, SRC_A, TARGET, source, spec, timed

SRC = source(SRC_A, title_prefix="[A] ")
MASTER = "standup0001"


def weekly(count: int = 6) -> Event:
    return {
        "id": MASTER,
        "summary": "Weekly sync",
        "start": {"dateTime": "2026-11-27T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-11-27T10:30:00+01:00", "timeZone": "Europe/Berlin"},
        "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"],
    }


def titles(world: World, calendar_id: str, series_id: str) -> list[str]:
    items = world.client(calendar_id).instances(calendar_id, series_id)
    return [str(i.get("summary")) for i in items if i.get("status") != "cancelled"]


def test_a_refused_occurrence_write_is_remembered_then_retried_by_the_next_full_listing(world: World) -> None:
    the_spec = spec(SRC)
    world.write(SRC_A, WriteKind.INSERT, [weekly()])
    world.sync(the_spec, SRC, now=NOW)
    second = world.occurrence(SRC_A, MASTER, datetime(2026, 12, 4, 9, tzinfo=UTC))
    world.write(SRC_A, WriteKind.UPDATE, [{**second, "summary": "Weekly sync (moved room)"}])
    world.emulator.inject_fault(method="events.update", status=400, reason="invalid", count=1)

    refused = world.sync(the_spec, SRC, now=NOW + timedelta(hours=1))

    assert refused.state.failed_writes.items == (FailedWrite("update", second["id"], "400 invalid", False),)
    assert "400 invalid" in str(refused.state.last_error)
    target_master = copy_event_id(TARGET, SRC_A, MASTER)
    assert titles(world, TARGET, target_master)[1] == "[A] Weekly sync"
    # The token moved on (the failure is remembered instead): the next incremental pass is idle.
    idle = world.sync(the_spec, SRC, now=NOW + timedelta(hours=2))
    assert (idle.full_sync, idle.report.results if idle.report else None) == (False, [])
    assert idle.state.failed_writes == refused.state.failed_writes  # remembered, not dropped

    retried = world.sync(the_spec, SRC, now=NOW + timedelta(days=1, hours=1))

    assert retried.full_sync
    assert not retried.state.failed_writes
    assert retried.state.last_error is None
    assert titles(world, TARGET, target_master)[1] == "[A] Weekly sync (moved room)"


def test_an_invite_on_an_event_someone_else_organises_names_the_reason(world: World) -> None:
    invite_spec = spec(SRC, delivery=Delivery.INVITE)
    mine = timed("mine000001", "Mine")
    theirs = {
        **timed("theirs0001", "Board meeting"),
        "iCalUID": "board@boss.example.com",
        "organizer": {"email": "boss@example.com"},
        "attendees": [{"email": SRC_A}],
    }
    world.write(SRC_A, WriteKind.INSERT, [mine])
    imported = world.emulator.state.store.import_event(SRC_A, theirs)  # an invitation in SRC_A

    outcome = world.sync(invite_spec, SRC, now=NOW)

    assert outcome.state.failed_writes.items == (
        FailedWrite("invite", imported["id"], "403 forbiddenForNonOrganizer", False),
    )
    assert "forbiddenForNonOrganizer" in str(outcome.state.last_error)
    assert imported["id"] in str(outcome.state.last_error)
    assert outcome.state.sync_token  # the refusal is remembered; the token moves on
    later = world.sync(invite_spec, SRC, now=NOW + timedelta(hours=1))  # nothing new to write
    assert later.state.failed_writes == outcome.state.failed_writes
    invited = world.client(SRC_A).get_event(SRC_A, "mine000001")
    assert invited is not None
    assert [a["email"] for a in invited["attendees"]] == ["me@example.com"]


def test_a_404_on_delete_is_success_only_for_an_id_calsync_chose(world: World) -> None:
    client = world.client(TARGET)

    own, guessed = client.write(
        [
            WriteOp(WriteKind.DELETE, TARGET, copy_event_id(TARGET, SRC_A, "never"), chosen_id=True),
            WriteOp(WriteKind.DELETE, TARGET, "abc123_20261127T090000Z"),  # a built Google id
        ]
    )

    assert own.ok
    assert not guessed.ok
    assert guessed.error is not None
    assert guessed.error.status == 404


def split_and_delete(world: World, the_spec: Any) -> str:
    world.write(SRC_A, WriteKind.INSERT, [weekly(8)])
    world.sync(the_spec, SRC, now=NOW)
    split = world.emulator.split_series(
        SRC_A, MASTER, datetime(2026, 12, 18, 9, tzinfo=UTC), {"summary": "Weekly sync (new room)"}
    )
    world.sync(the_spec, SRC, now=NOW + timedelta(hours=1))
    assert split["id"] == f"{MASTER}_R20261218T090000"
    world.write(SRC_A, WriteKind.DELETE, [{"id": split["id"]}])
    return str(split["id"])


def test_a_deleted_split_series_leaves_no_copy(world: World) -> None:
    the_spec = spec(SRC)
    split_id = split_and_delete(world, the_spec)

    world.sync(the_spec, SRC, now=NOW + timedelta(hours=2))

    assert titles(world, TARGET, copy_event_id(TARGET, SRC_A, MASTER)) == ["[A] Weekly sync"] * 3
    assert titles(world, TARGET, copy_event_id(TARGET, SRC_A, split_id)) == []
    assert [e["summary"] for e in world.copies(TARGET, SRC_A)] == ["[A] Weekly sync"]


def test_a_deleted_split_series_leaves_no_copy_in_instances_mode(world: World) -> None:
    the_spec = spec(SRC, recurring=RecurringMode.INSTANCES)
    split_and_delete(world, the_spec)

    world.sync(the_spec, SRC, now=NOW + timedelta(hours=2), confirm_delete=True)

    assert [e["summary"] for e in world.copies(TARGET, SRC_A)] == ["[A] Weekly sync"] * 3


def test_an_occurrence_the_copied_series_lacks_fails_instead_of_writing_a_guessed_id(world: World) -> None:
    the_spec = spec(SRC)
    world.write(SRC_A, WriteKind.INSERT, [weekly()])
    world.sync(the_spec, SRC, now=NOW)
    copy_master = copy_event_id(TARGET, SRC_A, MASTER)
    # Someone removed the second week from the copy in the target calendar.
    excluded = {"recurrence": [*weekly()["recurrence"], "EXDATE;TZID=Europe/Berlin:20261204T100000"]}
    world.write(TARGET, WriteKind.PATCH, [{"id": copy_master, **excluded}])
    second = world.occurrence(SRC_A, MASTER, datetime(2026, 12, 4, 9, tzinfo=UTC))
    world.write(SRC_A, WriteKind.UPDATE, [{**second, "summary": "Weekly sync (moved room)"}])
    before = len(world.emulator.events(TARGET, include_cancelled=True))

    outcome = world.sync(the_spec, SRC, now=NOW + timedelta(hours=1))

    assert outcome.state.failed_writes.items == (FailedWrite("update", second["id"], "404 notFound", False),)
    assert len(world.emulator.events(TARGET, include_cancelled=True)) == before  # nothing written


def test_a_sync_token_google_cannot_read_means_a_full_listing(world: World) -> None:
    """Google's answer to a garbled token is undocumented; the emulator answers 400 invalid and
    the engine treats it like 410: list everything again."""
    the_spec = spec(SRC)
    world.write(SRC_A, WriteKind.INSERT, [timed("plain00001")])
    world.sync(the_spec, SRC, now=NOW)
    key = (TARGET, SRC_A)
    world.states[key] = replace(world.states[key], sync_token="garbage")

    outcome = world.sync(the_spec, SRC, now=NOW + timedelta(hours=1))

    assert outcome.full_sync
    assert outcome.state.sync_token not in (None, "garbage")
