"""Tests against a real Kubernetes API: which cluster, ``kubectl``/``helm`` on it, namespaces,
ServiceAccount logins.

The session's cluster (the ``cluster`` fixture in ``tests/conftest.py``) is, in this order:

1. ``CALSYNC_TEST_KUBECONFIG``: an existing disposable cluster (kind, k3s);
2. ``KUBEBUILDER_ASSETS`` naming ``kube-apiserver`` and ``etcd``: a control plane started for
   the session (``support.controlplane``) and stopped at its end;
3. neither: every test that asks for ``cluster`` is skipped.

``kubectl`` and ``helm`` are taken from ``KUBEBUILDER_ASSETS`` when it holds them (they match
the API server's version), else from PATH.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.controlplane import TEMP_PREFIX, ControlPlane, find_assets, write_kubeconfig

KUBECONFIG_ENV = "CALSYNC_TEST_KUBECONFIG"
CRD_PATH = Path(__file__).resolve().parents[2] / "crds" / "calendarsync.yaml"
CRD_NAME = "customresourcedefinition/calendarsyncs.calsync.dev"
Kubectl = Callable[..., subprocess.CompletedProcess[str]]  # TestCluster.kubectl's signature
SKIP_REASON = "no cluster: set KUBEBUILDER_ASSETS (envtest binaries) or CALSYNC_TEST_KUBECONFIG"


@dataclass
class TestCluster:
    """The session's Kubernetes API and the tools that talk to it (admin login)."""

    __test__ = False  # not a test class, whatever its name

    kubeconfig: Path
    kubectl_path: str
    helm_path: str | None
    origin: str  # "envtest" or the CALSYNC_TEST_KUBECONFIG path, for the test summary
    plane: ControlPlane | None = None
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "files-")))

    def kubectl(
        self, *args: str, stdin: Any = None, check: bool = True, kubeconfig: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl; ``stdin`` is text, or an object sent as YAML. With ``check``, a failure
        raises with kubectl's stderr."""
        text = stdin if stdin is None or isinstance(stdin, str) else yaml.safe_dump(stdin)
        config = str(kubeconfig or self.kubeconfig)
        return _run([self.kubectl_path, "--kubeconfig", config, *args], text, check)

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def helm(
        self, *args: str, values: dict[str, Any] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run helm on this cluster (``values`` passed as a values file); skips the test when
        there is no helm binary."""
        if self.helm_path is None:
            pytest.skip("no helm binary (KUBEBUILDER_ASSETS/helm or helm on PATH)")
        extra: list[str] = []
        if values is not None:
            path = self.scratch / f"values-{uuid.uuid4().hex[:8]}.json"
            path.write_text(json.dumps(values), encoding="utf-8")
            extra = ["--values", str(path)]
        return _run([self.helm_path, "--kubeconfig", str(self.kubeconfig), *args, *extra], None, check)

    def helm_json(self, *args: str, values: dict[str, Any] | None = None) -> Any:
        return json.loads(self.helm(*args, "--output", "json", values=values).stdout)

    def apply_crd(self) -> None:
        """Apply ``crds/calendarsync.yaml`` and wait until the API serves it (``kubectl wait``
        alone fails while a new CRD has no conditions yet)."""
        self.kubectl("apply", "-f", str(CRD_PATH))
        deadline = time.monotonic() + 60
        query = '{.status.conditions[?(@.type=="Established")].status}'
        while self.kubectl("get", CRD_NAME, "-o", f"jsonpath={query}", check=False).stdout != "True":
            assert time.monotonic() < deadline, "the CRD did not become Established"
            time.sleep(0.1)

    @contextlib.contextmanager
    def scratch_namespace(self, prefix: str) -> Iterator[str]:
        """A new namespace ``<prefix>-<random>``, deleted on exit without waiting for it to go
        (without a controller-manager it stays Terminating). Its CalendarSyncs are removed first,
        finalizers and all: a cluster-wide operator of a later test must not find them."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.kubectl("create", "namespace", name)
        try:
            yield name
        finally:
            self.remove_calendarsyncs(name)
            self.kubectl("delete", "namespace", name, "--wait=false", check=False)

    def remove_calendarsyncs(self, namespace: str) -> None:
        """Delete every CalendarSync of ``namespace`` and drop its finalizers (its operator has
        stopped, so nobody else would); nothing to do when the CRD is not installed."""
        kind = "calendarsyncs.calsync.dev"
        self.kubectl("delete", kind, "--all", "-n", namespace, "--wait=false", check=False)
        listed = self.kubectl("get", kind, "-n", namespace, "-o", "name", check=False).stdout.split()
        unfinalize = '{"metadata":{"finalizers":null}}'
        for obj in listed:
            self.kubectl("patch", obj, "-n", namespace, "--type=merge", "-p", unfinalize, check=False)

    def service_account_kubeconfig(
        self, namespace: str, account: str, *, watch_namespace: str | None = None
    ) -> Path:
        """A kubeconfig logged in only with a TokenRequest token of ``namespace/account``."""
        token = self.kubectl("create", "token", account, "-n", namespace, "--duration=2h").stdout.strip()
        admin = yaml.safe_load(self.kubeconfig.read_text())
        cluster = admin["clusters"][0]["cluster"]
        ca = self.scratch / f"ca-{uuid.uuid4().hex[:6]}.crt"
        if "certificate-authority-data" in cluster:
            ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        else:
            shutil.copy(cluster["certificate-authority"], ca)
        path = self.scratch / f"{namespace}-{account}.kubeconfig"
        return write_kubeconfig(path, cluster["server"], ca, {"token": token}, watch_namespace or namespace)

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def patch_calendarsync(
    kubectl: Kubectl, namespace: str, name: str, patch: dict[str, Any], *, status: bool = False
) -> None:
    """A JSON merge patch of CalendarSync ``name`` (of its ``status`` subresource with ``status``)."""
    subresource = ["--subresource=status"] if status else []
    kubectl("patch", "csync", name, "-n", namespace, *subresource, "--type=merge", "-p", json.dumps(patch))


def _run(command: list[str], stdin: str | None, check: bool) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=180)
    if check and result.returncode != 0:
        raise AssertionError(f"{Path(command[0]).name} {' '.join(command[3:])} failed: {result.stderr}")
    return result


def _tool(name: str) -> str | None:
    assets = os.environ.get("KUBEBUILDER_ASSETS", "").strip()
    if assets and os.access(Path(assets) / name, os.X_OK):
        return str(Path(assets) / name)
    return shutil.which(name)


@contextlib.contextmanager
def open_cluster() -> Iterator[TestCluster | None]:
    """The session's cluster (see the module docstring), or None when there is none."""
    existing = os.environ.get(KUBECONFIG_ENV, "").strip()
    kubectl = _tool("kubectl")
    assets = find_assets()
    if kubectl is None or not (existing or assets):
        yield None
        return
    if existing:
        found = TestCluster(Path(existing), kubectl, _tool("helm"), existing)
        try:
            yield found
        finally:
            found.close()
        return
    with ControlPlane(assets) as plane:
        found = TestCluster(plane.kubeconfig, kubectl, _tool("helm"), "envtest", plane)
        try:
            yield found
        finally:
            found.close()
