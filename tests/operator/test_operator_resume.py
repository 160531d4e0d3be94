"""A restarted operator resumes from the sync tokens in status: no full listing, no target read.

1,000 CalendarSyncs restarted together must not list every source's window again (nor read
every target's copies): each source costs one incremental list with the token its status
holds, and the copies of a target are read only when a change needs them.
"""

from __future__ import annotations

from operator_harness import PERSONAL, WORK, World, eventually, ready, source_status
from prometheus_client import REGISTRY


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
