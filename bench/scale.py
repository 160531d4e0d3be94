"""Many CalendarSyncs on one operator: start-up, memory, rest, a push burst, a SIGKILL restart.

A real API server (the control plane from ``KUBEBUILDER_ASSETS``, or ``$KUBECONFIG``), the
Google emulator, the webhook and the operator, each in its own process. N CalendarSyncs, each
with 2 sources of 3 events and 3 token Secrets (one per calendar), as a new user with many
calendars would have them. Phases, one function each:

1. ``start_world``: control plane, emulator, webhook, operator; the operator's idle RSS.
2. ``seed``: the source events in Google and the 3 N Secrets (not timed).
3. ``apply_and_wait_ready``: create the N CalendarSyncs; seconds until every one is Ready.
4. ``measure_rest``: after one more poll interval, ``--rest-intervals`` poll intervals at rest:
   source listings per source per interval (the emulator's count: 1.0 is one incremental list
   each, nothing more) and Kubernetes writes per CalendarSync per interval (a watch; the
   documented ``lastSyncTime`` refresh is counted apart).
5. ``burst``: one edit in every source at once (2 N pushes); seconds until every copy is updated
   (the emulator's count of copy updates, then every target checked).
6. ``restart``: SIGKILL the operator, start a new one, and at once another burst; seconds until
   every source was resumed (all Ready) and until every copy is updated; the new operator's
   full listings (0: it resumes from the sync tokens in status).

    python bench/scale.py [N] [--poll 30s] [--rest-intervals 2]

Figures include the whole path (Google emulator → webhook → API server → operator → emulator)
and the machine's other load, printed with the load average. The last line is
``crs= ready_s= rss_mb= rss_per_cr_kb= lists_per_source_interval= k8s_writes_per_cr_at_rest=
burst_s= restart_burst_s=``.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calsync_operator.api.names import GROUP, VERSION
from calsync_operator.api.times import try_parse_time
from calsync_operator.sync.rolling import next_full_sync
from observe import WriteWatch, describe_change, profiled
from parts import (
    Cluster,
    Emulator,
    Operator,
    Process,
    ReadyWatch,
    WriteKind,
    WriteOp,
    bench_namespace,
    cpu_seconds,
    inserts,
    load_average,
    rss_mb,
    start_emulator,
    start_operator,
    start_webhook,
    stop_on_sigterm,
    wait_until,
    write_all,
)

EVENTS_PER_SOURCE = 3
SOURCES = ("a", "b")


def source_calendar(i: int, s: str) -> str:
    return f"bench-{i:05d}-{s}@example.com"


def target_calendar(i: int) -> str:
    return f"bench-{i:05d}-target@example.com"


def event_ids(i: int, s: str) -> list[str]:
    return [f"ev{i:05d}{s}{j}" for j in range(EVENTS_PER_SOURCE)]


@dataclass
class World:
    n: int
    poll: str
    folder: Path
    cluster: Cluster
    emulator: Emulator
    webhook: Process
    webhook_url: str
    plane_pids: dict[str, int] = field(default_factory=dict)
    operators: list[Operator] = field(default_factory=list)
    idle_rss_mb: float = 0.0
    stopped_operators_cpu: float = 0.0  # CPU seconds of operators already killed
    shards: int = 1  # operator processes, one per shard (calsync operator --shard I --shards N)
    readiness: ReadyWatch = field(init=False)

    def __post_init__(self) -> None:
        self.readiness = ReadyWatch(self.cluster)

    def operator_env(self) -> dict[str, str]:
        return {}

    def start_operators(self) -> None:
        self.operators = [
            start_operator(
                self.cluster.kubeconfig,
                self.cluster.namespace,
                self.emulator,
                self.webhook_url,
                self.folder,
                {**self.operator_env(), "CALSYNC_SHARD": str(shard), "CALSYNC_SHARDS": str(self.shards)},
            )
            for shard in range(self.shards)
        ]

    def per_shard(self) -> str:
        """Per operator process: the CalendarSyncs whose status it wrote last, its status writes,
        Google calls and RSS."""
        owners: dict[str, int] = {}
        for obj in self.cluster.calendarsyncs():
            label = str(obj.get("status", {}).get("shard", "?"))
            owners[label] = owners.get(label, 0) + 1
        return "; ".join(
            f"shard {i}/{self.shards}: crs={owners.get(f'{i}/{self.shards}', 0)} "
            f"status_writes={op.metric('calsync_status_writes_total', result='written'):.0f} "
            f"google_calls={op.metric('calsync_google_calls_total'):.0f} rss_mb={rss_mb(op.process.pid):.0f}"
            for i, op in enumerate(self.operators)
        )

    def rss_mb(self, field: str = "VmRSS") -> float:
        return sum(rss_mb(op.process.pid, field) for op in self.operators)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of every process of the world (operators summed)."""
        pids = {"webhook": self.webhook.pid, "emulator": self.emulator.process.pid, **self.plane_pids}
        seconds = {name: cpu_seconds(pid) for name, pid in pids.items()}
        live = sum(cpu_seconds(op.process.pid) for op in self.operators)
        seconds["operator"] = self.stopped_operators_cpu + live
        return seconds

    def metric(self, name: str, **labels: str) -> float:
        return sum(op.metric(name, **labels) for op in self.operators)

    def stop(self) -> None:
        for process in [*(op.process for op in self.operators), self.webhook, self.emulator.process]:
            process.stop()
        self.readiness.stop()
        self.cluster.close()


@contextlib.contextmanager
def start_world(n: int, poll: str, shards: int = 1) -> Iterator[World]:
    with bench_namespace("bench") as (kubeconfig, plane_pids, folder, cluster):
        emulator = start_emulator(folder)
        webhook, webhook_url = start_webhook(kubeconfig, cluster.namespace, folder)
        world = World(n, poll, folder, cluster, emulator, webhook, webhook_url, plane_pids, shards=shards)
        try:
            world.start_operators()
            time.sleep(2)  # let it settle: the idle figure is the baseline of the per-CR cost
            world.idle_rss_mb = world.rss_mb()
            yield world
        finally:
            world.stop()


def seed(world: World) -> None:
    """Source events in Google and 3 token Secrets per CalendarSync (not timed)."""
    world.emulator.create_calendars(
        [source_calendar(i, s) for i in range(world.n) for s in SOURCES]
        + [target_calendar(i) for i in range(world.n)]
    )
    google = world.emulator.client()
    ops = [
        op
        for i in range(world.n)
        for s in SOURCES
        for op in inserts(source_calendar(i, s), event_ids(i, s), "meeting")
    ]
    write_all(google, ops)
    secrets = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"cs{i:05d}-{role}", "labels": {"app.kubernetes.io/part-of": "calsync"}},
            "stringData": {"token.json": world.emulator.token_json(f"rt-{i}-{role}")},
        }
        for i in range(world.n)
        for role in (*SOURCES, "target")
    ]
    world.cluster.create_all(secrets)


def calendarsync(i: int, poll: str) -> dict[str, Any]:
    def secret(role: str) -> dict[str, Any]:
        return {"secretRef": {"name": f"cs{i:05d}-{role}"}}

    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "CalendarSync",
        "metadata": {"name": f"cs{i:05d}"},
        "spec": {
            "target": {"calendarId": target_calendar(i), "credentials": secret("target")},
            "sources": [
                {"calendarId": source_calendar(i, s), "credentials": secret(s), "titlePrefix": f"[{s}] "}
                for s in SOURCES
            ],
            "pollInterval": poll,
        },
    }


def all_ready(world: World) -> bool:
    return world.readiness.all_ready(world.n)


def apply_and_wait_ready(world: World, timeout: float = 600) -> float:
    began = time.monotonic()
    world.cluster.create_all([calendarsync(i, world.poll) for i in range(world.n)])
    wait_until(lambda: all_ready(world), timeout, "all CalendarSyncs Ready", every=0.2)
    return time.monotonic() - began


def poll_seconds(poll: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(poll[:-1]) * units[poll[-1]]


def measure_rest(world: World, intervals: int) -> tuple[float, float, float]:
    """(source lists per source per interval, writes per CR per interval, lastSyncTime refreshes
    per CR per interval) over ``intervals`` poll intervals, after one interval to settle."""
    interval = poll_seconds(world.poll)
    time.sleep(interval)
    events_before = len(world.cluster.core.list_namespaced_event(world.cluster.namespace).items)
    writes = WriteWatch(world.cluster)
    writes.start()
    lists_before = world.emulator.calls("events.list")
    time.sleep(interval * intervals)
    lists = world.emulator.calls("events.list") - lists_before
    writes.stop()
    events = len(world.cluster.core.list_namespaced_event(world.cluster.namespace).items) - events_before
    for kind, name, before, after in writes.changes[:5]:
        print(f"  write at rest: {kind} {name}: {describe_change(before, after)}", flush=True)
    per_cr = world.n * intervals
    return lists / (len(SOURCES) * per_cr), (writes.writes + events) / per_cr, writes.refreshes / per_cr


def burst(world: World, round_: int, timeout: float = 600) -> float:
    """One title edit in every source at once; seconds until every copy is updated."""
    google = world.emulator.client()
    title = f"burst {round_}"
    edits = [
        WriteOp(WriteKind.PATCH, source_calendar(i, s), event_ids(i, s)[0], {"summary": title})
        for i in range(world.n)
        for s in SOURCES
    ]
    updates_before = world.emulator.calls("events.update")
    began = time.monotonic()
    write_all(google, edits)
    expected = updates_before + len(edits)
    wait_until(
        lambda: world.emulator.calls("events.update") >= expected, timeout, "every copy updated", every=1.0
    )
    elapsed = time.monotonic() - began
    check_targets(world, title)
    return elapsed


def check_targets(world: World, title: str) -> None:
    missing = []
    for i in range(world.n):
        titles = {e.get("summary") for e in world.emulator.events(target_calendar(i))}
        missing += [f"{i}/{s}" for s in SOURCES if f"[{s}] {title}" not in titles]
    if missing:
        raise RuntimeError(f"{len(missing)} copies lack the burst's title, e.g. {missing[:5]}")


def last_full_lists(world: World) -> dict[str, datetime]:
    """Each source's ``lastFullSyncTime`` by its re-list slot key (``namespace/name/source``)."""
    found: dict[str, datetime] = {}
    for obj in world.cluster.calendarsyncs():
        meta = obj["metadata"]
        for source in obj.get("status", {}).get("sources", []):
            last = try_parse_time(source.get("lastFullSyncTime"))
            if last is not None:
                found[f"{meta['namespace']}/{meta['name']}/{source['key']}"] = last
    return found


def scheduled_full_lists(before: dict[str, datetime], until: datetime) -> int:
    """Sources whose daily full re-list slot (``sync/rolling.py``) after their
    ``lastFullSyncTime`` before the restart came by ``until``: full listings the schedule asks
    for whether or not the operator restarted (a slot that passed shortly before the SIGKILL
    waits for the source's next pass, which the new operator makes)."""
    return sum(1 for key, last in before.items() if next_full_sync(last, key) <= until)


def restart(world: World, round_: int, profile: str | None = None) -> tuple[float, float, float, int]:
    """SIGKILL the operator, start a new one and burst at once: (seconds until every source was
    resumed and all Ready, seconds until the burst reached every target, full listings, of them
    the daily re-lists the schedule asked for meanwhile); ``profile``: py-spy the new operator,
    the webhook and the emulator into ``profile/restart``."""
    before = last_full_lists(world)
    for operator in world.operators:
        world.stopped_operators_cpu += cpu_seconds(operator.process.pid)
        operator.process.stop(kill=True)
    began = time.monotonic()
    world.start_operators()
    burst_result: list[float] = []
    thread = threading.Thread(target=lambda: burst_result.append(burst(world, round_)))
    thread.start()
    sources = len(SOURCES) * world.n

    def resumed() -> bool:
        return world.metric("calsync_syncs_total") >= sources and all_ready(world)  # cheap first

    processes = [*(op.process for op in world.operators), world.webhook, world.emulator.process]
    with profiled(processes, profile and f"{profile}/restart", world.cluster):
        wait_until(resumed, 600, "every source resumed", every=1.0)
        ready_s = time.monotonic() - began
        thread.join()
    full = world.metric("calsync_google_lists_total", kind="full")
    return ready_s, burst_result[0], full, scheduled_full_lists(before, datetime.now(UTC))


class PhaseLog:
    """One line per phase: its figures, the CPU seconds each process spent in it, the load."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.cpu = world.cpu()
        self.requests = world.cluster.requests()

    def line(self, text: str) -> None:
        now = self.world.cpu()
        spent = " ".join(f"{name}={now[name] - self.cpu.get(name, 0.0):.1f}" for name in sorted(now))
        self.cpu = now
        requests = self.world.cluster.requests()
        made = ", ".join(f"{k} {v}" for k, v in (requests - self.requests).most_common(8))
        self.requests = requests
        print(f"{text}\n    cpu_s: {spent}; load {load_average()}\n    API requests: {made}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1000, help="CalendarSyncs (default 1000)")
    parser.add_argument("--poll", default="30s", help="spec.pollInterval (default 30s, the minimum)")
    parser.add_argument("--rest-intervals", type=int, default=2, help="poll intervals measured at rest")
    parser.add_argument("--shards", type=int, default=1, help="operator processes, one per shard (default 1)")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="py-spy the processes at start, first burst, restart (DIR/start, /burst, /restart)",
    )
    args = parser.parse_args()
    stop_on_sigterm()
    with start_world(args.n, args.poll, args.shards) as world:
        log = PhaseLog(world)
        print(f"world up; operator idle RSS {world.idle_rss_mb:.0f} MB; load {load_average()}", flush=True)
        seed(world)
        log.line(f"seeded {args.n * 2 * EVENTS_PER_SOURCE} events and {args.n * 3} Secrets")
        processes = [*(op.process for op in world.operators), world.webhook, world.emulator.process]
        with profiled(processes, args.profile and f"{args.profile}/start", world.cluster):
            ready_s = apply_and_wait_ready(world)
        rss = world.rss_mb()
        per_cr_kb = (rss - world.idle_rss_mb) * 1024 / args.n
        peak = world.rss_mb("VmHWM")
        log.line(
            f"ready_s={ready_s:.1f} rss_mb={rss:.0f} rss_per_cr_kb={per_cr_kb:.1f} peak_rss_mb={peak:.0f}"
        )
        print(f"    per shard: {world.per_shard()}", flush=True)
        lists, writes, refreshes = measure_rest(world, args.rest_intervals)
        rss = max(rss, world.rss_mb())
        log.line(
            f"at rest: lists/source/interval={lists:.3f} writes/CR/interval={writes:.3f} "
            f"lastSyncTime refreshes/CR/interval={refreshes:.3f} rss_mb={world.rss_mb():.0f}"
        )
        with profiled(processes, args.profile and f"{args.profile}/burst", world.cluster):
            burst_s = burst(world, 1)
        log.line(f"burst_s={burst_s:.1f}")
        restart_ready_s, restart_burst_s, full_lists, scheduled = restart(world, 2, args.profile)
        log.line(
            f"restart: ready_s={restart_ready_s:.1f} burst_s={restart_burst_s:.1f} "
            f"full_relists={full_lists:.0f} (daily re-list slots due meanwhile: {scheduled}) "
            f"rss_mb={world.rss_mb():.0f}"
        )
        print(
            f"crs={args.n} shards={args.shards} ready_s={ready_s:.1f} ready_per_s={args.n / ready_s:.1f} "
            f"rss_mb={rss:.0f} rss_per_cr_kb={per_cr_kb:.1f} "
            f"lists_per_source_interval={lists:.2f} k8s_writes_per_cr_at_rest={writes:.2f} "
            f"burst_s={burst_s:.1f} restart_burst_s={restart_burst_s:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
