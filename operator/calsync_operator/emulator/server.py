"""Run the emulator in-process: uvicorn on its own thread and event loop, on a free port.

Tests, the demo and benchmarks use ``EmulatorServer`` as a context manager (sync or async) or
with ``start()``/``stop()``. The socket is bound before the thread starts, so ``root_url`` is
known at once and a busy port fails in the caller with a clear error. The control methods act
directly on the shared state (no HTTP), so they are cheap to call from a test.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from datetime import date, datetime
from types import TracebackType
from typing import Any

import uvicorn

from calsync_operator.emulator.app import create_app
from calsync_operator.emulator.counters import CounterSnapshot
from calsync_operator.emulator.faults import FaultInjector, FaultRule
from calsync_operator.emulator.instanceids import InstanceIdStyle
from calsync_operator.emulator.oauth import DEFAULT_SCOPE
from calsync_operator.emulator.state import EmulatorOptions, EmulatorState

_STARTUP_TIMEOUT = 10.0
KEEP_ALIVE_SECONDS = 120


class PortInUse(OSError):
    """The requested port is taken: choose another or stop what listens there."""


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, uvicorn's separate header and body writes
    # meet the client's delayed ACK and every request takes ~40 ms instead of ~1 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, telling the starting thread the moment it accepts connections."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._ready.set()


class EmulatorServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
        instance_ids: InstanceIdStyle = "opaque",
        allow_http_push: bool = False,
    ) -> None:
        """``instance_ids="legacy"``: occurrence ids ``<master id>_<start>`` instead of opaque
        ones; ``allow_http_push``: watch addresses may be ``http://127.0.0.1`` (Google: https
        only). Both survive ``reset()``."""
        self.host = host
        self.port = port
        self.state = EmulatorState(EmulatorOptions(instance_ids, allow_http_push))
        self.app = create_app(self.state)
        self._log_level = log_level
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            return self
        self._socket = bind_socket(self.host, self.port)
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            # In-process: keep the host's logging (uvicorn's default dictConfig closes its handlers).
            log_config=None,
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=2,
            # httplib2 reuses idle connections without checking them; uvicorn's 5 s default
            # closes them under a client that spends longer building a big batch (broken pipe).
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        ready = threading.Event()
        self._server = _Server(config, ready)
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"calsync-emulator:{self.port}", daemon=True
        )
        self._thread.start()
        ready.wait(_STARTUP_TIMEOUT)  # set once serving, or when the thread gave up
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"the emulator did not start on {self.root_url}")
        return self

    def _run(self, ready: threading.Event) -> None:
        assert self._server is not None
        assert self._socket is not None
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._socket]))
        finally:
            ready.set()  # a server that failed to start must not keep start() waiting
            loop.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = self._loop = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> EmulatorServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- credentials ---------------------------------------------------------------------------

    @property
    def token_uri(self) -> str:
        return self.root_url + "token"

    @property
    def batch_uri(self) -> str:
        return self.root_url + "batch/calendar/v3"

    @property
    def api_endpoint(self) -> str:
        """What to pass as ``client_options={"api_endpoint": ...}`` (Google's service URL)."""
        return self.root_url + "calendar/v3/"

    def token_json(
        self,
        refresh_token: str = "rt-emulator",
        client_id: str = "cid",
        client_secret: str = "csecret",
        *,
        user: str | None = None,
    ) -> str:
        """Authorized-user JSON as ``Credentials.to_json()`` writes it, pointing at this emulator.
        It carries no access token: the first call refreshes through ``token_uri``. ``user``:
        whose tokens these are (their primary calendar, id ``user``, then exists)."""
        if user is not None:
            self.state.register_user(refresh_token, user)
        return json.dumps(
            {
                "token": None,
                "refresh_token": refresh_token,
                "token_uri": self.token_uri,
                "client_id": client_id,
                "client_secret": client_secret,
                "scopes": [DEFAULT_SCOPE],
                "universe_domain": "googleapis.com",
                "account": "",
            }
        )

    def issue_access_token(self) -> str:
        """A valid bearer token without the OAuth dance (for raw HTTP clients)."""
        return self.state.tokens.issue_access_token()[0]

    def revoke_refresh_token(self, refresh_token: str) -> None:
        self.state.tokens.revoke(refresh_token)

    def restore_refresh_token(self, refresh_token: str) -> None:
        self.state.tokens.restore(refresh_token)

    def expire_access_tokens(self) -> None:
        self.state.tokens.expire_access_tokens()

    def rotate_refresh_tokens(self, enabled: bool = True) -> None:
        self.state.tokens.rotate_refresh_tokens(enabled)

    # -- calendars, faults, pushes, counters ------------------------------------------------------

    def create_calendar(self, *calendar_ids: str, primary: bool = False) -> None:
        """Make calendars exist (Google answers 404 for any other id)."""
        for calendar_id in calendar_ids:
            self.state.create_calendar(calendar_id, primary=primary)

    def register_user(self, refresh_token: str, user: str) -> None:
        self.state.register_user(refresh_token, user)

    def instance_ids(self, style: InstanceIdStyle) -> None:
        """``"opaque"`` (default, like Google) or ``"legacy"`` occurrence ids from now on."""
        self.state.instance_ids(style)

    def allow_http_push(self, enabled: bool = True) -> None:
        self.state.allow_http_push(enabled)

    def split_series(
        self,
        calendar_id: str,
        master_id: str,
        split_at: datetime | date,
        changes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Google Calendar's "this and following events" edit: the series ends before the
        occurrence at ``split_at``, and a new series ``<id>_R<time>`` (returned) starts there."""
        return self.state.split_series(calendar_id, master_id, split_at, changes)

    def invalidate_sync_tokens(self, calendar_id: str) -> None:
        self.state.store.invalidate_sync_tokens(calendar_id)

    def inject_fault(
        self,
        method: str = "*",
        status: int | None = 503,
        reason: str | None = None,
        retry_after: float | None = None,
        latency: float = 0.0,
        probability: float = 1.0,
        count: int | None = None,
        lost_answer: bool = False,
    ) -> FaultRule:
        """See ``FaultRule``; ``lost_answer``: the call takes effect, then answers the error."""
        return self.state.faults.add(
            FaultRule(method, status, reason, retry_after, latency, probability, count, lost_answer)
        )

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def drop_pushes(self, probability: float) -> None:
        self.state.drop_pushes(probability)

    def minimal_cancelled(self, enabled: bool = True) -> None:
        """List cancelled events with only the fields Google guarantees (id, status, and for a
        cancelled occurrence recurringEventId + originalStartTime). On by default, as Google
        guarantees no more; ``minimal_cancelled(False)`` lists the whole stored event."""
        self.state.minimal_cancelled(enabled)

    def short_pages(self, probability: float) -> None:
        """Cut this share of list pages short, even to zero items (Google's pages may be)."""
        self.state.short_pages(probability)

    @property
    def counters(self) -> CounterSnapshot:
        """A snapshot: take a new one after the calls you want to count."""
        return self.state.snapshot()

    def snapshot(self) -> CounterSnapshot:
        return self.state.snapshot()

    @property
    def faults(self) -> FaultInjector:
        """The live rule set (``faults.rules()``, ``faults.clear()``)."""
        return self.state.faults

    def events(self, calendar_id: str, include_cancelled: bool = False) -> list[dict[str, Any]]:
        return self.state.events(calendar_id, include_cancelled)

    def channels(self, calendar_id: str | None = None) -> list[dict[str, Any]]:
        return self.state.channels(calendar_id)

    def wait_for_pushes(self, timeout: float = 10.0) -> None:
        """Block until every queued push was delivered or given up."""
        if self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.state.push.drain(), self._loop)
        future.result(timeout)

    def reset(self) -> None:
        self.state.reset()
