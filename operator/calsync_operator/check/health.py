"""The verdict of ``calsync check``, as pure functions on plain data with the clock passed in.

A CalendarSync is healthy when its ``Ready`` condition is True (or False for a state the user
chose: a dry run, as ``conditions.failing`` decides for the alerts too), its last sync is recent
(within 3 x its pollInterval unless ``--max-age`` says otherwise: the poll is the backstop, so
three missed polls mean the operator is not doing its job) and none of its push channels has
expired (the operator renews them long before). A suspended resource is reported but never
unhealthy: someone chose that. A resource younger than its threshold that has not synced yet
is "pending", not a failure. Endpoint probes arrive here as results; the I/O lives in
``cli/check.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from calsync_operator.api.conditions import failing, get_condition
from calsync_operator.api.spec import parse_duration
from calsync_operator.api.status import sources_by_key
from calsync_operator.api.times import try_parse_time

State = Literal["healthy", "unhealthy"]
HEALTHY: State = "healthy"
UNHEALTHY: State = "unhealthy"
DEFAULT_POLL_SECONDS = 300
POLLS_BEFORE_STALE = 3


@dataclass(frozen=True)
class EndpointResult:
    """One probed endpoint: ``detail`` is "HTTP 200", "connection refused", "not configured"."""

    name: str
    url: str | None
    healthy: bool
    detail: str


@dataclass(frozen=True)
class ResourceHealth:
    namespace: str
    name: str
    healthy: bool
    ready: str  # True / False / Unknown / "-" (no condition yet)
    reason: str
    last_sync_age: float | None  # seconds; None: never synced
    max_age: float
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    checked_at: datetime
    endpoints: tuple[EndpointResult, ...]
    resources: tuple[ResourceHealth, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def state(self) -> State:
        return HEALTHY if not self.problems else UNHEALTHY

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "checkedAt": self.checked_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "problems": list(self.problems),
            "endpoints": [asdict(e) for e in self.endpoints],
            "resources": [
                {
                    "namespace": r.namespace,
                    "name": r.name,
                    "healthy": r.healthy,
                    "ready": r.ready,
                    "reason": r.reason,
                    "lastSyncAgeSeconds": None if r.last_sync_age is None else round(r.last_sync_age),
                    "maxAgeSeconds": round(r.max_age),
                    "problems": list(r.problems),
                }
                for r in self.resources
            ],
        }


def stale_after(spec: Mapping[str, Any], max_age: float | None) -> float:
    """Seconds after which a last sync counts as stale: ``max_age``, else 3 x pollInterval."""
    if max_age is not None:
        return max_age
    try:
        poll = parse_duration(str(spec.get("pollInterval", "5m")))
    except ValueError:
        poll = DEFAULT_POLL_SECONDS
    return float(POLLS_BEFORE_STALE * poll)


def assess_resource(obj: Mapping[str, Any], now: datetime, max_age: float | None = None) -> ResourceHealth:
    """The health of one CalendarSync from its body as the API returns it."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    limit = stale_after(spec, max_age)
    ready = get_condition(status.get("conditions"), "Ready")
    ready_status = str(ready.get("status", "Unknown")) if ready else "-"
    reason = str(ready.get("reason", "")) if ready else ""
    last_sync = try_parse_time(status.get("lastSyncTime"))
    age = None if last_sync is None else max(0.0, (now - last_sync).total_seconds())
    created = try_parse_time(meta.get("creationTimestamp"))
    young = created is not None and (now - created).total_seconds() < limit

    def verdict(*problems: str) -> ResourceHealth:
        return ResourceHealth(
            str(meta.get("namespace", "")),
            str(meta.get("name", "")),
            not problems,
            ready_status,
            reason,
            age,
            limit,
            tuple(problems),
        )

    if spec.get("suspend"):
        return verdict() if reason else replace(verdict(), reason="Suspended")
    problems: list[str] = []
    if ready is None:
        if not young:
            problems.append("no Ready condition: is the operator running?")
        return replace(verdict(*problems), reason=reason or "Pending")
    if failing(status.get("conditions")) or ready_status not in ("True", "False"):
        message = str(ready.get("message", "")).strip()
        problems.append(f"Ready={ready_status} ({reason})" + (f": {message}" if message else ""))
    if age is None:
        if not young:
            problems.append("has never synced")
    elif age > limit:
        problems.append(f"last sync {format_age(age)} ago (limit {format_age(limit)})")
    for entry in sources_by_key(status).values():
        if entry.channel is not None and entry.channel.expiration < now:
            overdue = format_age((now - entry.channel.expiration).total_seconds())
            problems.append(f"push channel of {entry.calendar_id or '?'} expired {overdue} ago")
    return verdict(*problems)


def build_report(
    now: datetime,
    endpoints: Sequence[EndpointResult],
    objects: Sequence[Mapping[str, Any]],
    max_age: float | None = None,
) -> Report:
    resources = tuple(
        sorted((assess_resource(obj, now, max_age) for obj in objects), key=lambda r: (r.namespace, r.name))
    )
    problems = [f"{e.name}: {e.detail} ({e.url})" for e in endpoints if not e.healthy]
    problems += [f"{r.namespace}/{r.name}: {p}" for r in resources for p in r.problems]
    return Report(now, tuple(endpoints), resources, tuple(problems))


def format_age(seconds: float) -> str:
    """kubectl-style ages: 45s, 12m, 3h, 2d."""
    value = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size * (2 if unit != "m" else 1):
            return f"{value // size}{unit}"
    return f"{value}s"


def render_table(report: Report) -> str:
    """What a person reads: endpoints, one row per CalendarSync, then every problem."""
    lines = [f"{report.state.upper()} at {report.checked_at.strftime('%Y-%m-%d %H:%M:%S')} UTC", ""]
    rows: list[tuple[str, ...]] = [("COMPONENT", "STATUS", "DETAIL")]
    for endpoint in report.endpoints:
        mark = "-" if endpoint.url is None else "ok" if endpoint.healthy else "FAIL"  # "-": not probed
        rows.append((endpoint.name, mark, endpoint.detail + (f" {endpoint.url}" if endpoint.url else "")))
    lines += columns(rows)
    lines.append("")
    rows = [("NAMESPACE", "NAME", "READY", "REASON", "LAST SYNC", "LIMIT", "STATUS")]
    for r in report.resources:
        age = "never" if r.last_sync_age is None else format_age(r.last_sync_age) + " ago"
        rows.append(
            (
                r.namespace,
                r.name,
                r.ready,
                r.reason or "-",
                age,
                format_age(r.max_age),
                "ok" if r.healthy else "FAIL",
            )
        )
    lines += columns(rows) if report.resources else ["No CalendarSyncs found."]
    if report.problems:
        lines += ["", "Problems:"] + [f"  - {problem}" for problem in report.problems]
    return "\n".join(lines) + "\n"


def columns(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Left-aligned columns three spaces apart, as kubectl prints tables."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def should_notify(previous: str | None, current: State) -> bool:
    """Mail on a change of the overall state only; a first run mails only when unhealthy."""
    if previous is None:
        return current == UNHEALTHY
    return previous != current


def mail_subject(report: Report) -> str:
    if report.state == HEALTHY:
        return "calsync: healthy again"
    count = len(report.problems)
    return f"calsync: unhealthy ({count} problem{'s' if count != 1 else ''})"
