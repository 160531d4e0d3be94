"""``calsync operator`` and ``calsync webhook`` as the chart would run them, but as local processes.

On a control plane without nodes the chart's Pods never start, so the tests start the same
commands themselves: the container's ``args`` and plain ``env`` values are read from the
installed Deployment (so the chart's configuration is what runs), the listening address is moved
to a free loopback port, and the process logs in with a kubeconfig that holds nothing but its
ServiceAccount's token. Each process is stopped by PID (SIGTERM, then SIGKILL) and its log is
shown when a test fails.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from support.cluster import TestCluster
from support.controlplane import die_with_parent, free_port
from support.polling import poll

CALSYNC = str(Path(sys.executable).with_name("calsync"))  # the console script of this venv


def pod_spec(cluster: TestCluster, namespace: str, component: str) -> dict[str, Any]:
    """The Pod template of the chart's ``component`` Deployment (operator or webhook)."""
    selector = f"app.kubernetes.io/component={component}"
    [deployment] = cluster.kubectl_json("get", "deployments", "-n", namespace, "-l", selector)["items"]
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def deployment_container(cluster: TestCluster, namespace: str, component: str) -> dict[str, Any]:
    """The calsync container of the chart's ``component`` Deployment."""
    container: dict[str, Any] = pod_spec(cluster, namespace, component)["containers"][0]
    return container


def service_account_kubeconfig(cluster: TestCluster, namespace: str, component: str) -> Path:
    """A kubeconfig holding only a token of the ServiceAccount the component's Pods run as."""
    account = pod_spec(cluster, namespace, component)["serviceAccountName"]
    return cluster.service_account_kubeconfig(namespace, account)


def plain_env(container: Mapping[str, Any]) -> dict[str, str]:
    """The container's ``env`` entries that have a ``value`` (Secret references are left out)."""
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def until(check: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    """Poll ``check`` until it returns something truthy; the timeout only guards against hangs."""
    return poll(check, timeout=timeout, interval=0.2, failure=f"timed out waiting for {what}")


def http_get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return str(answer.read().decode()).strip()
    except (OSError, urllib.error.URLError):
        return None


def metric(text: str | None, name: str, labels: str = "") -> float:
    """A sample of the Prometheus text ``text`` (0 when absent)."""
    pattern = re.compile(rf"^{re.escape(name)}{re.escape(labels)}\s+(\S+)$", re.MULTILINE)
    found = pattern.search(text or "")
    return float(found.group(1)) if found else 0.0


class RoleProcess:
    """One ``calsync`` process with its own log file."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path) -> None:
        self.args = args
        self.env = {**_base_env(), **env}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RoleProcess:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*die_with_parent(), CALSYNC, *self.args],  # gone with us, even when we are killed
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()
        if exc[0] is not None:  # the test failed: show what the process said
            print(f"--- {' '.join(self.args[:1])} log ({self.log}) ---\n{self.tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _base_env() -> dict[str, str]:
    """Only what a Python process needs: no KUBECONFIG, no in-cluster hints, no test switches."""
    import os

    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    return {key: os.environ[key] for key in keep if key in os.environ}


def webhook_process(
    cluster: TestCluster, namespace: str, kubeconfig: Path, log: Path
) -> tuple[RoleProcess, str]:
    """The chart's webhook command on a free loopback port; returns it and its base URL."""
    container = deployment_container(cluster, namespace, "webhook")
    port = free_port()
    args = [_local(arg, port) for arg in container["args"]]
    assert args[0] == "webhook"
    return RoleProcess(
        [*args, "--kubeconfig", str(kubeconfig)], plain_env(container), log
    ), f"http://127.0.0.1:{port}"


def _local(arg: str, port: int) -> str:
    return {"0.0.0.0": "127.0.0.1", "8080": str(port)}.get(arg, arg)


def operator_process(
    cluster: TestCluster, namespace: str, kubeconfig: Path, log: Path, overrides: Mapping[str, str]
) -> tuple[RoleProcess, str]:
    """The chart's operator command, health and metrics on free ports; returns it and its
    health URL. ``overrides`` replace chart env values (the webhook URL: the chart only takes
    https, the local webhook is http)."""
    container = deployment_container(cluster, namespace, "operator")
    assert container["args"] == ["operator"]
    health, metrics = free_port(), free_port()
    env = {
        **plain_env(container),
        "CALSYNC_HEALTH_PORT": str(health),
        "CALSYNC_METRICS_PORT": str(metrics),
        **overrides,
    }
    return RoleProcess(
        ["operator", "--kubeconfig", str(kubeconfig)], env, log
    ), f"http://127.0.0.1:{health}/healthz"
