"""The demo's parts on loopback, started and stopped as one: the in-memory Kubernetes API
(``kubeemu``), the Google Calendar emulator, the webhook (the real Starlette app under uvicorn)
and the operator (the real kopf handlers, in their own thread). ``demo.cluster`` builds the same
world on a real cluster instead of the in-memory API (``calsync demo --kubeconfig``).

Everything is wired as in a cluster: the operator registers push channels whose address is the
webhook, the emulator POSTs its notifications there, the webhook patches the
``push.calsync.dev/<key>`` annotation through the Kubernetes API, and kopf's watch wakes the
operator. Nothing is short-circuited, so the latencies the demo shows are the real path's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

import kopf
import uvicorn
import yaml
from kubernetes import client

from calsync_operator.api.names import PART_OF_LABEL, PART_OF_VALUE
from calsync_operator.controller.handlers import build_registry
from calsync_operator.controller.runner import kopf_settings, make_context, operator_memo
from calsync_operator.controller.thread import run_operator
from calsync_operator.demo.story import USERS
from calsync_operator.emulator import EmulatorServer
from calsync_operator.emulator.server import PortInUse, bind_socket
from calsync_operator.errors import CliError
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.kube.login import static_login
from calsync_operator.settings import OperatorSettings
from calsync_webhook.app import create_app
from calsync_webhook.index import ChannelIndex
from calsync_webhook.patcher import KubePatcher
from calsync_webhook.settings import WebhookSettings
from calsync_webhook.watcher import IndexWatcher

if TYPE_CHECKING:  # kmock (the demo extra) loads only when the in-memory API runs
    pass

NAMESPACE = "default"
PART_OF = {PART_OF_LABEL: PART_OF_VALUE}
_START_TIMEOUT = 15.0


class DemoKube(Protocol):
    """The few Kubernetes calls the demo makes: what ``ThreadedKubeEmulator`` offers, and what
    ``demo.cluster.ClusterKube`` offers on a real cluster."""

    @property
    def url(self) -> str: ...

    def create(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def find(self, kind: str, name: str, *, namespace: str) -> dict[str, Any] | None: ...

    def list(self, kind: str, *, namespace: str) -> list[dict[str, Any]]: ...


def example_manifest() -> dict[str, Any]:
    """``examples/calendarsync.yaml`` as shipped inside the package."""
    text = resources.files("calsync_operator.demo").joinpath("calendarsync.yaml").read_text("utf-8")
    manifest: dict[str, Any] = yaml.safe_load(text)
    return manifest


class WebhookServer:
    """The webhook app under uvicorn on 127.0.0.1, in a thread with its own event loop."""

    def __init__(self, api_client: client.ApiClient, namespaces: Collection[str] = ()) -> None:
        self._api_client = api_client  # closed on exit
        index = self.index = ChannelIndex()
        self._watcher = IndexWatcher(self._api_client, index, tuple(namespaces), watch_timeout=60)
        self._patcher = KubePatcher(self._api_client)
        app = create_app(
            index=index, patcher=self._patcher, settings=WebhookSettings(), background=self._watcher
        )
        self._socket = bind_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_config=None, lifespan="on", access_log=False, timeout_graceful_shutdown=2)
        )
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._socket])),
            name="webhook",
            daemon=True,
        )

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        self._watcher.wait_ready(_START_TIMEOUT)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()
        self._patcher.close()
        self._api_client.close()  # type: ignore[no-untyped-call]


@dataclass
class World:
    kube: DemoKube
    emulator: EmulatorServer
    webhook_url: str
    channel_index: ChannelIndex  # the webhook's: which channels it would accept a push for
    operator: object  # the running operator's handle (kept alive with the world)
    namespace: str = NAMESPACE

    def webhook_knows(self, channel_id: str) -> bool:
        return self.channel_index.lookup(channel_id) is not None

    def put_token_secrets(self, tokens: dict[str, str]) -> None:
        """The Secrets ``calsync auth`` would write, with token JSON pointing at the emulator."""
        for name, refresh_token in tokens.items():
            token = self.emulator.token_json(refresh_token=refresh_token)
            self.kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": name, "namespace": self.namespace, "labels": PART_OF},
                    "data": {"token.json": base64.b64encode(token.encode()).decode()},
                }
            )

    def apply_example(self) -> dict[str, Any]:
        manifest = example_manifest()
        manifest["metadata"]["namespace"] = self.namespace
        return self.kube.create(manifest)

    def calendar_client(self, refresh_token: str) -> GoogleCalendarClient:
        """The Google client a person's calendar app would be: the same API the operator uses."""
        return GoogleCalendarClient.from_token_json(
            self.emulator.token_json(refresh_token=refresh_token),
            source="demo",
            settings=GoogleSettings(api_root=self.emulator.root_url),
        )


@contextlib.contextmanager
def running_world(emulator_port: int = 0) -> Iterator[World]:
    """Start every part (Kubernetes API, emulator, webhook, operator); stop them in reverse."""
    from calsync_operator.kubeemu import ThreadedKubeEmulator  # the demo extra; --kubeconfig needs none

    with (
        started_emulator(emulator_port) as emulator,
        ThreadedKubeEmulator() as kube,
        WebhookServer(kube.api_client()) as webhook,
    ):
        settings = demo_settings(webhook.url, emulator)
        login = static_login(kopf.ConnectionInfo(server=kube.url))
        with run_operator(
            kube,
            registry=build_registry(),
            settings=kopf_settings(settings),
            memo=operator_memo(make_context(settings, login)),
            namespaces=(NAMESPACE,),
            startup_timeout=_START_TIMEOUT,
        ) as operator:
            yield World(kube, emulator, webhook.url, webhook.index, operator)


@contextlib.contextmanager
def started_emulator(port: int = 0) -> Iterator[EmulatorServer]:
    """The demo's Google emulator; a busy ``--emulator-port`` is one line and a hint."""
    try:
        # The webhook listens on http://127.0.0.1: Google would refuse it, so both the emulator
        # and the operator (``demo_settings``) are told explicitly (a demo, not a deployment).
        emulator = EmulatorServer(port=port, allow_http_push=True).start()
    except PortInUse as exc:
        raise CliError(
            f"the Google emulator {exc}", hint="pick another --emulator-port (0 picks a free one)"
        ) from None
    for refresh_token, user in USERS.items():  # Alice's calendars exist, as on Google
        emulator.register_user(refresh_token, user)
    try:
        yield emulator
    finally:
        emulator.stop()


def demo_settings(webhook_url: str, emulator: EmulatorServer) -> OperatorSettings:
    """The operator's settings in the demo: push to the local webhook, Google is the emulator."""
    return OperatorSettings(
        webhook_url=webhook_url + "/push",
        webhook_insecure_loopback=True,
        google=GoogleSettings(api_root=emulator.root_url),
        channel_ttl_seconds=3600,
        retry_delay_seconds=1.0,
    )
