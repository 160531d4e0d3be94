"""Three ``calsync webhook`` processes behind one Service, on a real API server.

A Service spreads Google's pushes over the replicas; here the test plays that part and sends a
burst for one source round-robin to three webhook processes. Coalescing is per replica: each
one patches at most a leading and one trailing patch per window for the source, so three
replicas cost up to three times the patches of one, never more, and the last push's receipt
time always lands (docs/webhook.md, "Several replicas").
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch
from prometheus_client.parser import text_string_to_metric_families
from urllib3.exceptions import ProtocolError
from webhook_harness import Channel, channels_status, csync_body, push_headers

from calsync_operator.api.names import GROUP, PLURAL, PUSH_ANNOTATION_PREFIX, VERSION
from calsync_operator.kube.connect import load_configuration
from calsync_webhook.patcher import receipt_stamp
from support.cluster import TestCluster

REPLICAS = 3
BURST = 300
WINDOW_MS = 250
pytestmark = pytest.mark.cluster


@pytest.fixture
def kubeconfig(cluster: TestCluster) -> str:
    cluster.apply_crd()
    return str(cluster.kubeconfig)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return str(answer.read().decode()) if answer.status == 200 else None
    except OSError:
        return None


def metric(text: str, name: str) -> float:
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)


def until(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise TimeoutError("not reached")
        time.sleep(0.2)
    return found


@pytest.fixture
def namespace(cluster: TestCluster, kubeconfig: str) -> Iterator[tuple[client.ApiClient, str]]:
    api = client.ApiClient(load_configuration(kubeconfig)[0])
    with cluster.scratch_namespace("calsync-webhooks") as name:
        yield api, name
    api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def webhooks(kubeconfig: str, namespace: tuple[client.ApiClient, str], tmp_path: Path) -> Iterator[list[str]]:
    """Three ``calsync webhook`` processes; their base URLs once each is ready."""
    env = {**os.environ, "CALSYNC_NAMESPACES": namespace[1], "CALSYNC_COALESCE_WINDOW_MS": str(WINDOW_MS)}
    processes, urls = [], []
    for n in range(REPLICAS):
        port = free_port()
        args = [sys.executable, "-m", "calsync_operator.cli", "webhook", "--host", "127.0.0.1"]
        args += ["--port", str(port), "--kubeconfig", kubeconfig]
        with open(tmp_path / f"webhook-{n}.log", "wb") as log:
            processes.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            until(lambda url=url: get(url + "/healthz"))
        yield urls
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)


def test_three_replicas_coalesce_each_on_their_own_and_the_last_push_lands(
    namespace: tuple[client.ApiClient, str], webhooks: list[str]
) -> None:
    api, ns = namespace
    custom = client.CustomObjectsApi(api)
    channel = Channel("aaaaaaaaaa", f"channel-{uuid.uuid4().hex[:8]}", "secret-token")
    body = csync_body("demo", [channel.source_key])
    body["metadata"]["namespace"] = ns
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, ns, PLURAL, "demo", {"status": channels_status([channel])}
    )
    # Every replica knows the channel (its index is fed by its own watch) once it is ready.
    for url in webhooks:
        until(lambda url=url: metric(get(url + "/metrics") or "", "calsync_webhook_indexed_channels") >= 1)

    annotation = PUSH_ANNOTATION_PREFIX + channel.source_key
    written: list[str] = []
    stream = watch.Watch()

    def record() -> None:
        with contextlib.suppress(ProtocolError):  # ``stop`` cuts the stream
            for event in stream.stream(custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL):
                value = (event["object"]["metadata"].get("annotations") or {}).get(annotation)
                if value and (not written or written[-1] != value):
                    written.append(value)

    recorder = threading.Thread(target=record, daemon=True)
    recorder.start()

    latest = ""
    started = time.monotonic()
    for number in range(1, BURST + 1):  # round-robin, as a Service spreads connections
        latest = max(latest, receipt_stamp(time.time()))
        request = urllib.request.Request(
            webhooks[number % REPLICAS] + "/push", method="POST", headers=push_headers(channel, number=number)
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
    duration = time.monotonic() - started

    until(lambda: written and max(written) >= latest, 30)  # the last push's time landed
    stream.stop()
    patches = [metric(get(url + "/metrics") or "", "calsync_webhook_patches_total") for url in webhooks]
    # Per replica: one leading patch, one per window end, and one of slack for the patch's own time.
    per_replica = 2 + math.ceil(duration / (WINDOW_MS / 1000))
    assert all(1 <= count <= per_replica for count in patches), (patches, per_replica, duration)
    assert sum(patches) <= REPLICAS * per_replica
    print(f"{BURST} pushes over {duration:.2f} s to {REPLICAS} replicas: patches per replica {patches}")
