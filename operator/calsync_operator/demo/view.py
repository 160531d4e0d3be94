"""What the demo shows, rendered from plain data with the clock passed in (no I/O).

On a terminal the whole screen is redrawn in place, like ``kubectl get -w`` crossed with a
calendar: the CalendarSync table (the CRD's printer columns), the target calendar's events, and
the scripted changes with their latency. Without a terminal (``--no-tty``, CI, pipes) the same
facts come out as plain log lines, one per thing that happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from calsync_operator.api.conditions import get_condition
from calsync_operator.api.times import try_parse_time
from calsync_operator.check.health import columns, format_age
from calsync_operator.demo.story import Change

# Redraw in place without flicker: cursor home, each line cleared to its end, the rest below.
CURSOR_HOME, CLEAR_LINE_END, CLEAR_BELOW, CLEAR_SCREEN = "\x1b[H", "\x1b[K", "\x1b[J", "\x1b[2J"


class Outcome(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"
    ARRIVED = "arrived"
    MISSING = "missing"


@dataclass
class ChangeProgress:
    change: Change
    outcome: Outcome = Outcome.PENDING
    latency: float | None = None  # seconds from the write in the source to the copy in the target
    push_to_copy: float | None = None  # seconds from the webhook's receipt of the push to the copy


@dataclass(frozen=True)
class Screen:
    """Everything one frame shows."""

    elapsed: float
    phase: str
    endpoints: Mapping[str, str]
    csyncs: Sequence[Mapping[str, Any]]
    target_calendar: str
    target_events: Sequence[Mapping[str, Any]]
    progress: Sequence[ChangeProgress]


def csync_row(obj: Mapping[str, Any], now: datetime) -> tuple[str, ...]:
    """The columns ``kubectl get csync`` prints (CRD printer columns), plus the REASON that
    kubectl prints only with ``-o wide``."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    ready = get_condition(status.get("conditions"), "Ready") or {}
    return (
        str(meta.get("name", "")),
        str(ready.get("status", "")),
        str(ready.get("reason", "")),
        str(status.get("sourceCount", "")),
        str((spec.get("target") or {}).get("calendarId", "")),
        str(status.get("eventsSynced", "")),
        _age(status.get("lastSyncTime"), now),
        _age(meta.get("creationTimestamp"), now),
    )


CSYNC_HEADER = ("NAME", "READY", "REASON", "SOURCES", "TARGET", "SYNCED", "LAST SYNC", "AGE")


def _age(stamp: object, now: datetime) -> str:
    moment = try_parse_time(stamp)
    return "" if moment is None else format_age(max(0.0, (now - moment).total_seconds()))


def event_line(event: Mapping[str, Any]) -> str:
    start = try_parse_time((event.get("start") or {}).get("dateTime"))
    end = try_parse_time((event.get("end") or {}).get("dateTime"))
    when = "(all day)" if start is None else start.strftime("%a %d %b %H:%M")
    until = "" if end is None else end.strftime("-%H:%M")
    return f"{when}{until}  {event.get('summary', '(no title)')}"


def sorted_events(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(events, key=lambda e: str((e.get("start") or {}).get("dateTime", "")))


def progress_line(index: int, total: int, item: ChangeProgress) -> str:
    head = f"{index}/{total} {item.change.label}"
    if item.outcome is Outcome.ARRIVED and item.latency is not None:
        push = "" if item.push_to_copy is None else f" (push -> copy {item.push_to_copy:.2f} s)"
        return f"{head}: arrived in {item.latency:.2f} s{push}"
    if item.outcome is Outcome.MISSING:
        return f"{head}: did NOT arrive"
    return f"{head}: {item.outcome.value}"


def render_screen(screen: Screen, now: datetime) -> str:
    """One full frame for a terminal, as plain text (``as_frame`` adds the control codes)."""
    lines = [f"calsync demo  {screen.elapsed:5.1f}s  {screen.phase}", ""]
    lines += [f"  {name:<16} {url}" for name, url in screen.endpoints.items()]
    # kubectl shows REASON only with -o wide (priority 1); the demo adds it to the default columns.
    lines += ["", "$ kubectl get csync -w          # plus REASON, which kubectl shows with -o wide"]
    rows = [CSYNC_HEADER, *(csync_row(obj, now) for obj in screen.csyncs)]
    lines += columns(rows) if screen.csyncs else ["No resources found in default namespace."]
    lines += ["", f"Target calendar {screen.target_calendar} (times in UTC):"]
    events = sorted_events(screen.target_events)
    lines += [f"  {event_line(e)}" for e in events] or ["  (empty)"]
    lines += ["", "Changes in the source calendars:"]
    total = len(screen.progress)
    marks = {Outcome.PENDING: " ", Outcome.WAITING: ">", Outcome.ARRIVED: "+", Outcome.MISSING: "!"}
    lines += [f"  {marks[p.outcome]} {progress_line(i, total, p)}" for i, p in enumerate(screen.progress, 1)]
    return "\n".join(lines) + "\n"


def as_frame(text: str) -> str:
    """Terminal output that overwrites the previous frame in place."""
    body = "".join(f"{line}{CLEAR_LINE_END}\n" for line in text.splitlines())
    return CURSOR_HOME + body + CLEAR_BELOW


def status_line(obj: Mapping[str, Any], now: datetime) -> str:
    """The plain-log form of one ``kubectl get -w`` row."""
    name, ready, reason, sources, _target, synced, last_sync, _ = csync_row(obj, now)
    return (
        f"csync/{name}: Ready={ready or '-'} ({reason or '-'}) sources={sources or '-'} "
        f"synced={synced or 0} lastSync={last_sync or '-'}"
    )


def summary(progress: Sequence[ChangeProgress]) -> str:
    arrived = [p for p in progress if p.outcome is Outcome.ARRIVED and p.latency is not None]
    text = f"{len(arrived)}/{len(progress)} changes arrived in the target"
    latencies = sorted(p.latency for p in arrived if p.latency is not None)
    if latencies:
        median = latencies[len(latencies) // 2]
        text += f"; change -> copy latency median {median:.2f} s, max {latencies[-1]:.2f} s"
    return text
