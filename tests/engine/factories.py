"""Plain-data builders shared by the engine tests: specs, sources and Google-shaped events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from calsync_operator.api.spec import CalendarSyncSpec, SecretRef, Source, Target
from calsync_operator.sync.executor import OpResult
from calsync_operator.sync.planner import OpKind

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
TARGET = "target@example.com"
SRC_A = "a@example.com"
SRC_B = "b@example.com"


def source(calendar_id: str = SRC_A, **kwargs: Any) -> Source:
    return Source(calendar_id=calendar_id, credentials=SecretRef(name=f"cred-{calendar_id[0]}"), **kwargs)


def spec(*sources: Source, target: str = TARGET, **kwargs: Any) -> CalendarSyncSpec:
    base = CalendarSyncSpec(
        target=Target(calendar_id=target, credentials=SecretRef(name="cred-target"), email="me@example.com"),
        sources=sources or (source(),),
    )
    return replace(base, **kwargs)


def rfc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def timed(
    event_id: str, title: str = "Meeting", *, hours_from_now: float = 24, minutes: int = 60, **extra: Any
) -> dict[str, Any]:
    start = NOW + timedelta(hours=hours_from_now)
    return {
        "id": event_id,
        "status": "confirmed",
        "summary": title,
        "start": {"dateTime": rfc(start), "timeZone": "Europe/Berlin"},
        "end": {"dateTime": rfc(start + timedelta(minutes=minutes)), "timeZone": "Europe/Berlin"},
        **extra,
    }


def all_day(event_id: str, day: str = "2026-12-01", **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "status": "confirmed",
        "summary": "Holiday",
        "start": {"date": day},
        "end": {"date": "2026-12-02"},
        **extra,
    }


def cancelled(event_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": event_id, "status": "cancelled", **extra}


def attempted(result: OpResult) -> bool:
    """Whether the executor sent the operation to Google (skips and held-back originals were not)."""
    return result.op.kind is not OpKind.SKIP and (result.ok or result.error is not None)
