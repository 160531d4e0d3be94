"""``calsync operator`` logs in without the official client (``kube/login.py``) and makes its own
calls on aiohttp (``kube/client.py``): a kubeconfig's token or certificate, the official loader
only for an exec plugin, a new login after a 401, a transport failure as a ``KubeError``. The
cluster tests of the operator (``support.operator_thread``) log in this way on the real API
server with the admin kubeconfig's client certificate."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import kopf
import pytest
import yaml

from calsync_operator.kube.client import KubeApi, KubeError
from calsync_operator.kube.connect import NoKubeConfig
from calsync_operator.kube.login import OperatorLogin, service_address, static_login
from support.certs import write_cert_files
from support.cluster import TestCluster


def write_kubeconfig(path: Path, user: dict[str, object]) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://k3s.example:6443"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u", "namespace": "team"}}],
        "current-context": "ctx",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_the_operator_process_logs_in_without_importing_the_official_client(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "config", {"token": "t0ken"})
    script = f"""
import sys
from calsync_operator import process
with process.hidden_official_client():  # as `calsync operator` imports its runner
    from calsync_operator.controller import runner
from calsync_operator.kube.login import OperatorLogin
info = OperatorLogin({str(kubeconfig)!r})()
print(info.server, info.token, info.default_namespace, "kubernetes" in sys.modules)
import kubernetes  # afterwards it imports again, for whoever needs it
print("kubernetes" in sys.modules)
"""
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert answer.stdout.split() == ["https://k3s.example:6443", "t0ken", "team", "False", "True"]


def test_a_kubeconfig_with_an_exec_plugin_goes_through_the_official_loader(tmp_path: Path) -> None:
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "from-the-plugin"},
    }
    plugin = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable,
        "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
        "interactiveMode": "Never",
    }
    kubeconfig = write_kubeconfig(tmp_path / "config", {"exec": plugin})
    info = OperatorLogin(str(kubeconfig))()
    assert (info.server, info.token) == ("https://k3s.example:6443", "from-the-plugin")


def test_certificate_files_relative_to_the_kubeconfig_are_found_there(tmp_path: Path) -> None:
    files = write_cert_files(tmp_path)
    user = {"client-certificate": files.admin_cert.name, "client-key": files.admin_key.name}
    info = OperatorLogin(str(write_kubeconfig(tmp_path / "config", user)))()
    assert info.certificate_path is not None
    assert info.private_key_path is not None
    assert Path(info.certificate_path).read_bytes() == files.admin_cert.read_bytes()
    assert Path(info.private_key_path).read_bytes() == files.admin_key.read_bytes()


def test_no_usable_kubeconfig_says_what_was_tried(tmp_path: Path) -> None:
    with pytest.raises(NoKubeConfig, match="no usable Kubernetes configuration"):
        OperatorLogin(str(tmp_path / "missing"))()


async def test_an_unreachable_api_server_is_a_kube_error_naming_the_object() -> None:
    nowhere = KubeApi(static_login(kopf.ConnectionInfo(server="http://127.0.0.1:9")))
    with pytest.raises(KubeError, match='Secret "token-a" in namespace team'):
        await nowhere.read_secret("team", "token-a")
    await nowhere.close()


@pytest.mark.cluster
def test_a_refused_token_logs_in_again_once(cluster: TestCluster) -> None:
    cluster.apply_crd()  # the reachability probe reads the CalendarSync API
    admin = OperatorLogin(str(cluster.kubeconfig))
    refused = dataclasses.replace(
        admin(),
        token="not-a-token",
        certificate_path=None,
        certificate_data=None,
        private_key_path=None,
        private_key_data=None,
    )
    logins: list[kopf.ConnectionInfo] = []

    def login() -> kopf.ConnectionInfo:  # a rotated token: the first is stale, the next one works
        logins.append(refused if not logins else admin())
        return logins[-1]

    async def check() -> None:
        kube = KubeApi(login)
        try:
            assert await kube.read_secret("default", "no-such-secret") is None  # 404: logged in
            assert await kube.reachable() is True
        finally:
            await kube.close()

    asyncio.run(check())
    assert len(logins) == 2


def test_in_a_pod_the_api_server_address_comes_from_the_service_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # kopf's ServiceAccount loader reads the token and CA files of a Pod and names the Service by
    # its DNS name; the address kubelet puts into the environment works without cluster DNS.
    found = kopf.ConnectionInfo(server="https://kubernetes.default.svc", token="sa-token")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.43.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert service_address(found).server == "https://10.43.0.1:443"
    assert service_address(found).token == "sa-token"
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert service_address(found).server == "https://[fd00::1]:443"
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    assert service_address(found).server == "https://kubernetes.default.svc"
