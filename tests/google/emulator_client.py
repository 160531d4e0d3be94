"""The real google-api-python-client pointed at the emulator, and a real push receiver.

Shared by the test_emulator_* conformance tests: everything goes over HTTP exactly as a user's
code would send it (static discovery, ``api_endpoint``, an explicit ``batch_uri``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from calsync_operator.emulator import EmulatorServer
from calsync_operator.emulator.server import bind_socket

_calendars = itertools.count()


def new_calendar(emu: EmulatorServer) -> str:
    """A fresh calendar per use, created in the emulator (unknown calendars are 404, as on Google)."""
    calendar_id = f"conformance-{next(_calendars)}@example.com"
    emu.create_calendar(calendar_id)
    return calendar_id


def credentials(emu: EmulatorServer, refresh_token: str = "rt-alice") -> Credentials:
    info = json.loads(emu.token_json(refresh_token=refresh_token, client_id="cid", client_secret="csecret"))
    # from_authorized_user_info() always resets token_uri to Google's: put the emulator's back.
    return Credentials.from_authorized_user_info(info).with_token_uri(info["token_uri"])


def calendar_service(
    emu: EmulatorServer, refresh_token: str = "rt-alice", endpoint: str | None = None
) -> Any:
    return build(
        "calendar",
        "v3",
        credentials=credentials(emu, refresh_token),
        static_discovery=True,
        client_options={"api_endpoint": endpoint or emu.api_endpoint},
        cache_discovery=False,
    )


def timed(day: int, hour: int = 9, hours: int = 1, zone: str | None = None, **extra: Any) -> dict[str, Any]:
    """A one-hour (by default) event on 2026-12-<day> in UTC; ``zone`` names its time zone
    (Google requires one on recurring events)."""
    named = {"timeZone": zone} if zone else {}
    return {
        "summary": extra.pop("summary", f"event on {day} at {hour}"),
        "start": {"dateTime": f"2026-12-{day:02d}T{hour:02d}:00:00Z", **named},
        "end": {"dateTime": f"2026-12-{day:02d}T{hour + hours:02d}:00:00Z", **named},
        **extra,
    }


@dataclass
class Push:
    headers: dict[str, str]
    body: bytes


@dataclass
class PushReceiver:
    """A webhook endpoint on a free port that records every notification it gets."""

    status: int = 200
    gate: threading.Event | None = None  # when set, the receiver waits for it before answering
    pushes: list[Push] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""

    def __post_init__(self) -> None:
        async def receive(request: Request) -> Response:
            body = await request.body()
            if self.gate is not None:
                await asyncio.to_thread(self.gate.wait)
            with self.arrived:
                self.pushes.append(Push({k.lower(): v for k, v in request.headers.items()}, body))
                self.arrived.notify_all()
            return Response(status_code=self.status)

        self._socket = bind_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/push"
        app = Starlette(routes=[Route("/push", receive, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.005)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Push]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.pushes) >= count, timeout)
            return list(self.pushes)

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
