"""A pass's Events: notices of one reason become one Event (``rules/notices.py``: ``merged``)."""

from __future__ import annotations

from calsync_operator.controller.rules.notices import Notice, merged


def test_notices_of_one_reason_become_one_event_in_first_appearance_order() -> None:
    live = "Push channel c{} for source {} is live; expires 2026-12-10T00:00:00Z"
    notices = [
        Notice("Normal", "ChannelCreated", live.format(1, "a")),
        Notice("Warning", "SyncFailed", "Cannot list source b."),
        Notice("Normal", "ChannelCreated", live.format(2, "b")),
    ]
    assert merged(notices) == [
        Notice(
            "Normal",
            "ChannelCreated",
            "Push channel c1 for source a is live; expires 2026-12-10T00:00:00Z. "
            "Push channel c2 for source b is live; expires 2026-12-10T00:00:00Z",
        ),
        Notice("Warning", "SyncFailed", "Cannot list source b."),
    ]


def test_a_message_that_would_be_cut_short_starts_a_new_event() -> None:
    notices = [Notice("Normal", "ChannelRenewed", f"Source {n} renewed " + "x" * 40 + ".") for n in range(30)]
    events = merged(notices, limit=200)
    assert all(len(event.message) <= 200 for event in events)
    assert len(events) > 1
    assert " ".join(event.message for event in events) == " ".join(n.message for n in notices)


def test_one_notice_or_none_pass_unchanged() -> None:
    single = [Notice("Normal", "Recovered", "All sources sync again")]
    assert merged(single) == single
    assert merged([]) == []
