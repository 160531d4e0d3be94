"""The operations commands' world on a real control plane: the session's cluster (``cluster``
fixture), a fresh namespace with the three token Secrets, the shipped Google emulator, and the
operator (``runner.serve``, exactly what ``calsync operator`` runs) in a thread, serving only
that namespace. Commands run as the real console script in a subprocess."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from calsync_operator.emulator import EmulatorServer
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.settings import OperatorSettings
from calsync_operator.sync.port import WriteKind, WriteOp
from support.cluster import TestCluster
from support.events import new_event
from support.operator_thread import start_operator_thread

EXAMPLE = Path(__file__).parents[2] / "examples" / "calendarsync.yaml"
NAME = "personal-to-central"
TOKENS = {"personal-token": "rt-personal", "work-token": "rt-work", "central-token": "rt-central"}
PERSONAL = "alice.personal@example.com"
CENTRAL = "alice.central@example.com"
# Whose calendar each refresh token opens (the emulator, like Google, knows only calendars that exist).
USERS = {"rt-personal": PERSONAL, "rt-work": "alice@work.example.com", "rt-central": CENTRAL}
CLI = [sys.executable, "-m", "calsync_operator.cli"]


@dataclass
class OpsWorld:
    cluster: TestCluster
    emulator: EmulatorServer
    namespace: str

    def calsync(
        self, *args: str, kubeconfig: Path | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        config = str(kubeconfig or self.cluster.kubeconfig)
        command = [*CLI, *args, "-n", self.namespace, "--kubeconfig", config]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, input=stdin)

    def get(self) -> dict[str, Any]:
        found: dict[str, Any] = self.cluster.kubectl_json("get", "calendarsync", NAME, "-n", self.namespace)
        return found

    def until(self, check: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
        """The CalendarSync once ``check`` holds (the operator works asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            obj = self.get()
            if check(obj):
                return obj
            assert time.monotonic() < deadline, yaml.safe_dump(obj.get("status"))
            time.sleep(0.3)

    def add_event(self, calendar_id: str, title: str, day: int = 1) -> str:
        op = new_event(calendar_id, title, day)
        self._write(op)
        return op.event_id

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        self._write(WriteOp(WriteKind.DELETE, calendar_id, event_id))

    def _write(self, op: WriteOp) -> None:
        client = GoogleCalendarClient.from_token_json(
            self.emulator.token_json(refresh_token="rt-personal"),
            source="test",
            settings=GoogleSettings(api_root=self.emulator.root_url),
        )
        try:
            [result] = client.write([op])
        finally:
            client.close()
        assert result.ok, result.error


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return dict(item)
    return {}


@contextmanager
def ops_world(cluster: TestCluster, emulator: EmulatorServer, namespace: str) -> Iterator[OpsWorld]:
    """Secrets and the example CalendarSync in ``namespace``, the operator running on it."""
    for refresh_token, user in USERS.items():  # Alice's calendars exist, as on Google
        emulator.register_user(refresh_token, user)
    for secret, refresh_token in TOKENS.items():
        token = base64.b64encode(emulator.token_json(refresh_token=refresh_token).encode()).decode()
        cluster.kubectl(
            "apply",
            "-n",
            namespace,
            "-f",
            "-",
            stdin={
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": secret, "labels": {"app.kubernetes.io/part-of": "calsync"}},
                "data": {"token.json": token},
            },
        )
    settings = OperatorSettings(
        google=GoogleSettings(api_root=emulator.root_url, max_attempts=2),
        retry_delay_seconds=1.0,
        poll_seconds_override=3600.0,
        health_port=free_port(),
        metrics_port=free_port(),
    )
    stop, started, thread = start_operator_thread(settings, cluster.kubeconfig, namespace)
    try:
        assert started.wait(30)
        cluster.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE))
        yield OpsWorld(cluster, emulator, namespace)
    finally:
        cluster.kubectl(
            "delete", "calendarsync", "--all", "-n", namespace, "--wait=true", "--timeout=60s", check=False
        )
        stop.set()
        thread.join(30)
