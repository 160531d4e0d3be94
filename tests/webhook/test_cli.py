"""``calsync webhook`` as a process: kubeconfig, JSON logs without secrets, clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from webhook_harness import MakeCsync, push_headers

from calsync_operator.api.names import PUSH_ANNOTATION_PREFIX
from calsync_operator.kubeemu import ThreadedKubeEmulator

CALSYNC = [sys.executable, "-c", "import sys; from calsync_operator.cli.main import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"calsync webhook exited with {proc.returncode}: {proc.stderr.read()}")  # type: ignore[union-attr]
        try:
            if httpx.get(url + "/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("calsync webhook did not become ready")


def test_calsync_webhook_serves_pushes_and_logs_json_without_secrets(
    kube: ThreadedKubeEmulator, make_csync: MakeCsync, tmp_path: Path
) -> None:
    [channel] = make_csync("demo", ["aaaaaaaaaa"])
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    port = free_port()
    env = {**os.environ, "CALSYNC_LOG_FORMAT": "json", "CALSYNC_LOG_LEVEL": "DEBUG"}
    proc = subprocess.Popen(
        [*CALSYNC, "webhook", "--host", "127.0.0.1", "--port", str(port), "--kubeconfig", str(kubeconfig)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        ok = httpx.post(url + "/push", headers=push_headers(channel))
        forged = httpx.post(url + "/push", headers=push_headers(channel, token="forged-token-value"))
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)

    assert (ok.status_code, forged.status_code) == (200, 403)
    annotations = kube.get("CalendarSync", "demo")["metadata"]["annotations"]
    assert PUSH_ANNOTATION_PREFIX + channel.source_key in annotations
    # uvicorn shuts down gracefully, then re-raises the signal it caught: exit status "killed by TERM".
    assert proc.returncode in (0, -signal.SIGTERM)
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert any("Application shutdown complete" in line["message"] for line in lines)
    assert any("channel index loaded" in line["message"] for line in lines)
    assert any(line["severity"] == "warn" and "does not match" in line["message"] for line in lines)
    assert all("timestamp" in line for line in lines)  # the operator's shape (kopf's formatter)
    assert channel.token not in out + err
    assert "forged-token-value" not in out + err


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"CALSYNC_COALESCE_WINDOW_MS": "soon"}, [], "CALSYNC_COALESCE_WINDOW_MS='soon' is not an integer"),
        ({}, ["--kubeconfig", "/nonexistent/kubeconfig"], "no usable Kubernetes configuration"),
    ],
)
def test_configuration_errors_say_what_to_fix(env: dict[str, str], args: list[str], message: str) -> None:
    result = subprocess.run(
        [*CALSYNC, "webhook", "--port", "0", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "hint:" in result.stderr
