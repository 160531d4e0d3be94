"""Loopback stand-ins for what the operator talks to besides Kubernetes and Google.

- ``MailSink``: SendGrid's v3 ``POST /v3/mail/send`` (the only internet service replaced).
- ``Beats``: an Uptime-Kuma-like push monitor counting heartbeat GETs.
- ``WebhookThread``: the real ``calsync_webhook`` app under uvicorn, in its own thread.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn

from calsync_webhook.app import create_app
from calsync_webhook.index import ChannelIndex
from calsync_webhook.patcher import KubePatcher
from calsync_webhook.settings import WebhookSettings
from calsync_webhook.watcher import IndexWatcher


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailSink:
    """SendGrid's v3 ``POST /v3/mail/send`` on loopback: records every mail, answers 202."""

    def __init__(self) -> None:
        self.mails: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v3/mail/send":
                    sink.mails.append(json.loads(body))
                    sink.auth_headers.append(self.headers.get("Authorization", ""))
                    self.send_response(202)
                else:
                    self.send_response(404)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> MailSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def subjects(self) -> list[str]:
        return [str(mail.get("subject", "")) for mail in self.mails]


class Beats:
    """An Uptime-Kuma-like push monitor: counts GETs on /api/push/<token>."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        beats = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                beats.paths.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"ok":true}')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/push/kuma-token?status=up&msg=OK"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookThread:
    """The real webhook app under uvicorn, in a thread with its own event loop."""

    def __init__(self, api_client: Any, namespaces: tuple[str, ...] = ()) -> None:
        self.api_client = api_client  # the in-memory API's or a real cluster's
        self.index = ChannelIndex()
        self.watcher = IndexWatcher(self.api_client, self.index, namespaces, watch_timeout=60)
        self.patcher = KubePatcher(self.api_client)
        app = create_app(
            index=self.index,
            patcher=self.patcher,
            settings=WebhookSettings(coalesce_window=0.05),
            background=self.watcher,
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)
        self.url = ""

    def __enter__(self) -> WebhookThread:
        self._thread.start()
        for _ in range(1000):
            if self.server.started:
                break
            self._thread.join(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.watcher.wait_ready(10)
        self.url = f"http://127.0.0.1:{port}/push"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self.patcher.close()
        self.api_client.close()
