"""``calsync status``'s view of one CalendarSync: pure functions from the object, its Events and
the time to a summary (what ``-o json|yaml`` prints) and to the screen a person acts on.

The conditions' messages already name the fix (the operator writes them so); this view puts
them first, then each source's timeline (last sync, last push handled, channel expiry and
when its renewal is due), the dry-run plan and the latest Events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from calsync_operator.api.times import try_parse_time

CONDITION_TYPES = ("Ready", "Authenticated", "PushActive", "DeleteGuard")
PLAN_LINES = 10


def summarize(
    obj: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]] | None,
    now: datetime,
    renew_before: timedelta,
) -> dict[str, Any]:
    """Plain data for scripts and for ``render``; ``renew_before``: how long before expiry the
    operator replaces a channel (a fifth of the channel lifetime it asks Google for)."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, Mapping)}
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "target": (spec.get("target") or {}).get("calendarId"),
        "suspended": bool(spec.get("suspend")),
        "dryRun": bool(spec.get("dryRun")),
        "observedGeneration": status.get("observedGeneration"),
        "generation": meta.get("generation"),
        "lastSyncTime": status.get("lastSyncTime"),
        "lastHandledRequestAt": status.get("lastHandledRequestAt"),
        "conditions": [_condition(t, conditions.get(t)) for t in CONDITION_TYPES],
        "sources": [_source(s, now, renew_before) for s in status.get("sources") or []],
        "plan": status.get("plan") if spec.get("dryRun") else None,
        "events": None if events is None else [_event(e) for e in events],
    }


def _condition(type_: str, found: Mapping[str, Any] | None) -> dict[str, Any]:
    if found is None:
        # DeleteGuard is present only while it holds; the others appear after the first pass.
        status = "False" if type_ == "DeleteGuard" else "Unknown"
        return {"type": type_, "status": status, "reason": "", "message": "", "since": None}
    return {
        "type": type_,
        "status": found.get("status", "Unknown"),
        "reason": found.get("reason", ""),
        "message": found.get("message", ""),
        "since": found.get("lastTransitionTime"),
    }


def _source(entry: Mapping[str, Any], now: datetime, renew_before: timedelta) -> dict[str, Any]:
    channel = entry.get("channel") or {}
    expiration = _time(channel.get("expiration"))
    return {
        "calendarId": entry.get("calendarId"),
        "key": entry.get("key"),
        "lastSyncTime": entry.get("lastSyncTime"),
        "lastFullSyncTime": entry.get("lastFullSyncTime"),
        "lastHandledPush": entry.get("lastHandledPush"),
        "channelExpiration": channel.get("expiration"),
        "channelRenewalDue": None if expiration is None else _stamp(expiration - renew_before),
        "channelExpired": expiration is not None and expiration <= now,
        "counts": dict(entry.get("counts") or {}),
        "heldDeletes": entry.get("heldDeletes"),
        "lastError": entry.get("lastError") or None,
    }


def _event(event: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "time": event.get("lastTimestamp") or event.get("eventTime"),
        "type": event.get("type"),
        "reason": event.get("reason"),
        "message": event.get("message"),
        "count": event.get("count") or 1,
    }


def render(summary: Mapping[str, Any], now: datetime) -> str:
    lines = [_headline(summary), ""]
    lines += _condition_table(summary["conditions"])
    for source in summary["sources"]:
        lines += ["", *_source_lines(source, now)]
    if summary["plan"]:
        lines += ["", *_plan_lines(summary["plan"])]
    lines += ["", *_event_lines(summary["events"], now)]
    return "\n".join(lines) + "\n"


def _headline(summary: Mapping[str, Any]) -> str:
    flags = [f for f, on in (("SUSPENDED", summary["suspended"]), ("DRY RUN", summary["dryRun"])) if on]
    head = f"CalendarSync {summary['namespace']}/{summary['name']} -> {summary['target']}"
    return head + (f"  [{', '.join(flags)}]" if flags else "")


def _condition_table(conditions: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = [("CONDITION", "STATUS", "REASON", "MESSAGE")]
    rows += [(c["type"], c["status"], c["reason"] or "-", c["message"] or "") for c in conditions]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        (
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        ).rstrip()
        for row in rows
    ]


def _source_lines(source: Mapping[str, Any], now: datetime) -> list[str]:
    counts = source["counts"]
    lines = [
        f"Source {source['calendarId']} (key {source['key']})",
        f"  last sync     {_when(source['lastSyncTime'], now)}",
        f"  last push     {_when(source['lastHandledPush'], now)}",
    ]
    if source["channelExpiration"]:
        state = "EXPIRED " if source["channelExpired"] else ""
        lines.append(
            f"  channel       {state}expires {_when(source['channelExpiration'], now)}; "
            f"renewal due {_when(source['channelRenewalDue'], now)}"
        )
    else:
        lines.append("  channel       none (push off, suspended, or not created yet)")
    lines.append("  counts        " + ", ".join(f"{k} {counts.get(k, 0)}" for k in _COUNT_KEYS))
    if source.get("heldDeletes"):
        lines.append(f"  held deletes  {source['heldDeletes']} (calsync confirm-delete lets them through)")
    if source["lastError"]:
        lines.append(f"  last error    {source['lastError']}")
    return lines


_COUNT_KEYS = ("created", "updated", "deleted", "skipped")


def _plan_lines(plan: Mapping[str, Any]) -> list[str]:
    counts = plan.get("counts") or {}
    summary = ", ".join(f"{op} {n}" for op, n in counts.items()) or "nothing to do"
    lines = [f"Plan (dry run, computed {plan.get('computedAt', '?')}): {summary}"]
    for op in (plan.get("operations") or [])[:PLAN_LINES]:
        lines.append(f"  {op.get('op', '?'):<12} {op.get('summary') or op.get('eventId') or ''}")
    more = len(plan.get("operations") or []) - PLAN_LINES
    if more > 0 or plan.get("truncated"):
        lines.append("  ... (kubectl get csync NAME -o yaml shows the whole plan)")
    return lines


def _event_lines(events: Sequence[Mapping[str, Any]] | None, now: datetime) -> list[str]:
    if events is None:
        return ["Events: cannot list them (no permission to list events in this namespace)"]
    if not events:
        return ["Events: none"]
    lines = ["Events (latest first):"]
    for event in reversed(events):
        count = f" (x{event['count']})" if event["count"] > 1 else ""
        what = f"{event['reason']}: {event['message']}{count}"
        lines.append(f"  {_ago(event['time'], now):>8}  {event['type']:<7} {what}")
    return lines


def _time(value: Any) -> datetime | None:
    return try_parse_time(value)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(value: Any, now: datetime) -> str:
    moment = _time(value)
    if moment is None:
        return "never"
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')} UTC ({_relative(moment, now)})"


def _ago(value: Any, now: datetime) -> str:
    moment = _time(value)
    return "?" if moment is None else _relative(moment, now)


def _relative(moment: datetime, now: datetime) -> str:
    seconds = (now - moment).total_seconds()
    text = _span(abs(seconds))
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def _span(seconds: float) -> str:
    minutes, hours, days = seconds / 60, seconds / 3600, seconds / 86400
    if seconds < 90:
        return f"{seconds:.0f}s"
    if minutes < 90:
        return f"{minutes:.0f}m"
    if hours < 48:
        return f"{hours:.0f}h"
    return f"{days:.0f}d"
