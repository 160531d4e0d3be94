"""The processes of a benchmark world and how to observe them (shared by scale.py and latency.py).

Everything runs as a separate process, as in a cluster: the Google emulator (``calsync
emulator``), the webhook (``calsync webhook``) and the operator (``calsync operator``), all
against a real API server: the control plane from ``KUBEBUILDER_ASSETS`` (started by the
tests' launcher, ``tests/support/controlplane.py``) or the cluster of ``$KUBECONFIG``. The
operator reaches Google only through the emulator and signs up push channels at the webhook's
loopback URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support.controlplane
from kubernetes import client, config, watch
from prometheus_client.parser import text_string_to_metric_families

from calsync_operator.api.names import GROUP, PLURAL, VERSION
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.credentials import ManagedCredentials
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.google.ratelimit import TokenBucket
from calsync_operator.sync.port import WriteKind, WriteOp
from support.controlplane import ControlPlane, find_assets, free_port

CRD = Path(__file__).parents[1] / "crds" / "calendarsync.yaml"
CALSYNC = [sys.executable, "-c", "import sys; from calsync_operator.cli.main import main; sys.exit(main())"]
QUIET = {"CALSYNC_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every process the bench started is stopped by PID."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> float:
    """Seconds until ``check()`` held; raises after ``timeout``."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)
    return time.monotonic() - began


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status) == 200
    except OSError:
        return False


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The process's resident size now (``VmHWM``: its peak so far), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Process:
    """A child process with its log file; stopped by PID (SIGTERM, then SIGKILL)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def spawn(cls, name: str, args: list[str], env: dict[str, str], folder: Path) -> Process:
        log = folder / f"{name}-{uuid.uuid4().hex[:6]}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env})
        return cls(name, popen, log)

    @property
    def pid(self) -> int:
        return int(self.popen.pid)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{tail}")

    def stop(self, *, kill: bool = False) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Emulator:
    process: Process
    root: str

    def control(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.root}_emulator/{path}", timeout=30) as answer:
            return json.loads(answer.read())

    def create_calendars(self, ids: list[str]) -> None:
        """Calendars exist only once created (as on Google): the bench's sources and targets."""

        def create(calendar_id: str) -> None:
            request = urllib.request.Request(
                f"{self.root}_emulator/calendars",
                data=json.dumps({"id": calendar_id}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=30):
                pass

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(create, ids))

    def calls(self, method: str, status: int = 200) -> int:
        return int(self.control("counters")["requests"].get(method, {}).get(str(status), 0))

    def events(self, calendar_id: str) -> list[dict[str, Any]]:
        return list(self.control(f"calendars/{calendar_id}/events")["items"])

    def token_json(self, refresh_token: str) -> str:
        return json.dumps(
            {
                "refresh_token": refresh_token,
                "client_id": "bench-client",
                "client_secret": "bench-secret",
                "token_uri": f"{self.root}token",
                "scopes": ["https://www.googleapis.com/auth/calendar"],
            }
        )

    def client(self) -> GoogleCalendarClient:
        """A client for the bench's own edits: one credential, no rate limit to speak of."""
        credentials = ManagedCredentials(self.token_json("rt-bench-editor"), source="bench")
        settings = GoogleSettings(api_root=self.root, batch_size=1000)
        return GoogleCalendarClient(credentials, settings, limiter=TokenBucket(10_000_000, burst=1_000_000))


def start_emulator(folder: Path) -> Emulator:
    args = [*CALSYNC, "emulator", "--port", "0", "--log-level", "warning", "--allow-http-push"]
    process = Process.spawn("emulator", args, QUIET, folder)
    root = ""

    def announced() -> bool:
        nonlocal root
        process.check_alive()
        first = process.log.read_text().splitlines()[:1]
        root = first[0].rsplit(" ", 1)[-1] if first and "listening on" in first[0] else ""
        return bool(root)

    wait_until(announced, 30, "the emulator")
    return Emulator(process, root)


def start_webhook(kubeconfig: str, namespace: str, folder: Path) -> tuple[Process, str]:
    port = free_port()
    env = {**QUIET, "CALSYNC_NAMESPACES": namespace}
    args = [*CALSYNC, "webhook", "--host", "127.0.0.1", "--port", str(port), "--kubeconfig", kubeconfig]
    process = Process.spawn("webhook", args, env, folder)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: (process.check_alive(), http_ok(f"{base}/readyz"))[1], 60, "the webhook")
    return process, f"{base}/push"


@dataclass
class Operator:
    process: Process
    metrics_url: str
    health_url: str

    def alive_and_healthy(self) -> bool:
        """``/healthz`` answers; raises with the log's tail when the process has exited."""
        self.process.check_alive()
        return http_ok(self.health_url)

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels``."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as answer:
            text = answer.read().decode()
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total


def start_operator(
    kubeconfig: str, namespace: str, emulator: Emulator, webhook_url: str, folder: Path, env: dict[str, str]
) -> Operator:
    operator = spawn_operator(kubeconfig, namespace, emulator, webhook_url, folder, env)
    try:
        wait_until(lambda: operator.alive_and_healthy(), 60, "the operator")
    except BaseException:
        operator.process.stop()  # nobody else owns it yet
        raise
    return operator


def spawn_operator(
    kubeconfig: str, namespace: str, emulator: Emulator, webhook_url: str, folder: Path, env: dict[str, str]
) -> Operator:
    """``calsync operator`` against the emulator and the webhook, not yet waited for."""
    health, metrics = free_port(), free_port()
    environment = {
        **QUIET,
        "CALSYNC_GOOGLE_API_ROOT": emulator.root,
        "CALSYNC_GOOGLE_TOKEN_URI": f"{emulator.root}token",
        "CALSYNC_WEBHOOK_URL": webhook_url,
        "CALSYNC_WEBHOOK_INSECURE_LOOPBACK": "true",  # the webhook listens on http://127.0.0.1
        "CALSYNC_HEALTH_PORT": str(health),
        "CALSYNC_METRICS_PORT": str(metrics),
        **env,
    }
    args = [*CALSYNC, "operator", "-n", namespace, "--kubeconfig", kubeconfig]
    process = Process.spawn("operator", args, environment, folder)
    return Operator(process, f"http://127.0.0.1:{metrics}/metrics", f"http://127.0.0.1:{health}/healthz")


@dataclass
class Cluster:
    """The benchmark's namespace on the API server, through the official client."""

    kubeconfig: str
    namespace: str
    api: client.ApiClient = field(init=False)

    def __post_init__(self) -> None:
        self.api = config.new_client_from_config(config_file=self.kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    def install(self) -> None:
        """The CRD (when missing) and the namespace."""
        extensions = client.ApiextensionsV1Api(self.api)
        crd = yaml.safe_load(CRD.read_text())
        with contextlib.suppress(client.ApiException):
            extensions.create_custom_resource_definition(crd)
        wait_until(lambda: self._crd_established(extensions, crd["metadata"]["name"]), 30, "the CRD")
        self.core.create_namespace({"metadata": {"name": self.namespace}})

    @staticmethod
    def _crd_established(extensions: client.ApiextensionsV1Api, name: str) -> bool:
        conditions = extensions.read_custom_resource_definition(name).status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    def create_all(self, bodies: list[dict[str, Any]], threads: int = 8) -> None:
        """Secrets and CalendarSyncs, concurrently (the way `kubectl apply` of a folder lands)."""

        def create(body: dict[str, Any]) -> None:
            if body["kind"] == "Secret":
                self.core.create_namespaced_secret(self.namespace, body)
            else:
                self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, body)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(create, bodies))

    def calendarsyncs(self) -> list[dict[str, Any]]:
        listing = self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        return list(listing["items"])

    def annotate(self, name: str, annotations: dict[str, str]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, {"metadata": {"annotations": annotations}}
        )

    def requests(self) -> Counter[str]:
        """The API server's requests so far by ``VERB resource[/subresource]`` (its own
        metrics; a watch counts when it opens)."""
        method, url, headers, body, post = self.api.param_serialize(
            "GET", "/metrics", auth_settings=["BearerToken"]
        )
        response = self.api.call_api(method, url, headers, body, post)
        response.read()
        counts: Counter[str] = Counter()
        for family in text_string_to_metric_families(response.data.decode()):
            for sample in family.samples:
                if sample.name == "apiserver_request_total":
                    labels = sample.labels
                    sub = f"/{labels['subresource']}" if labels.get("subresource") else ""
                    counts[f"{labels['verb']} {labels['resource']}{sub}"] += int(sample.value)
        return counts

    def close(self) -> None:
        self.api.close()


class ReadyWatch:
    """Which CalendarSyncs of the namespace are Ready, kept by a watch (listing 1,000 objects
    every second would cost the API server, and this process, more than what is measured)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.ready: dict[str, bool] = {}
        self._watch = watch.Watch()
        self._stopped = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        custom, namespace = self.cluster.custom, self.cluster.namespace
        while not self._stopped:
            listing = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
            self.ready = {o["metadata"]["name"]: ready(o) for o in listing["items"]}
            version = listing["metadata"]["resourceVersion"]
            with contextlib.suppress(client.ApiException, urllib3.exceptions.HTTPError):
                for event in self._watch.stream(
                    custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    namespace,
                    PLURAL,
                    resource_version=version,
                    timeout_seconds=300,
                ):
                    obj = event["object"]
                    if event["type"] == "DELETED":
                        self.ready.pop(obj["metadata"]["name"], None)
                    else:
                        self.ready[obj["metadata"]["name"]] = ready(obj)

    def all_ready(self, count: int) -> bool:
        return len(self.ready) == count and all(self.ready.values())

    def stop(self) -> None:
        self._stopped = True
        self._watch.stop()


def ready(obj: dict[str, Any]) -> bool:
    conditions = obj.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@contextlib.contextmanager
def kubeconfig_for_bench() -> Iterator[tuple[str, dict[str, int]]]:
    """``$KUBECONFIG`` when set (an existing cluster), else a control plane of our own; with
    the process ids of its parts when they run here."""
    if os.environ.get("KUBECONFIG"):
        yield os.environ["KUBECONFIG"], {}
        return
    assets = find_assets()
    if assets is None:
        raise SystemExit("set KUBEBUILDER_ASSETS (a folder with kube-apiserver and etcd) or KUBECONFIG")
    with ControlPlane(assets) as plane:
        yield str(plane.kubeconfig), plane.pids


@contextlib.contextmanager
def bench_namespace(prefix: str) -> Iterator[tuple[str, dict[str, int], Path, Cluster]]:
    """``kubeconfig_for_bench`` with a scratch folder and a fresh installed namespace
    ``{prefix}-…``: the kubeconfig, the control plane's process ids, the folder, the cluster
    (the caller closes it). ``$CALSYNC_BENCH_LOGS``: a folder that keeps the processes' logs."""
    with (
        kubeconfig_for_bench() as (kubeconfig, plane_pids),
        tempfile.TemporaryDirectory(prefix="calsync-bench-") as tmp,
    ):
        cluster = Cluster(kubeconfig, f"{prefix}-{uuid.uuid4().hex[:6]}")
        cluster.install()
        try:
            yield kubeconfig, plane_pids, Path(tmp), cluster
        finally:
            if keep := os.environ.get("CALSYNC_BENCH_LOGS"):
                shutil.copytree(
                    tmp, keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.db", "*.sqlite*")
                )


def inserts(calendar_id: str, ids: list[str], title: str) -> list[WriteOp]:
    start = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    return [
        WriteOp(
            WriteKind.INSERT,
            calendar_id,
            event_id,
            {
                "summary": f"{title} {n}",
                "start": {"dateTime": f"{start}T{9 + n:02d}:00:00Z"},
                "end": {"dateTime": f"{start}T{9 + n:02d}:30:00Z"},
            },
        )
        for n, event_id in enumerate(ids)
    ]


def write_all(google: GoogleCalendarClient, ops: list[WriteOp]) -> None:
    """Send ``ops`` in batches of 1,000; every one must succeed."""
    for start in range(0, len(ops), 1000):
        results = google.write(ops[start : start + 1000])
        failed = [r for r in results if not r.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} bench writes failed, first: {failed[0].error}")
