"""The planner as a specification: (changes, existing copies, spec) → operations."""

from __future__ import annotations

from typing import Any

from calsync_operator.api.names import copy_event_id
from calsync_operator.api.spec import CalendarSyncSpec, Delivery, Privacy, RecurringMode, SourceCleanup
from calsync_operator.controller.rules.status import plan_status
from calsync_operator.sync.copyindex import CopyIndex
from calsync_operator.sync.planner import OpKind, Plan, plan_source_changes
from calsync_operator.sync.render import render_copy
from engine.factories import NOW, SRC_A, TARGET, cancelled, source, spec, timed

SRC = source()


def cid(event_id: str) -> str:
    return copy_event_id(TARGET, SRC_A, event_id)


DEC_3 = "2026-12-03T08:00:00Z"  # an occurrence's original start


def index_of(events: list[dict[str, Any]], the_spec: CalendarSyncSpec | None = None) -> CopyIndex:
    """The index a target holding up-to-date copies of ``events`` would yield."""
    the_spec = the_spec or spec()
    copies = [render_copy(e, the_spec, SRC, copy_id=cid(e["id"])) for e in events]
    return CopyIndex.from_listing(SRC_A, copies)


def plan(events: list[dict[str, Any]], index: CopyIndex | None = None, **kwargs: Any) -> Plan:
    the_spec = kwargs.pop("the_spec", spec())
    return plan_source_changes(events, index or CopyIndex(SRC_A), the_spec, SRC, NOW, **kwargs)


def kinds(p: Plan) -> list[tuple[str, str]]:
    return [(op.kind.value, op.source_event_id) for op in p.ops]


def test_new_events_are_inserted_under_deterministic_ids() -> None:
    p = plan([timed("e1"), timed("e2")])
    assert kinds(p) == [("insert", "e1"), ("insert", "e2")]
    assert [op.copy_id for op in p.ops] == [cid("e1"), cid("e2")]


def test_unchanged_rendering_plans_nothing_and_a_change_plans_an_update() -> None:
    events = [timed("e1"), timed("e2")]
    index = index_of(events)
    assert plan(events, index).ops == ()
    p = plan([timed("e1", "Renamed")], index)
    assert kinds(p) == [("update", "e1")]


def test_deletion_deletes_the_copy_and_unknown_deletions_are_ignored() -> None:
    index = index_of([timed("e1")])
    assert kinds(plan([cancelled("e1"), cancelled("never-copied")], index)) == [("delete", "e1")]


def test_newly_filtered_event_loses_its_copy_and_own_copies_are_skipped() -> None:
    index = index_of([timed("e1")])
    declined = timed("e1", attendees=[{"email": "me", "self": True, "responseStatus": "declined"}])
    own = timed("x", extendedProperties={"private": {"calsyncSource": "b@example.com"}})
    p = plan([declined, own], index)
    assert [(op.kind, op.reason) for op in p.ops] == [
        (OpKind.DELETE, "filtered:declined"),
        (OpKind.SKIP, "ownCopy"),
    ]


def test_series_exceptions_follow_their_master() -> None:
    master = timed("m", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    # Occurrence ids are opaque (nothing in them names the series or the start).
    moved = timed(
        "q1w2e3r4t5",
        "Moved",
        hours_from_now=30,
        recurringEventId="m",
        originalStartTime={"dateTime": "2026-11-26T09:00:00+01:00", "timeZone": "Europe/Berlin"},
    )
    gone = cancelled("a9s8d7f6g5", recurringEventId="m", originalStartTime={"dateTime": DEC_3})
    p = plan([moved, gone, master])
    assert kinds(p) == [("insert", "m"), ("update", moved["id"]), ("delete", gone["id"])]
    # Named by the copied series and the original start: the executor looks Google's id up.
    assert p.ops[1].copy_id == cid("m") + "@20261126T080000Z"
    assert p.ops[2].copy_id == cid("m") + "@20261203T080000Z"


def test_cancelled_occurrence_listed_with_the_guaranteed_fields_cancels_the_right_instance_once() -> None:
    master = timed("m", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    index = index_of([master])
    bare = cancelled("opaque0001", recurringEventId="m", originalStartTime={"dateTime": DEC_3})

    p = plan([bare], index)

    assert [(op.kind, op.copy_id) for op in p.ops] == [(OpKind.DELETE, cid("m") + "@20261203T080000Z")]
    index.record_cancelled(cid("m") + "@20261203T080000Z", bare["id"])
    assert plan([bare], index).ops == ()


def test_a_deleted_split_series_is_a_series_of_its_own() -> None:
    """Google's "this and following" split makes a series ``<id>_R<time>``: its deletion (listed
    with its id only) deletes its own copy, not an occurrence of the series it came from."""
    master = timed("m", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    split = timed("m_R20261210T080000", recurrence=["RRULE:FREQ=WEEKLY;COUNT=2"])
    index = index_of([master, split])

    p = plan([cancelled(split["id"])], index)

    assert [(op.kind, op.copy_id) for op in p.ops] == [(OpKind.DELETE, cid(split["id"]))]


def test_index_rebuilt_from_a_target_listing_knows_cancelled_occurrences_listed_bare() -> None:
    series = timed("m", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    master_copy = render_copy(series, spec(), SRC, copy_id=cid("m"))
    listing = [
        {
            "id": "g00gle0paque1d",
            "status": "cancelled",
            "recurringEventId": cid("m"),
            "originalStartTime": {"dateTime": "2026-12-03T08:00:00Z"},
        },
        {"id": cid("gone"), "status": "cancelled"},  # a deleted copy: nothing to remember
        master_copy,
    ]

    index = CopyIndex.from_listing(SRC_A, listing)

    assert sorted(index.entries) == sorted([cid("m"), cid("m") + "@20261203T080000Z"])
    occurrence = index.entries[cid("m") + "@20261203T080000Z"]
    assert occurrence.cancelled
    assert index.target_id(cid("m") + "@20261203T080000Z") == "g00gle0paque1d"  # no lookup needed
    gone = cancelled("other0paque", recurringEventId="m", originalStartTime={"dateTime": DEC_3})
    assert plan([gone], index).ops == ()


def test_instances_mode_deleted_series_deletes_every_occurrence_copy_once() -> None:
    instances = spec(recurring=RecurringMode.INSTANCES)
    occurrences = [timed(f"opaque000{d}", recurringEventId="m") for d in (6, 7)]  # tagged with "m"
    index = index_of([*occurrences, timed("other")], instances)

    p = plan([cancelled(occurrences[0]["id"]), cancelled("m")], index, the_spec=instances)

    assert sorted((op.kind, op.copy_id) for op in p.ops) == sorted(
        (OpKind.DELETE, cid(o["id"])) for o in occurrences
    )


def test_exception_of_an_uncopied_series_is_skipped() -> None:
    moved = timed("m_20261126T080000Z", recurringEventId="m", originalStartTime={"date": "2026-11-26"})
    assert [op.reason for op in plan([moved]).ops] == ["seriesNotCopied"]


def test_instances_mode_copies_each_occurrence_as_an_event() -> None:
    occurrence = timed(
        "m_20261126T080000Z", recurringEventId="m", originalStartTime={"dateTime": "2026-11-26T08:00:00Z"}
    )
    p = plan([occurrence], the_spec=spec(recurring=RecurringMode.INSTANCES))
    assert kinds(p) == [("insert", occurrence["id"])]
    assert p.ops[0].copy_id == cid(occurrence["id"])


def test_sweep_after_full_listing_deletes_copies_whose_source_is_gone() -> None:
    index = index_of([timed("keep"), timed("gone"), timed("old", hours_from_now=-24 * 30)])
    p = plan([timed("keep")], index, full_listing=True)
    # "old" lies before the window: the listing could not have seen it, so it stays.
    assert [(op.kind, op.source_event_id, op.reason) for op in p.ops] == [(OpKind.DELETE, "gone", "sweep")]
    assert plan([timed("keep")], index, full_listing=True, alive={"gone"}).ops == ()


def test_sweep_after_a_recurring_mode_switch_removes_the_other_modes_copies() -> None:
    series = timed("m", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    exception = timed(
        "m_20261126T080000Z",
        "Moved",
        recurringEventId="m",
        originalStartTime={"dateTime": "2026-11-26T08:00:00Z"},
    )
    instances = spec(recurring=RecurringMode.INSTANCES)
    per_occurrence = index_of([exception], instances)  # left by instances mode
    p = plan([series, exception], per_occurrence, full_listing=True)
    assert ("delete", exception["id"]) in kinds(p)
    copied_series = index_of([series])  # left by series mode
    p = plan([exception], copied_series, full_listing=True, the_spec=instances)
    assert [(op.kind, op.copy_id, op.reason) for op in p.of(OpKind.DELETE)] == [
        (OpKind.DELETE, cid("m"), "sweep")
    ]


def test_invite_delivery_invites_once() -> None:
    invite_spec = spec(delivery=Delivery.INVITE)
    p = plan([timed("e1")], the_spec=invite_spec)
    assert kinds(p) == [("invite", "e1")]
    assert p.ops[0].body == {"attendees": [{"email": "me@example.com"}]}
    invited = timed("e1", attendees=[{"email": "me@example.com", "responseStatus": "needsAction"}])
    assert plan([invited], the_spec=invite_spec).ops == ()


def test_source_cleanup_deletes_originals_after_their_writes_and_keeps_copies() -> None:
    cleanup = spec(source_cleanup=SourceCleanup.DELETE)
    index = index_of([timed("old")], cleanup)
    p = plan([timed("new"), timed("old"), cancelled("gone")], index, the_spec=cleanup)
    assert kinds(p) == [("insert", "new"), ("deleteSource", "new"), ("deleteSource", "old")]
    assert p.ops[1].requires == (cid("new"),)
    assert p.ops[2].requires == ()


def test_plan_status_respects_privacy() -> None:
    busy = plan([timed("e1", "Secret")], the_spec=spec(privacy=Privacy.BUSY))
    summary = plan_status([(SRC_A, busy)], NOW)
    assert summary["counts"]["insert"] == 1
    assert summary["operations"] == [
        {"op": "insert", "sourceCalendarId": SRC_A, "eventId": "e1", "copyId": cid("e1"), "summary": "Busy"}
    ]
