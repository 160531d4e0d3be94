"""Shards: N CalendarSyncs over S operator processes — split, SIGKILL failover, reshard S → S+1.

A real API server (the control plane from ``KUBEBUILDER_ASSETS``, or ``$KUBECONFIG``), the
Google emulator, the webhook and every operator in its own process (``parts.py``). Each
CalendarSync writes with its own target account (its own shard key) from one source. Edits are
new events inserted through the Google API, so they reach the operators by push. Phases:

0. ``baseline`` (skip with ``--no-baseline``): one operator, N CalendarSyncs in a namespace of
   their own; CalendarSyncs per second reaching Ready at start.
1. ``split``: S operators (``--shard i --shards S``), N CalendarSyncs; the Ready rate; one edit
   per source; then, per process, the CalendarSyncs it owns, its status writes and Google
   calls. Exactly one shard served each CalendarSync when every status write (a watch, the
   ledger: ``tests/support/shard_ledger.py``) carries its owner's ``status.shard`` and the
   per-process status write counts add up to the sum of ``status.revision``.
2. ``failover``: a stream of edits; SIGKILL shard 1, start it again; the stream ends; then
   0 lost (every source event has its copy), 0 duplicated (no second copy), every CR Ready.
3. ``reshard``: a stream of edits; S+1 new operators (``--shards S+1``) start while the S old
   ones still run (overlap), then the old ones stop; the stream ends; lost and duplicated.
   Then how many ``status.shard`` still name an old replica (the overlap's last write was
   its: the label stays until the new owner's next pass writes); one more edit per source,
   and every CalendarSync must be written again, by its new owner only, and name it.

    python bench/shards.py [N] [--shards 3] [--rate 20] [--no-baseline]

The last line is ``crs= shards= ready_per_s_1= ready_per_s= owners_ok= failover_lost=
failover_dup= reshard_lost= reshard_dup= reshard_owned_ok= stale_after_overlap= conflicts=
load=``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calsync_operator.api.names import GROUP, VERSION
from parts import (
    Cluster,
    Emulator,
    Operator,
    Process,
    cpu_seconds,
    inserts,
    kubeconfig_for_bench,
    load_average,
    ready,
    rss_mb,
    spawn_operator,
    start_emulator,
    start_operator,
    start_webhook,
    wait_until,
    write_all,
)
from support.shard_ledger import StatusWriteLedger


def source_calendar(tag: str, n: int) -> str:
    return f"{tag}-{n:05d}-src@example.com"


def target_calendar(tag: str, n: int) -> str:
    return f"{tag}-{n:05d}-tgt@example.com"


def shard_of(namespace: str, n: int, shards: int) -> int:
    """The owner of CalendarSync ``n``: sha256 of its target Secret, as the operator computes it
    (``controller/rules/shard.py``; restated here so the bench checks it, not trusts it)."""
    digest = hashlib.sha256(f"{namespace}/tgt-{n}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def bodies(emulator: Emulator, tag: str, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for n in range(count):
        for role in ("src", "tgt"):
            found.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": f"{role}-{n}", "labels": {"app.kubernetes.io/part-of": "calsync"}},
                    "stringData": {"token.json": emulator.token_json(f"rt-{role}-{n}")},
                }
            )
        found.append(
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "CalendarSync",
                "metadata": {"name": f"cs-{n}"},
                "spec": {
                    "target": {"calendarId": target_calendar(tag, n), "credentials": secret(f"tgt-{n}")},
                    "sources": [{"calendarId": source_calendar(tag, n), "credentials": secret(f"src-{n}")}],
                    "onDelete": "keepCopies",
                },
            }
        )
    return found


def secret(name: str) -> dict[str, Any]:
    return {"secretRef": {"name": name}}


@dataclass
class World:
    kubeconfig: str
    count: int
    folder: Path
    emulator: Emulator
    webhook: Process
    webhook_url: str
    cluster: Cluster
    operators: list[tuple[int, int, Operator]] = field(default_factory=list)
    edits: int = 0

    @property
    def tag(self) -> str:
        return self.cluster.namespace

    def start(self, shard: int, shards: int) -> Operator:
        env = {"CALSYNC_SHARD": str(shard), "CALSYNC_SHARDS": str(shards)}
        operator = start_operator(
            self.kubeconfig, self.cluster.namespace, self.emulator, self.webhook_url, self.folder, env
        )
        self.operators.append((shard, shards, operator))
        return operator

    def start_together(self, shards: int) -> list[Operator]:
        """Every shard of a new generation at once, as a StatefulSet starts them (Parallel):
        spawned first, then waited for together (a loaded box takes a while to list)."""
        started = []
        for shard in range(shards):
            env = {"CALSYNC_SHARD": str(shard), "CALSYNC_SHARDS": str(shards)}
            operator = spawn_operator(
                self.kubeconfig, self.cluster.namespace, self.emulator, self.webhook_url, self.folder, env
            )
            self.operators.append((shard, shards, operator))
            started.append(operator)
        wait_until(lambda: all([op.alive_and_healthy() for op in started]), 600, f"{shards} new operators")
        return started

    def edit(self, numbers: list[int]) -> None:
        """One new event in each of these sources, in one batch through the Google API."""
        google = self.emulator.client()
        try:
            ops = []
            for n in numbers:
                self.edits += 1
                event_id = f"ed{self.edits:06d}n{n:05d}"
                ops += inserts(source_calendar(self.tag, n), [event_id], f"edit {self.edits}")
            write_all(google, ops)
        finally:
            google.close()

    def objects(self) -> dict[str, dict[str, Any]]:
        return {obj["metadata"]["name"]: obj for obj in self.cluster.calendarsyncs()}

    def lost_and_duplicated(self) -> tuple[int, int]:
        lost = duplicated = 0
        for n in range(self.count):
            wanted = [e["summary"] for e in self.emulator.events(source_calendar(self.tag, n))]
            copies = [e["summary"] for e in self.emulator.events(target_calendar(self.tag, n))]
            lost += len(set(wanted) - set(copies))
            duplicated += len(copies) - len(set(copies))
        return lost, duplicated

    def settled(self) -> bool:
        objects = self.objects()
        return all(ready(obj) for obj in objects.values()) and self.lost_and_duplicated() == (0, 0)

    def stop(self) -> None:
        for _, _, operator in self.operators:
            operator.process.stop()
        self.webhook.stop()
        self.emulator.process.stop()
        self.cluster.close()


@contextlib.contextmanager
def stream_of_edits(world: World, rate: float) -> Iterator[None]:
    """Edits to random sources at ``rate`` per second, in a thread, until the block ends."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(1.0):
            world.edit(random.sample(range(world.count), min(world.count, max(1, int(rate)))))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def seed(world: World) -> None:
    """The calendars (the emulator, like Google, knows only calendars that exist) and two events
    in every source."""
    tag = world.tag
    world.emulator.create_calendars(
        [c for n in range(world.count) for c in (source_calendar(tag, n), target_calendar(tag, n))]
    )
    google = world.emulator.client()
    try:
        ops = []
        for n in range(world.count):
            ops += inserts(source_calendar(world.tag, n), [f"seed{n:05d}a", f"seed{n:05d}b"], f"seed {n}")
        write_all(google, ops)
    finally:
        google.close()


def ready_rate(world: World) -> float:
    """Create the CalendarSyncs; CalendarSyncs per second until every one is Ready."""
    began = time.monotonic()
    world.cluster.create_all(bodies(world.emulator, world.tag, world.count))
    wait_until(
        lambda: sum(ready(o) for o in world.objects().values()) == world.count, 1800, "all Ready", every=1.0
    )
    return world.count / (time.monotonic() - began)


def baseline(kubeconfig: str, count: int, folder: Path, emulator: Emulator) -> float:
    cluster = Cluster(kubeconfig, f"bench-shards-one-{uuid.uuid4().hex[:6]}")
    cluster.install()
    webhook, url = start_webhook(kubeconfig, cluster.namespace, folder)
    world = World(kubeconfig, count, folder, emulator, webhook, url, cluster)
    try:
        seed(world)
        world.start(0, 1)
        return ready_rate(world)
    finally:
        for _, _, operator in world.operators:
            operator.process.stop()
        webhook.stop()
        cluster.close()


def split(world: World, shards: int) -> dict[str, Any]:
    with StatusWriteLedger(world.cluster.api, world.cluster.namespace) as ledger:
        for shard in range(shards):
            world.start(shard, shards)
        rate = ready_rate(world)
        world.edit(list(range(world.count)))
        wait_until(world.settled, 900, "every edit copied", every=2.0)
        objects = world.objects()
    namespace = world.cluster.namespace
    owners = {n: shard_of(namespace, n, shards) for n in range(world.count)}
    ledger_ok = all(ledger.writers[f"cs-{n}"] == {f"{owners[n]}/{shards}"} for n in range(world.count))
    per_shard = []
    for shard, _, operator in world.operators:
        per_shard.append(
            {
                "shard": shard,
                "owned": sum(1 for index in owners.values() if index == shard),
                "status_writes": operator.metric("calsync_status_writes_total", result="written"),
                "google_calls": operator.metric("calsync_google_calls_total"),
                "cpu_s": cpu_seconds(operator.process.pid),
                "rss_mb": round(rss_mb(operator.process.pid), 1),
            }
        )
    revisions = sum(int(o["status"].get("revision", 0)) for o in objects.values())
    writes = sum(p["status_writes"] for p in per_shard)
    print(
        f"split: {shards} shards, {world.count} CRs, {rate:.1f} CRs/s to Ready; ledger ok: {ledger_ok}; "
        f"status writes {writes:.0f} = revisions {revisions}: {writes == revisions}"
    )
    for item in per_shard:
        print("  " + json.dumps(item))
    busy = [p for p in per_shard if p["owned"]]
    calls_ok = all(p["google_calls"] > 0 for p in busy) and all(
        p["google_calls"] == 0 and p["status_writes"] == 0 for p in per_shard if not p["owned"]
    )
    return {"ready_per_s": rate, "owners_ok": ledger_ok and writes == revisions and calls_ok}


def failover(world: World, shards: int, rate: float) -> dict[str, Any]:
    victim = next(op for shard, _, op in world.operators if shard == 1 % shards)
    with stream_of_edits(world, rate):
        time.sleep(3)
        victim.process.stop(kill=True)
        time.sleep(3)
        world.start(1 % shards, shards)
        time.sleep(3)
    wait_until(world.settled, 900, "every edit copied after the failover", every=2.0)
    lost, duplicated = world.lost_and_duplicated()
    print(f"failover: SIGKILL shard {1 % shards}, {world.edits} edits: lost {lost}, duplicated {duplicated}")
    return {"failover_lost": lost, "failover_dup": duplicated}


def reshard(world: World, shards: int, rate: float) -> dict[str, Any]:
    old = [op for _, _, op in world.operators if op.process.popen.poll() is None]
    with stream_of_edits(world, rate):
        time.sleep(2)
        new = world.start_together(shards + 1)
        time.sleep(5)  # both generations serve
        for operator in old:
            operator.process.stop()
        time.sleep(3)
    wait_until(world.settled, 900, "every edit copied after the reshard", every=2.0)
    namespace = world.cluster.namespace
    expected = {f"cs-{n}": f"{shard_of(namespace, n, shards + 1)}/{shards + 1}" for n in range(world.count)}
    # The overlap's last write may be an old replica's: its label stays until the owner writes.
    stale = sum(1 for name, obj in world.objects().items() if obj["status"].get("shard") != expected[name])
    with StatusWriteLedger(world.cluster.api, namespace) as ledger:
        world.edit(list(range(world.count)))  # after the reshard: only new owners may write
        wait_until(
            lambda: world.settled() and all(ledger.writes[name] for name in expected),
            900,
            "the last round copied and every status written again",
            every=2.0,
        )
    lost, duplicated = world.lost_and_duplicated()
    objects = world.objects()
    owned_ok = True
    for name, label in expected.items():
        found, seen = objects[name]["status"]["shard"], sorted(ledger.writers[name])
        if found != label or seen != [label]:
            owned_ok = False
            print(f"  {name}: owner {label}, status.shard {found}, status writes after the reshard by {seen}")
    conflicts = sum(op.metric("calsync_status_writes_total", result="conflict") for op in new)
    print(
        f"reshard {shards}->{shards + 1} with overlap: lost {lost}, duplicated {duplicated}, "
        f"status.shard of an old replica when the overlap ended: {stale}, "
        f"each written by its new shard only: {owned_ok}, status write conflicts {conflicts:.0f}"
    )
    return {
        "reshard_lost": lost,
        "reshard_dup": duplicated,
        "reshard_owned_ok": owned_ok,
        "stale_after_overlap": stale,
        "conflicts": conflicts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("crs", nargs="?", type=int, default=300)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0, help="edits per second (failover, reshard)")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="calsync-bench-shards-"))
    with kubeconfig_for_bench() as (kubeconfig, _pids):
        emulator = start_emulator(folder)
        try:
            rate_one = 0.0 if args.no_baseline else baseline(kubeconfig, args.crs, folder, emulator)
            if rate_one:
                print(f"baseline: 1 shard, {args.crs} CRs, {rate_one:.1f} CRs/s to Ready")
            cluster = Cluster(kubeconfig, f"bench-shards-{uuid.uuid4().hex[:6]}")
            cluster.install()
            webhook, url = start_webhook(kubeconfig, cluster.namespace, folder)
            world = World(kubeconfig, args.crs, folder, emulator, webhook, url, cluster)
            try:
                seed(world)
                figures = split(world, args.shards)
                figures |= failover(world, args.shards, args.rate)
                figures |= reshard(world, args.shards, args.rate)
            finally:
                world.stop()
        finally:
            emulator.process.stop()
    print(
        f"crs={args.crs} shards={args.shards} ready_per_s_1={rate_one:.1f} "
        f"ready_per_s={figures['ready_per_s']:.1f} "
        f"owners_ok={figures['owners_ok']} failover_lost={figures['failover_lost']} "
        f"failover_dup={figures['failover_dup']} reshard_lost={figures['reshard_lost']} "
        f"reshard_dup={figures['reshard_dup']} reshard_owned_ok={figures['reshard_owned_ok']} "
        f"stale_after_overlap={figures['stale_after_overlap']} "
        f"conflicts={figures['conflicts']:.0f} load={load_average().replace(' ', '/')}"
    )


if __name__ == "__main__":
    main()
