"""Push → copy latency on a real API server: N sequential title edits, only the push path.

One CalendarSync (one source, one target) with ``pollInterval: 10m``, so that only a push can
explain an arrival; the control plane from ``KUBEBUILDER_ASSETS`` (or ``$KUBECONFIG``), the
Google emulator, the webhook and the operator, each in its own process. The bench watches
the target calendar itself (a push channel to a small local receiver) and times, for each edit,
from just before the edit request is sent to the emulator until the emulator announces the
change of the target (the copy was written). So a figure includes the whole path:

    edit (emulator) → push to the webhook → annotation patch (API server) → watch event →
    kopf → sync worker → incremental list + batch write (emulator) → push to the bench

Edits are spaced by more than the webhook's coalescing window (250 ms): a push that comes
within the window of the previous one waits, by design, for the window's end (one patch per
source per window), and that wait is not what this bench measures.

    python bench/latency.py [N]

The last line is ``p50_ms= p99_ms= max_ms= arrived=``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from calsync_operator.api.names import GROUP, VERSION
from parts import (
    Emulator,
    Operator,
    WriteKind,
    WriteOp,
    bench_namespace,
    inserts,
    load_average,
    ready,
    start_emulator,
    start_operator,
    start_webhook,
    stop_on_sigterm,
    wait_until,
    write_all,
)

SOURCE, TARGET, EVENT = "latency-source@example.com", "latency-target@example.com", "ed1t0000001"
COALESCE_WINDOW = 0.25  # the webhook's default (CALSYNC_COALESCE_WINDOW_MS)
ARRIVAL_TIMEOUT = 10.0


class TargetPushes:
    """A push receiver for the target calendar: the time of each ``exists`` message."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.changed = threading.Condition()
        pushes = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.headers.get("X-Goog-Resource-State") == "exists":
                    with pushes.changed:
                        pushes.arrivals.append(time.monotonic())
                        pushes.changed.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_beyond(self, count: int, timeout: float) -> float | None:
        """The time of arrival number ``count + 1``, or None after ``timeout``."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.arrivals) > count, timeout)
            return self.arrivals[count] if len(self.arrivals) > count else None

    def close(self) -> None:
        self.server.shutdown()


def calendarsync() -> dict[str, object]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "CalendarSync",
        "metadata": {"name": "latency"},
        "spec": {
            "target": {"calendarId": TARGET, "credentials": {"secretRef": {"name": "latency-target"}}},
            "sources": [{"calendarId": SOURCE, "credentials": {"secretRef": {"name": "latency-source"}}}],
            "pollInterval": "10m",
        },
    }


@contextlib.contextmanager
def start_world() -> Iterator[tuple[Emulator, Operator]]:
    """Control plane, emulator, webhook, operator, one CalendarSync Ready."""
    with bench_namespace("latency") as (kubeconfig, _, folder, cluster):
        emulator = start_emulator(folder)
        processes = [emulator.process]
        try:
            webhook, webhook_url = start_webhook(kubeconfig, cluster.namespace, folder)
            processes.append(webhook)
            operator = start_operator(kubeconfig, cluster.namespace, emulator, webhook_url, folder, {})
            processes.append(operator.process)
            emulator.create_calendars([SOURCE, TARGET])
            write_all(emulator.client(), inserts(SOURCE, [EVENT], "latency"))
            secrets = [
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {
                        "name": f"latency-{role}",
                        "labels": {"app.kubernetes.io/part-of": "calsync"},
                    },
                    "stringData": {"token.json": emulator.token_json(f"rt-latency-{role}")},
                }
                for role in ("source", "target")
            ]
            cluster.create_all([*secrets, calendarsync()])
            wait_until(lambda: all(ready(o) for o in cluster.calendarsyncs()), 60, "the CalendarSync Ready")
            yield emulator, operator
        finally:
            for process in reversed(processes):
                process.stop()
            cluster.close()


def measure(emulator: Emulator, edits: int) -> list[float | None]:
    """Latency of each edit in seconds (None: it did not arrive within the timeout)."""
    pushes = TargetPushes()
    google = emulator.client()
    google.watch(TARGET, channel_id=f"bench-{uuid.uuid4().hex}", address=pushes.url, token="bench")
    latencies: list[float | None] = []
    try:
        for n in range(edits):
            seen = len(pushes.arrivals)
            began = time.monotonic()
            [result] = google.write([WriteOp(WriteKind.PATCH, SOURCE, EVENT, {"summary": f"edit {n}"})])
            assert result.ok, result.error
            arrived = pushes.wait_beyond(seen, ARRIVAL_TIMEOUT)
            latencies.append(None if arrived is None else arrived - began)
            titles = {e.get("summary") for e in emulator.events(TARGET)}
            if arrived is not None and f"edit {n}" not in titles:
                raise RuntimeError(f"the target changed but does not hold edit {n}: {titles}")
            time.sleep(max(0.0, began + COALESCE_WINDOW + 0.05 - time.monotonic()))
    finally:
        pushes.close()
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=200, help="sequential edits (default 200)")
    args = parser.parse_args()
    stop_on_sigterm()
    with start_world() as (emulator, operator):
        print(f"world up; load {load_average()}", flush=True)
        latencies = measure(emulator, args.n)
        # The operator's own share: from the webhook's receipt time to the end of the writes.
        count = operator.metric("calsync_push_to_write_seconds_count")
        inside = operator.metric("calsync_push_to_write_seconds_sum") * 1000 / max(count, 1)
    arrived = [x * 1000 for x in latencies if x is not None]
    if not arrived:
        raise SystemExit(f"arrived=0/{args.n}")
    print(
        f"mean_ms={statistics.mean(arrived):.1f} min_ms={min(arrived):.1f} "
        f"webhook_receipt_to_write_mean_ms={inside:.1f}; load {load_average()}",
        flush=True,
    )
    print(
        f"p50_ms={percentile(arrived, 0.5):.1f} p99_ms={percentile(arrived, 0.99):.1f} "
        f"max_ms={max(arrived):.1f} arrived={len(arrived)}/{args.n}",
        flush=True,
    )


if __name__ == "__main__":
    main()
