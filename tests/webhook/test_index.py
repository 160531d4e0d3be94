"""The channel index, fed with plain watch-event dicts."""

from __future__ import annotations

from typing import Any

from calsync_webhook.index import ChannelIndex, ChannelRef, SignalTarget, channels_of


def csync(name: str, *sources: dict[str, Any], namespace: str = "ns") -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name}, "status": {"sources": list(sources)}}


def source(key: str, channel: str | None, previous: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": key, "calendarId": f"{key}@example.com"}
    if channel:
        entry["channel"] = {"id": channel, "resourceId": "r", "expiration": "1", "tokenHash": f"h-{channel}"}
    if previous:
        entry["previousChannel"] = {
            "id": previous,
            "resourceId": "r",
            "expiration": "1",
            "tokenHash": f"h-{previous}",
        }
    return entry


def test_current_and_previous_channels_are_indexed() -> None:
    found = channels_of(csync("a", source("k1", "c1", previous="c0"), source("k2", "c2")))
    assert found == {
        "c1": ChannelRef(SignalTarget("ns", "a", "k1"), "h-c1"),
        "c0": ChannelRef(SignalTarget("ns", "a", "k1"), "h-c0"),
        "c2": ChannelRef(SignalTarget("ns", "a", "k2"), "h-c2"),
    }


def test_incomplete_status_entries_are_skipped() -> None:
    obj = csync("a", source("k1", None), {"key": "k2", "channel": {"id": "c2"}}, "junk")  # type: ignore[arg-type]
    assert channels_of(obj) == {}
    assert channels_of({"metadata": {"name": "a", "namespace": "ns"}}) == {}
    assert channels_of({"metadata": {"name": "a"}, "status": {"sources": "nope"}}) == {}


def test_missing_key_falls_back_to_the_calendar_id() -> None:
    from calsync_operator.api.names import source_key

    obj = csync("a", {"calendarId": "x@example.com", "channel": {"id": "c", "tokenHash": "h"}})
    assert channels_of(obj)["c"].target.source_key == source_key("x@example.com")


def test_index_follows_add_modify_delete() -> None:
    index = ChannelIndex()
    index.apply_event("ADDED", csync("a", source("k1", "c1")))
    assert index.lookup("c1") == ChannelRef(SignalTarget("ns", "a", "k1"), "h-c1")

    # Renewal: the new channel becomes current, the old one is kept as previous.
    index.apply_event("MODIFIED", csync("a", source("k1", "c2", previous="c1")))
    assert index.lookup("c1") is not None
    assert index.lookup("c2") == ChannelRef(SignalTarget("ns", "a", "k1"), "h-c2")

    # Overlap over: the old channel disappears.
    index.apply_event("MODIFIED", csync("a", source("k1", "c2")))
    assert index.lookup("c1") is None
    assert len(index) == 1

    index.apply_event("BOOKMARK", {"metadata": {"resourceVersion": "9"}})
    assert len(index) == 1

    index.apply_event("DELETED", csync("a", source("k1", "c2")))
    assert index.lookup("c2") is None
    assert len(index) == 0


def test_relist_drops_objects_deleted_while_not_watching_only_in_its_scope() -> None:
    index = ChannelIndex()
    index.apply_event("ADDED", csync("a", source("k", "ca"), namespace="one"))
    index.apply_event("ADDED", csync("b", source("k", "cb"), namespace="one"))
    index.apply_event("ADDED", csync("c", source("k", "cc"), namespace="two"))

    index.replace([csync("b", source("k", "cb2"), namespace="one")], namespace="one")
    assert index.lookup("ca") is None  # deleted while not watching
    assert index.lookup("cb") is None  # replaced by cb2
    assert index.lookup("cb2") is not None
    assert index.lookup("cc") is not None  # other namespace untouched

    index.replace([], namespace=None)
    assert len(index) == 0


def test_a_channel_claimed_by_another_object_is_not_dropped_by_the_first() -> None:
    index = ChannelIndex()
    index.apply_event("ADDED", csync("a", source("k", "shared")))
    index.apply_event("ADDED", csync("b", source("k", "shared")))
    index.apply_event("DELETED", csync("a", source("k", "shared")))
    ref = index.lookup("shared")
    assert ref is not None
    assert ref.target.name == "b"
