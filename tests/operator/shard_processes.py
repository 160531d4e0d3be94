"""Sharded operators on a real API server: ``calsync operator --shard I --shards N`` processes,
the CalendarSyncs they share, and what each process did (its own /metrics).

Every operator is a separate process, as in a StatefulSet, so its Prometheus counters are its
own: status writes and Google calls are counted per shard. The webhook runs in the test's
process (``WebhookThread``) and Google is the shipped emulator, so edits flow by push.
``support.shard_ledger.StatusWriteLedger`` records which shard made every status write, which
proves that no other shard ever wrote a CalendarSync's status.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from operator_endpoints import free_port
from operator_harness import add_event_via_google, condition
from prometheus_client.parser import text_string_to_metric_families

from calsync_operator.api.names import GROUP, PLURAL, VERSION
from calsync_operator.emulator import EmulatorServer
from support.polling import poll

CALSYNC = [sys.executable, "-m", "calsync_operator.cli"]


def until(check: Callable[[], Any], timeout: float = 120.0, what: str = "the expected state") -> Any:
    return poll(check, timeout=timeout, interval=0.3, failure=f"not reached: {what}")


@dataclass
class OperatorProcess:
    """One ``calsync operator`` process serving shard ``shard`` of ``shards``."""

    shard: int
    shards: int
    popen: subprocess.Popen[bytes]
    log: Path
    metrics_url: str
    health_url: str

    @property
    def label(self) -> str:
        return f"{self.shard}/{self.shards}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def healthy(self) -> bool:
        if not self.alive():
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"operator {self.label} exited:\n{tail}")
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as answer:
                return int(answer.status) == 200
        except OSError:
            return False

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels``."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as answer:
            text = answer.read().decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    def kill(self) -> None:
        """SIGKILL, by PID: no shutdown handlers, no goodbye."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(30)

    def stop(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class ShardWorld:
    """A namespace with CalendarSyncs, the emulator behind them, and the operator processes."""

    kubeconfig: str
    namespace: str
    emulator: EmulatorServer
    webhook_url: str
    folder: Path
    api: client.ApiClient
    operators: list[OperatorProcess] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def start_operator(self, shard: int, shards: int) -> OperatorProcess:
        health, metrics = free_port(), free_port()
        env = {
            **os.environ,
            "CALSYNC_GOOGLE_API_ROOT": self.emulator.root_url,
            "CALSYNC_WEBHOOK_URL": self.webhook_url,
            "CALSYNC_WEBHOOK_INSECURE_LOOPBACK": "true",  # the test's webhook is http on loopback
            "CALSYNC_HEALTH_PORT": str(health),
            "CALSYNC_METRICS_PORT": str(metrics),
            "CALSYNC_LOG_LEVEL": "INFO",
        }
        args = [*CALSYNC, "operator", "-n", self.namespace, "--kubeconfig", self.kubeconfig]
        args += ["--shard", str(shard), "--shards", str(shards)]
        log = self.folder / f"operator-{shard}-of-{shards}-{len(self.operators)}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        process = OperatorProcess(
            shard,
            shards,
            popen,
            log,
            f"http://127.0.0.1:{metrics}/metrics",
            f"http://127.0.0.1:{health}/healthz",
        )
        self.operators.append(process)
        until(process.healthy, 60, f"operator {process.label} answers /healthz")
        return process

    def stop_all(self) -> None:
        for process in self.operators:
            process.stop()

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def add_calendarsyncs(self, count: int) -> list[str]:
        """``count`` CalendarSyncs, each writing with its own target account (its own shard key)
        from one source with one event."""
        core = client.CoreV1Api(self.api)
        first = len(self.names)
        self.emulator.allow_http_push()
        for n in range(first, first + count):
            # As on Google, each calendar exists: the primary calendar of its token's user.
            self.emulator.register_user(f"rt-src-{n}", source_calendar(n))
            self.emulator.register_user(f"rt-tgt-{n}", target_calendar(n))
            for role in ("src", "tgt"):
                token = self.emulator.token_json(refresh_token=f"rt-{role}-{n}")
                data = {"token.json": base64.b64encode(token.encode()).decode()}
                labels = {"app.kubernetes.io/part-of": "calsync"}
                meta = client.V1ObjectMeta(name=f"{role}-{n}", labels=labels)
                core.create_namespaced_secret(self.namespace, client.V1Secret(metadata=meta, data=data))
            add_event_via_google(self.emulator, source_calendar(n), f"rt-src-{n}", f"first {n}")
            self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, manifest(n))
            self.names.append(f"cs-{n}")
        return self.names[first:]

    def copy_secret(self, name: str, new_name: str) -> None:
        """A second Secret with the same token (the same Google account under another name)."""
        core = client.CoreV1Api(self.api)
        data = core.read_namespaced_secret(name, self.namespace).data
        labels = {"app.kubernetes.io/part-of": "calsync"}
        meta = client.V1ObjectMeta(name=new_name, labels=labels)
        core.create_namespaced_secret(self.namespace, client.V1Secret(metadata=meta, data=data))

    def edit(self, n: int, title: str) -> None:
        """A new event in source ``n``, the way a calendar app adds one: Google pushes."""
        add_event_via_google(self.emulator, source_calendar(n), f"rt-src-{n}", title)

    def objects(self) -> dict[str, dict[str, Any]]:
        listing = self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        return {item["metadata"]["name"]: item for item in listing["items"]}

    def all_ready(self) -> bool:
        found = self.objects()
        return len(found) == len(self.names) and all(
            condition(obj, "Ready").get("status") == "True" for obj in found.values()
        )

    def copies_match_sources(self) -> bool:
        """Every source event has exactly one copy in its target, and nothing else is there."""
        for n in range(len(self.names)):
            sources = self.emulator.events(source_calendar(n))
            copies = self.emulator.events(target_calendar(n))
            if sorted(e["summary"] for e in sources) != sorted(e["summary"] for e in copies):
                return False
        return True


def source_calendar(n: int) -> str:
    return f"shard-src-{n}@example.com"


def target_calendar(n: int) -> str:
    return f"shard-tgt-{n}@example.com"


def manifest(n: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "CalendarSync",
        "metadata": {"name": f"cs-{n}"},
        "spec": {
            "target": {"calendarId": target_calendar(n), "credentials": secret_ref(f"tgt-{n}")},
            "sources": [{"calendarId": source_calendar(n), "credentials": secret_ref(f"src-{n}")}],
            "onDelete": "deleteCopies",
        },
    }


def secret_ref(name: str) -> dict[str, Any]:
    return {"secretRef": {"name": name}}
