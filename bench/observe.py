"""How scale.py observes the world besides its figures: Kubernetes writes at rest (a watch),
and py-spy stacks of the processes during a burst."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import watch

from calsync_operator.api.names import GROUP, PLURAL, VERSION
from parts import Cluster, Process


class WriteWatch:
    """Counts writes to the namespace's CalendarSyncs (watch events), telling the documented
    ``lastSyncTime`` refresh apart from any other change."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.writes = 0
        self.refreshes = 0
        self.changes: list[tuple[str, str, Any, Any]] = []  # (watch event type, name, before, after)
        self._watch = watch.Watch()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _without_sync_times(obj: dict[str, Any]) -> Any:
        """The object minus what the refresh writes: ``lastSyncTime`` (of the object and of
        each source) and the sync token the same idle listing returned."""
        refreshed = ("lastSyncTime", "syncToken")
        status = {k: v for k, v in (obj.get("status") or {}).items() if k not in refreshed}
        status["sources"] = [
            {k: v for k, v in s.items() if k not in refreshed} for s in status.get("sources", [])
        ]
        return obj.get("metadata", {}).get("annotations"), obj.get("spec"), status

    def start(self) -> None:
        listing = self.cluster.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.cluster.namespace, PLURAL
        )
        seen = {o["metadata"]["name"]: self._without_sync_times(o) for o in listing["items"]}
        version = listing["metadata"]["resourceVersion"]

        def run() -> None:
            stream = self._watch.stream(
                self.cluster.custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.cluster.namespace,
                PLURAL,
                resource_version=version,
            )
            for event in stream:
                obj = event["object"]
                essence = self._without_sync_times(obj)
                name = obj["metadata"]["name"]
                if essence == seen.get(name):
                    self.refreshes += 1
                else:
                    self.writes += 1
                    self.changes.append((event["type"], name, seen.get(name), essence))
                seen[name] = essence

        def guarded() -> None:
            with contextlib.suppress(urllib3.exceptions.ProtocolError):  # stop() closes the stream
                run()

        self._thread = threading.Thread(target=guarded, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._watch.stop()


def describe_change(before: Any, after: Any) -> str:
    """Which parts of (annotations, spec, status without lastSyncTime) changed."""
    if before is None:
        return "new object"
    parts = []
    for label, old, new in zip(("annotations", "spec", "status"), before, after, strict=True):
        if old != new:
            keys = sorted(k for k in {*(old or {}), *(new or {})} if (old or {}).get(k) != (new or {}).get(k))
            parts.append(f"{label}: {', '.join(keys)}")
    return "; ".join(parts)


def apiserver_profile(cluster: Cluster, path: Path, seconds: int) -> threading.Thread:
    """The API server's CPU profile over the next ``seconds`` (pprof, read with
    ``go tool pprof -top kube-apiserver.pprof``), in a thread."""

    def fetch() -> None:
        api = cluster.api
        method, url, headers, body, post = api.param_serialize(
            "GET", "/debug/pprof/profile", query_params=[("seconds", seconds)], auth_settings=["BearerToken"]
        )
        response = api.call_api(method, url, headers, body, post, _request_timeout=seconds + 30)
        path.write_bytes(response.read())

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def profiled(
    processes: list[Process], folder: str | None, cluster: Cluster | None = None, seconds: int = 20
) -> Iterator[None]:
    """With ``folder``: py-spy records the operator, webhook and emulator meanwhile
    (collapsed stacks of the thread holding the GIL: where CPU goes; ``pip install py-spy``),
    and with ``cluster`` the API server's first ``seconds`` are profiled too."""
    if not folder:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    if cluster is not None:
        apiserver_profile(cluster, Path(folder) / "kube-apiserver.pprof", seconds)
    recorders = [
        subprocess.Popen(
            [
                "py-spy",
                "record",
                "--gil",
                "--nonblocking",
                "--format",
                "raw",
                "-p",
                str(p.pid),
                "-o",
                str(Path(folder) / f"{p.name}-{p.pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in processes
    ]
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=30)
