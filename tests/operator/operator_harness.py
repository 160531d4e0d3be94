"""The world the operator tests run in: every part real, on loopback.

- Kubernetes: the ``kube`` fixture (kmock-based API server in a thread); kopf runs the real
  calsync handlers in its own thread (``kubeemu.run_operator``).
- Google: the shipped Calendar emulator over HTTP; the operator reaches it through the real
  adapter. Test-side changes to source calendars go through the same adapter, so the emulator
  pushes exactly as Google would.
- The webhook: the real ``calsync_webhook`` app under uvicorn in its own thread, watching
  CalendarSyncs and patching ``push.calsync.dev/<key>`` — the complete push path.
- SendGrid: ``MailSink``, a local HTTP server speaking the v3 ``mail/send`` endpoint (the only
  internet service that is replaced).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from operator_endpoints import MailSink, WebhookThread

from calsync_operator.controller.handlers import build_registry
from calsync_operator.controller.memory import OperatorContext
from calsync_operator.controller.runner import kopf_settings, operator_memo
from calsync_operator.emulator import EmulatorServer
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.kube.client import KubeApi
from calsync_operator.kubeemu import OperatorThread, ThreadedKubeEmulator, run_operator
from calsync_operator.mail import Mailer
from calsync_operator.settings import OperatorSettings
from calsync_operator.sync.port import WriteKind, WriteOp
from support.events import new_event

EXAMPLE = Path(__file__).parents[2] / "examples" / "calendarsync.yaml"
NAME = "personal-to-central"
NAMESPACE = "default"
SENDGRID_KEY = "SG.test-key-never-logged"
TOKENS = {"personal-token": "rt-personal", "work-token": "rt-work", "central-token": "rt-central"}
PERSONAL = "alice.personal@example.com"
WORK = "alice@work.example.com"
CENTRAL = "alice.central@example.com"
# Whose calendars the refresh tokens open: each person's own (primary) calendar.
USERS = {"rt-personal": PERSONAL, "rt-work": WORK, "rt-central": CENTRAL}
KOPF_IDLE_KEYS = ("kopf-managed", "last-handled-configuration", "requested-at", "confirm-delete")


def prepare_emulator(emulator: EmulatorServer) -> EmulatorServer:
    """The people's calendars exist (as on Google, unknown ones are 404), and the webhook on
    http://127.0.0.1 may receive pushes (Google: https only; an explicit emulator option)."""
    for refresh_token, user in USERS.items():
        emulator.register_user(refresh_token, user)
    emulator.allow_http_push()
    return emulator


def google_client(emulator: EmulatorServer, refresh_token: str) -> GoogleCalendarClient:
    return GoogleCalendarClient.from_token_json(
        emulator.token_json(refresh_token=refresh_token),
        source="test",
        settings=GoogleSettings(api_root=emulator.root_url),
    )


def add_event_via_google(
    emulator: EmulatorServer, calendar_id: str, refresh_token: str, title: str, *, day: int = 1
) -> str:
    """Insert an event the way a calendar app would: through the API, so Google pushes."""
    op = new_event(calendar_id, title, day)
    client = google_client(emulator, refresh_token)
    [result] = client.write([op])
    assert result.ok, result.error
    return op.event_id


@dataclass
class World:
    kube: ThreadedKubeEmulator
    emulator: EmulatorServer
    webhook: WebhookThread
    mail: MailSink
    settings: OperatorSettings
    operators: list[OperatorThread] = field(default_factory=list)

    # -- arranging -----------------------------------------------------------------------------

    def token_secret(self, name: str, refresh_token: str) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": NAMESPACE,
                "labels": {"app.kubernetes.io/part-of": "calsync"},
            },
            # ``data``, not ``stringData``: the in-memory API server does not convert the latter.
            "data": {
                "token.json": base64.b64encode(
                    self.emulator.token_json(refresh_token=refresh_token).encode()
                ).decode()
            },
        }
        if self.kube.find("Secret", name, namespace=NAMESPACE) is None:
            self.kube.create(body)
        else:
            self.kube.patch("Secret", name, {"data": body["data"]}, namespace=NAMESPACE)

    def example(self, **spec_changes: Any) -> dict[str, Any]:
        manifest: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
        manifest["metadata"]["namespace"] = NAMESPACE
        manifest["spec"].update(spec_changes)
        return manifest

    def apply_example(self, **spec_changes: Any) -> None:
        for secret, refresh_token in TOKENS.items():
            self.token_secret(secret, refresh_token)
        self.kube.create(self.example(**spec_changes))

    def calendar(self, refresh_token: str) -> GoogleCalendarClient:
        """A Google client as a person editing their calendar would have."""
        return google_client(self.emulator, refresh_token)

    def add_event(self, calendar_id: str, refresh_token: str, title: str, *, day: int = 1) -> str:
        return add_event_via_google(self.emulator, calendar_id, refresh_token, title, day=day)

    def rename_event(self, calendar_id: str, refresh_token: str, event_id: str, title: str) -> None:
        client = self.calendar(refresh_token)
        [result] = client.write([WriteOp(WriteKind.PATCH, calendar_id, event_id, {"summary": title})])
        assert result.ok, result.error

    # -- acting ----------------------------------------------------------------------------------

    def context(
        self, settings: OperatorSettings | None = None, clock: Callable[[], datetime] | None = None
    ) -> OperatorContext:
        settings = settings or self.settings
        return OperatorContext(
            settings=settings,
            kube=KubeApi(self.kube.login()),
            mailer=Mailer.from_settings(settings),
            clock=clock,
        )

    @contextlib.contextmanager
    def operator(
        self,
        settings: OperatorSettings | None = None,
        clock: Callable[[], datetime] | None = None,
        *,
        stop_when_idle: bool = True,
    ) -> Iterator[OperatorThread]:
        """Run the operator for the ``with`` block; by default it is stopped once kopf is idle,
        ``stop_when_idle=False`` stops it wherever it is (a crash or a rollout mid-sync)."""
        settings = settings or self.settings
        configured = kopf_settings(settings)
        configured.queueing.exit_timeout = 0.5  # at exit, busy handlers are cancelled this soon
        with run_operator(
            self.kube,
            registry=build_registry(),
            settings=configured,
            memo=operator_memo(self.context(settings, clock)),
            namespaces=(NAMESPACE,),
        ) as thread:
            self.operators.append(thread)
            yield thread
            if stop_when_idle:
                self.wait_until_kopf_idle()

    def wait_until_kopf_idle(self, timeout: float = 10.0) -> None:
        """kopf stores its diff base and drops its progress annotations when handling is done;
        stopping it earlier races with its own bookkeeping (a daemon may be re-spawned)."""

        def idle(obj: dict[str, Any] | None) -> bool:
            if obj is None or obj["metadata"].get("deletionTimestamp"):
                return True
            annotations = obj["metadata"].get("annotations", {})
            busy = [
                key
                for key in annotations
                if key.startswith("calsync.dev/") and key.split("/", 1)[1] not in KOPF_IDLE_KEYS
            ]
            return "calsync.dev/last-handled-configuration" in annotations and not busy

        if self.kube.find("CalendarSync", NAME, namespace=NAMESPACE) is not None:
            self.kube.wait_for("CalendarSync", NAME, idle, namespace=NAMESPACE, timeout=timeout)

    # -- observing -------------------------------------------------------------------------------

    def csync(self) -> dict[str, Any]:
        return self.kube.get("CalendarSync", NAME, namespace=NAMESPACE)

    def wait(self, condition: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> dict[str, Any]:
        found = self.kube.wait_for(
            "CalendarSync",
            NAME,
            lambda o: o is not None and condition(o),
            namespace=NAMESPACE,
            timeout=timeout,
        )
        assert found is not None
        return found

    def copies(self) -> list[dict[str, Any]]:
        return self.emulator.events(CENTRAL)

    def events_of(self, reason: str) -> list[dict[str, Any]]:
        found = []
        for kind in ("Event",):
            for event in self.kube.list(kind, namespace=NAMESPACE):
                if event.get("reason") == reason and event.get("involvedObject", {}).get("name") == NAME:
                    found.append(event)
        return found


class Clock:
    """The operator's clock, moved by the test (Google's channels still expire in real time)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def request_sync(world: World) -> str:
    """What a user does to force a pass: ``kubectl annotate csync NAME calsync.dev/requested-at=...``."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    world.kube.patch(
        "CalendarSync",
        NAME,
        {"metadata": {"annotations": {"calsync.dev/requested-at": stamp}}},
        namespace=NAMESPACE,
    )
    return stamp


def status_writes(world: World) -> list[object]:
    """Every status write the API server received (the operator is the only writer)."""
    return [r for r in world.kube.requests if r.method == "PATCH" and str(r.url).endswith("/status")]


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    for item in obj.get("status", {}).get("conditions", []):
        if item.get("type") == type_:
            return dict(item)
    return {}


def ready(obj: dict[str, Any]) -> bool:
    return condition(obj, "Ready").get("status") == "True"


def source_status(obj: dict[str, Any], calendar_id: str) -> dict[str, Any]:
    for item in obj.get("status", {}).get("sources", []):
        if item.get("calendarId") == calendar_id:
            return dict(item)
    return {}


def settings_for(emulator: EmulatorServer, webhook: WebhookThread, mail: MailSink) -> OperatorSettings:
    return OperatorSettings(
        webhook_url=webhook.url,
        webhook_insecure_loopback=True,  # the webhook listens on http://127.0.0.1
        google=GoogleSettings(api_root=emulator.root_url, max_attempts=2),
        sendgrid_api_key=SENDGRID_KEY,
        sendgrid_api_host=mail.url,
        alert_from="calsync@example.com",
        alert_to=("ops@example.com",),
        channel_ttl_seconds=3600,
        channel_overlap_seconds=0.2,
        retry_delay_seconds=1.0,
        poll_seconds_override=3600.0,
    )


def with_changes(settings: OperatorSettings, **changes: Any) -> OperatorSettings:
    return replace(settings, **changes)


class LogKeeper(logging.Handler):
    """A root handler that keeps every record of every thread (kopf's included), at any level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))


def eventually(check: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait for state other threads produce asynchronously (mails, posted Events)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(0.02)
