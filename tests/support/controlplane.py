"""A real Kubernetes control plane (etcd + kube-apiserver) on loopback, for tests and benchmarks.

Binaries come from ``KUBEBUILDER_ASSETS`` (the convention of controller-runtime's envtest and
``setup-envtest``: a folder holding ``kube-apiserver`` and ``etcd``, optionally ``kubectl`` and
``helm``). The API server serves TLS on a free loopback port with RBAC on, trusts an admin
client certificate (``O=system:masters``) and signs ServiceAccount tokens, so TokenRequest
works and a ServiceAccount's token is held to its Roles. No controller-manager, scheduler or
kubelet: Pods stay Pending and deleted namespaces stay Terminating.

    from support.controlplane import ControlPlane, find_assets    # tests/ on sys.path

    with ControlPlane(find_assets()) as plane:   # 2-6 s on 2 cores
        plane.kubeconfig                         # admin kubeconfig (a file)
        plane.kubectl, plane.helm                # the binaries beside the control plane

Nothing outlives the ``with`` block: the API server is stopped first, then etcd (SIGTERM, then
SIGKILL after a few seconds, by PID), and the temporary folder (certificates, etcd's data,
logs, kubeconfigs) is removed. The same happens at interpreter exit (``atexit``) and on SIGTERM
(turned into ``KeyboardInterrupt`` so ``with`` blocks and pytest's teardown run); the children
run in their own session, so a Ctrl-C reaches only this process, which then stops them in
order; where ``setpriv`` is available they also get SIGKILL if this process dies outright.
Only the standard library, PyYAML and ``cryptography`` are needed.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import yaml

from support.certs import CertFiles, write_cert_files

ASSETS_ENV = "KUBEBUILDER_ASSETS"
TEMP_PREFIX = "calsync-envtest-"
STOP_GRACE_SECONDS = 5.0
_START_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it
_LIVE: set[ControlPlane] = set()


class ControlPlaneError(RuntimeError):
    """The control plane did not start; the message carries the end of the failing log."""


def find_assets(environ: Mapping[str, str] | None = None) -> Path | None:
    """The ``KUBEBUILDER_ASSETS`` folder when it holds ``kube-apiserver`` and ``etcd``, else None."""
    value = (os.environ if environ is None else environ).get(ASSETS_ENV, "").strip()
    if not value:
        return None
    folder = Path(value)
    if all(os.access(folder / name, os.X_OK) for name in ("kube-apiserver", "etcd")):
        return folder
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_kubeconfig(
    path: Path, server: str, ca_file: Path, user: Mapping[str, str], namespace: str = "default"
) -> Path:
    """A one-context kubeconfig; ``user`` holds kubeconfig user fields (``token``, or
    ``client-certificate-data`` and ``client-key-data``)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "test", "cluster": {"server": server, "certificate-authority-data": _b64(ca_file)}}
        ],
        "users": [{"name": "test", "user": dict(user)}],
        "contexts": [
            {"name": "test", "context": {"cluster": "test", "user": "test", "namespace": namespace}}
        ],
        "current-context": "test",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    path.chmod(0o600)
    return path


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


class ControlPlane:
    """etcd + kube-apiserver in a temporary folder; see the module docstring."""

    def __init__(self, assets: Path | None, *, start_timeout: float = 60.0) -> None:
        if assets is None:
            raise ControlPlaneError(f"{ASSETS_ENV} must name a folder holding kube-apiserver and etcd")
        self.assets = assets
        self.start_timeout = start_timeout
        self.workdir: Path | None = None
        self.server = ""
        self._certs: CertFiles | None = None
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []

    # -- what users of a running control plane need --------------------------------------

    @property
    def kubectl(self) -> Path:
        return self.assets / "kubectl"

    @property
    def helm(self) -> Path:
        return self.assets / "helm"

    @property
    def kubeconfig(self) -> Path:
        return self._folder() / "admin.kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self._files().ca_cert

    @property
    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self._processes.items()}

    def token_kubeconfig(self, path: Path, token: str, namespace: str = "default") -> Path:
        """A kubeconfig that logs in with ``token`` only (e.g. a ServiceAccount's)."""
        return write_kubeconfig(path, self.server, self.ca_file, {"token": token}, namespace)

    # -- life cycle ----------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        _install_sigterm_handler()
        self.workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        _LIVE.add(self)
        try:
            self._certs = write_cert_files(self.workdir)
            for attempt in range(1, _START_ATTEMPTS + 1):
                try:
                    self._start_processes()
                    break
                except _PortTaken:
                    self._stop_processes()
                    if attempt == _START_ATTEMPTS:
                        raise ControlPlaneError("no free loopback ports after several attempts") from None
            files = self._files()
            write_kubeconfig(
                self.kubeconfig,
                self.server,
                files.ca_cert,
                {"client-certificate-data": _b64(files.admin_cert), "client-key-data": _b64(files.admin_key)},
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the API server, then etcd; remove the folder. Safe to call more than once."""
        self._stop_processes()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        self._certs = None
        _LIVE.discard(self)

    # -- internals -----------------------------------------------------------------------

    def _folder(self) -> Path:
        if self.workdir is None:
            raise ControlPlaneError("the control plane is not running")
        return self.workdir

    def _files(self) -> CertFiles:
        if self._certs is None:
            raise ControlPlaneError("the control plane is not running")
        return self._certs

    def _start_processes(self) -> None:
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url, peer_url = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer_port}"
        data = self._folder() / "etcd"
        shutil.rmtree(data, ignore_errors=True)
        self._spawn("etcd", [
            "--name", "default", "--data-dir", str(data),
            "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"default={peer_url}",
            "--unsafe-no-fsync",  # a throw-away store: durability buys nothing, fsyncs cost seconds
        ])  # fmt: skip
        files = self._files()
        self._spawn("kube-apiserver", [
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={api_port}",
            f"--tls-cert-file={files.server_cert}", f"--tls-private-key-file={files.server_key}",
            f"--client-ca-file={files.ca_cert}",
            f"--service-account-key-file={files.service_account_public}",
            f"--service-account-signing-key-file={files.service_account_private}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--authorization-mode=RBAC",
            "--endpoint-reconciler-type=none",
            # A debugging aid, e.g. an audit log: "--audit-policy-file=… --audit-log-path=…"
            *os.environ.get("CALSYNC_TEST_APISERVER_ARGS", "").split(),
        ])  # fmt: skip
        self.server = f"https://127.0.0.1:{api_port}"
        self._wait_ready()

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self._folder() / f"{name}.log").open("ab")
        self._logs.append(log)
        self._processes[name] = subprocess.Popen(
            [*die_with_parent(), str(self.assets / name), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self._folder(),
            start_new_session=True,  # Ctrl-C reaches only us; we stop them in order
        )

    def _wait_ready(self) -> None:
        files = self._files()
        context = ssl.create_default_context(cafile=str(files.ca_cert))
        context.load_cert_chain(str(files.admin_cert), str(files.admin_key))
        deadline = time.monotonic() + self.start_timeout
        while True:
            for name, process in self._processes.items():
                if process.poll() is not None:
                    self._raise_exited(name)
            if _answers_ok(f"{self.server}/readyz", context):
                return
            if time.monotonic() > deadline:
                tail = self._tail("kube-apiserver")
                raise ControlPlaneError(f"kube-apiserver not ready after {self.start_timeout:.0f} s:\n{tail}")
            time.sleep(0.1)

    def _raise_exited(self, name: str) -> None:
        tail = self._tail(name)
        if "address already in use" in tail:
            raise _PortTaken(name)
        raise ControlPlaneError(f"{name} exited during start-up:\n{tail}")

    def _tail(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self._folder() / f"{name}.log").read_text(errors="replace").splitlines()[-25:])
        return ""

    def _stop_processes(self) -> None:
        for name in ("kube-apiserver", "etcd"):  # an API server whose etcd is gone can hang
            process = self._processes.pop(name, None)
            if process is not None:
                _terminate(process)
        for log in self._logs:
            log.close()
        self._logs.clear()


def _answers_ok(url: str, context: ssl.SSLContext) -> bool:
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as answer:
            return bool(answer.read() == b"ok")
    except (OSError, urllib.error.URLError):
        return False


class _PortTaken(Exception):
    pass


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after ``STOP_GRACE_SECONDS``; always reaped."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def die_with_parent() -> list[str]:
    """``setpriv --pdeathsig KILL --``: the child dies with us even when we are SIGKILLed."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return []  # the death signal fires when the *thread* that started the child ends
    return [setpriv, "--pdeathsig", "KILL", "--"]


def _stop_all() -> None:
    for plane in list(_LIVE):
        plane.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _install_sigterm_handler() -> None:
    """SIGTERM → ``KeyboardInterrupt``, so teardown runs; only where nobody handles it yet."""
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _interrupt)


atexit.register(_stop_all)
