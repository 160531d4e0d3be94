"""A real Kubernetes control plane for the benchmarks: etcd + kube-apiserver on loopback.

The binaries come from ``KUBEBUILDER_ASSETS`` (envtest style). Certificates (a CA, the serving
certificate, an admin client certificate with ``O=system:masters`` and the ServiceAccount key
pair) are made with ``cryptography`` in a temporary folder; the kubeconfig written there logs in
as cluster admin. Everything is stopped (API server first, then etcd; SIGKILL after a grace
period) and removed on exit.

    with ControlPlane() as plane:
        plane.kubeconfig   # path of an admin kubeconfig
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None,
    *,
    ca: bool = False,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def write_certificates(folder: Path) -> None:
    """ca.crt, apiserver.{crt,key}, admin.{crt,key}, sa.{key,pub} in ``folder``."""
    ca_key = _key()
    ca_name = _name("calsync-bench-ca")
    ca = _certificate(ca_name, ca_key, None, ca=True)
    serving_key = _key()
    serving = _certificate(
        _name("kube-apiserver"),
        serving_key,
        (ca_name, ca_key),
        sans=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    admin_key = _key()
    admin = _certificate(_name("bench-admin", "system:masters"), admin_key, (ca_name, ca_key))
    sa_key = _key()
    files = {
        "ca.crt": ca.public_bytes(serialization.Encoding.PEM),
        "apiserver.crt": serving.public_bytes(serialization.Encoding.PEM),
        "apiserver.key": _pem_key(serving_key),
        "admin.crt": admin.public_bytes(serialization.Encoding.PEM),
        "admin.key": _pem_key(admin_key),
        "sa.key": _pem_key(sa_key),
        "sa.pub": sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)


class ControlPlane:
    """etcd + kube-apiserver from ``KUBEBUILDER_ASSETS``; ``kubeconfig`` logs in as admin."""

    def __init__(self, assets: str | None = None) -> None:
        self.assets = Path(assets or os.environ["KUBEBUILDER_ASSETS"])
        self.folder = Path(tempfile.mkdtemp(prefix="calsync-bench-plane-"))
        self.kubeconfig = str(self.folder / "kubeconfig")
        self.url = ""
        self._processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> ControlPlane:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        write_certificates(self.folder)
        client_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url, peer_url = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
        self._spawn(
            "etcd",
            "--name=default",
            f"--data-dir={self.folder / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}",
            "--unsafe-no-fsync=true",  # a throw-away store: no fsync on every write
        )
        f = self.folder
        self._spawn(
            "kube-apiserver",
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--tls-cert-file={f / 'apiserver.crt'}",
            f"--tls-private-key-file={f / 'apiserver.key'}",
            f"--client-ca-file={f / 'ca.crt'}",
            f"--service-account-key-file={f / 'sa.pub'}",
            f"--service-account-signing-key-file={f / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--authorization-mode=RBAC",
            "--endpoint-reconciler-type=none",
        )
        self.url = f"https://127.0.0.1:{api_port}"
        self._write_kubeconfig()
        self._wait_ready()

    @property
    def pids(self) -> dict[str, int]:
        """etcd's and the API server's process ids."""
        return {Path(str(p.args[0])).name: p.pid for p in self._processes}

    def _spawn(self, binary: str, *args: str) -> None:
        log = open(self.folder / f"{binary}.log", "wb")  # noqa: SIM115  # closed with the folder
        self._processes.append(
            subprocess.Popen([str(self.assets / binary), *args], stdout=log, stderr=subprocess.STDOUT)
        )

    def _write_kubeconfig(self) -> None:
        f = self.folder
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "bench", "cluster": {"server": self.url, "certificate-authority": str(f / "ca.crt")}}
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {"client-certificate": str(f / "admin.crt"), "client-key": str(f / "admin.key")},
                }
            ],
            "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "admin"}}],
            "current-context": "bench",
        }
        Path(self.kubeconfig).write_text(yaml.safe_dump(config))

    def _wait_ready(self, timeout: float = 60.0) -> None:
        context = ssl.create_default_context(cafile=str(self.folder / "ca.crt"))
        context.load_cert_chain(str(self.folder / "admin.crt"), str(self.folder / "admin.key"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self._processes):
                raise RuntimeError(f"the control plane exited; logs in {self.folder}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=context, timeout=2) as answer:
                    if answer.read() == b"ok":
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the API server was not ready within {timeout:.0f} s; logs in {self.folder}")

    def stop(self) -> None:
        """API server first, then etcd (an API server without etcd can hang in SIGTERM)."""
        for process in reversed(self._processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._processes.clear()
        shutil.rmtree(self.folder, ignore_errors=True)
