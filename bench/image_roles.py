"""Run inside the calsync image by bench/image.py: start each role the chart runs and probe it.

``calsync operator`` and ``calsync webhook`` start as separate processes against a Kubernetes API,
and ``calsync check`` must find both healthy. The API is the kubeconfig given as the argument
(the production image has no kmock, so bench/image.py serves the in-memory API on the host and
runs the container on the host's network); without one, the image's own Python serves the
in-memory API (the one ``calsync demo`` uses; needs the demo extra). Prints one line per role;
exit 0 only when all pass.

    python image_roles.py [KUBECONFIG]
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= int(response.status) < 300
    except OSError:
        return False


def wait_for(urls: list[str], process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        if all(answers(url) for url in urls):
            return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def kubernetes_api(workdir: Path) -> Iterator[str]:
    """The kubeconfig to run against: the argument, or one of an in-memory API served here."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    from calsync_operator.kubeemu import ThreadedKubeEmulator  # the demo extra

    with ThreadedKubeEmulator() as kube:
        yield str(kube.write_kubeconfig(workdir / "kubeconfig"))


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="calsync-roles-"))
    health, metrics, webhook_port = free_port(), free_port(), free_port()
    env = {**os.environ, "CALSYNC_HEALTH_PORT": str(health), "CALSYNC_METRICS_PORT": str(metrics)}
    operator_urls = [f"http://127.0.0.1:{health}/healthz", f"http://127.0.0.1:{metrics}/metrics"]
    webhook_urls = [f"http://127.0.0.1:{webhook_port}/healthz", f"http://127.0.0.1:{webhook_port}/readyz"]
    failures = 0
    with kubernetes_api(workdir) as kubeconfig:
        logs = {role: (workdir / f"{role}.log").open("wb") for role in ("operator", "webhook")}
        roles = {
            "operator": subprocess.Popen(
                ["calsync", "operator", "--kubeconfig", kubeconfig],
                env=env,
                stdout=logs["operator"],
                stderr=subprocess.STDOUT,
            ),
            "webhook": subprocess.Popen(
                [
                    "calsync",
                    "webhook",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(webhook_port),
                    "--kubeconfig",
                    kubeconfig,
                ],
                stdout=logs["webhook"],
                stderr=subprocess.STDOUT,
            ),
        }
        try:
            for role, urls in (("operator", operator_urls), ("webhook", webhook_urls)):
                ok = wait_for(urls, roles[role])
                failures += not ok
                print(f"{role}: {'ok' if ok else 'FAIL'} ({', '.join(urls)})", flush=True)
                if not ok:
                    sys.stdout.write((workdir / f"{role}.log").read_text(errors="replace")[-2000:])
            check = subprocess.run(
                [
                    "calsync",
                    "check",
                    "--kubeconfig",
                    kubeconfig,
                    "--operator-url",
                    operator_urls[0],
                    "--webhook-url",
                    webhook_urls[0],
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            failures += check.returncode != 0
            print(f"check: {'ok' if check.returncode == 0 else 'FAIL'} (exit {check.returncode})", flush=True)
            if check.returncode != 0:
                sys.stdout.write(check.stdout + check.stderr)
        finally:
            for process in roles.values():
                process.terminate()
            for process in roles.values():
                process.wait(timeout=30)
            for log in logs.values():
                log.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
