"""Helpers of the CLI tests that are not fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml


def unreachable_kubeconfig(directory: Path) -> Path:
    """A kubeconfig whose cluster is 127.0.0.1:9 (discard: nothing listens): "cluster is down"."""
    path = directory / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "gone",
                "clusters": [{"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "gone", "user": {"token": "t"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}],
            }
        )
    )
    return path


class LocalHttp:
    """A tiny HTTP server on loopback answering every request with ``status``, recording bodies:
    stands in for a health endpoint, or for SendGrid's ``POST /v3/mail/send`` (which answers 202)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[str, str, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                owner.requests.append((self.command, self.path, self.rfile.read(length)))
                self.send_response(owner.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def mails(self) -> list[dict[str, Any]]:
        return [json.loads(body) for method, path, body in self.requests if path == "/v3/mail/send"]


@dataclass
class HeadlessRun:
    url: str  # the sign-in URL the command printed
    redirect_status: int  # what the local server answered the browser
    returncode: int
    out: str
    err: str  # everything said on stderr, the URL included


def run_auth_headless(argv: list[str]) -> HeadlessRun:
    """``calsync auth`` as a process on a machine without a browser (no DISPLAY, no BROWSER,
    no OAUTHLIB_INSECURE_TRANSPORT); a person's browser elsewhere (an HTTP client) follows the
    printed URL to Google's consent and on to the redirect."""
    hidden = ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "OAUTHLIB_INSECURE_TRANSPORT")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    process = subprocess.Popen(
        [sys.executable, "-m", "calsync_operator.cli", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(60, process.kill)  # a blocked read below ends, and the test fails
    watchdog.start()
    try:
        assert process.stderr is not None
        seen: list[str] = []
        url = ""
        while not url:
            line = process.stderr.readline()
            assert line, f"no sign-in URL on stderr: {''.join(seen)}"
            seen.append(line)
            url = line.strip() if line.strip().startswith("http") else ""
        answer = httpx.get(url, follow_redirects=True, timeout=10)
        # Read the rest through the same text streams: ``communicate()`` reads the raw pipes and
        # would lose what ``readline()`` has already buffered past the URL line.
        assert process.stdout is not None
        out = process.stdout.read()
        err = process.stderr.read()
        process.wait(timeout=30)
    finally:
        watchdog.cancel()
        process.kill()
    return HeadlessRun(url, answer.status_code, process.returncode, out, "".join(seen) + err)
