"""Events tests put into the emulator's calendars."""

from __future__ import annotations

import uuid

from calsync_operator.sync.port import WriteKind, WriteOp


def new_event(calendar_id: str, title: str, day: int = 1) -> WriteOp:
    """The insert of a one-hour event ``title`` on December ``day`` 2026, with a fresh id."""
    event_id = uuid.uuid4().hex
    body = {
        "id": event_id,
        "summary": title,
        "start": {"dateTime": f"2026-12-{day:02d}T09:00:00Z"},
        "end": {"dateTime": f"2026-12-{day:02d}T10:00:00Z"},
    }
    return WriteOp(WriteKind.INSERT, calendar_id, event_id, body)
