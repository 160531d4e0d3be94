"""Failures show and guards guard on a real API server (the session's ``cluster``: the envtest
control plane from ``KUBEBUILDER_ASSETS``, or ``CALSYNC_TEST_KUBECONFIG``).

``runner.serve`` (what ``calsync operator`` runs) on the admin kubeconfig, the real webhook, the
emulator as Google, SendGrid's stand-in for mails. What only a real API server proves: the status
fields the operator writes for failed writes and held deletions are declared (it prunes the rest
silently), the Warning Events land, and ``calsync check`` reads the verdict from the cluster.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from operator_endpoints import MailSink, WebhookThread, free_port
from operator_harness import (
    EXAMPLE,
    PERSONAL,
    TOKENS,
    add_event_via_google,
    condition,
    prepare_emulator,
    settings_for,
)

from calsync_operator.api.names import CONFIRM_DELETE_ANNOTATION, GROUP, PLURAL, VERSION
from calsync_operator.cli.main import main
from calsync_operator.emulator import EmulatorServer
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.kube.connect import load_configuration
from calsync_operator.sync.port import WriteKind, WriteOp
from support.cluster import TestCluster
from support.operator_thread import start_operator_thread
from support.polling import poll

CRD = Path(__file__).parents[2] / "crds" / "calendarsync.yaml"
pytestmark = pytest.mark.cluster


@pytest.fixture
def namespace(cluster: TestCluster) -> Iterator[str]:
    cluster.kubectl("apply", "-f", str(CRD))
    cluster.kubectl("wait", "--for=condition=Established", "crd/calendarsyncs.calsync.dev", "--timeout=60s")
    with cluster.scratch_namespace("calsync-truth") as name:
        yield name


def until(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    return poll(check, timeout=timeout, interval=0.3, failure="the cluster did not reach the expected state")


class Cluster:
    """The operator, the webhook and a CalendarSync in one namespace of the real API server."""

    def __init__(self, cluster: TestCluster, namespace: str, emulator: EmulatorServer) -> None:
        self.test_cluster, self.namespace, self.emulator = cluster, namespace, emulator
        self.configuration = load_configuration(str(cluster.kubeconfig))[0]
        self.api = client.ApiClient(self.configuration)
        self.core, self.custom = client.CoreV1Api(self.api), client.CustomObjectsApi(self.api)
        self.name = str(yaml.safe_load(EXAMPLE.read_text())["metadata"]["name"])
        prepare_emulator(emulator)  # the people's calendars exist; loopback http push allowed
        for secret, refresh_token in TOKENS.items():
            data = base64.b64encode(emulator.token_json(refresh_token=refresh_token).encode()).decode()
            meta = client.V1ObjectMeta(name=secret, labels={"app.kubernetes.io/part-of": "calsync"})
            self.core.create_namespaced_secret(
                namespace, client.V1Secret(metadata=meta, data={"token.json": data})
            )

    @contextlib.contextmanager
    def operator(self, mail: MailSink) -> Iterator[None]:
        with WebhookThread(client.ApiClient(self.configuration), (self.namespace,)) as webhook:
            settings = replace(
                settings_for(self.emulator, webhook, mail), health_port=free_port(), metrics_port=free_port()
            )
            stop, started, thread = start_operator_thread(
                settings, self.test_cluster.kubeconfig, self.namespace
            )
            try:
                assert started.wait(30)
                yield
            finally:
                stop.set()
                thread.join(30)

    def apply_example(self) -> None:
        manifest = yaml.safe_load(EXAMPLE.read_text())
        self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, manifest)

    def get(self) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(  # type: ignore[assignment]
            GROUP, VERSION, self.namespace, PLURAL, self.name
        )
        return found

    def wait(self, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            obj = self.get()
            return obj if check(obj) else None

        result: dict[str, Any] = until(found)
        return result

    def events(self, reason: str) -> list[client.CoreV1Event]:
        listed = self.core.list_namespaced_event(self.namespace).items
        return [e for e in listed if e.reason == reason and e.involved_object.name == self.name]

    def source(self, obj: dict[str, Any]) -> dict[str, Any]:
        return next(s for s in obj["status"]["sources"] if s["calendarId"] == PERSONAL)

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def world(cluster: TestCluster, namespace: str, emulator: EmulatorServer) -> Iterator[Cluster]:
    made = Cluster(cluster, namespace, emulator)
    yield made
    made.close()


def test_failing_writes_show_in_ready_events_mail_and_check_then_recover(
    world: Cluster, emulator: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    for day in (1, 2, 3):
        add_event_via_google(emulator, PERSONAL, "rt-personal", f"Event {day}", day=day)
    emulator.inject_fault("events.insert", status=500, reason="backendError")
    with MailSink() as mail, world.operator(mail):
        world.apply_example()
        obj = world.wait(lambda o: condition(o, "Ready").get("reason") == "WriteFailed")
        assert condition(obj, "Ready")["status"] == "False"
        assert "3 write(s) to Google failed" in condition(obj, "Ready")["message"]
        failed = world.source(obj)["failedWrites"]  # declared in the CRD, so the server kept it
        assert (failed["count"], failed["retrying"], failed["items"][0]["error"]) == (
            3,
            3,
            "500 backendError",
        )
        until(lambda: len(world.events("SyncFailed")) == 1 and len(mail.mails) == 1)
        assert world.events("SyncFailed")[0].type == "Warning"

        code = main(["check", "--kubeconfig", str(world.test_cluster.kubeconfig), "-n", world.namespace])
        assert code == 1
        assert "WriteFailed" in capsys.readouterr().out

        emulator.clear_faults()
        obj = world.wait(lambda o: condition(o, "Ready").get("status") == "True")
        until(lambda: len(mail.mails) == 2)
    assert "failedWrites" not in world.source(obj)
    assert len(emulator.events("alice.central@example.com")) == 3
    assert "recovered" in mail.mails[1]["subject"]
    assert len(world.events("SyncFailed")) == 1


def test_a_calendar_emptied_one_event_at_a_time_trips_the_guard(
    world: Cluster, emulator: EmulatorServer
) -> None:
    ids = [
        add_event_via_google(emulator, PERSONAL, "rt-personal", f"E{day}", day=day) for day in range(1, 21)
    ]
    with MailSink() as mail, world.operator(mail):
        world.apply_example()
        world.wait(lambda o: world.source(o).get("copies") == 20 if o.get("status") else False)
        google = GoogleCalendarClient.from_token_json(
            emulator.token_json(refresh_token="rt-personal"),
            source="test",
            settings=GoogleSettings(api_root=emulator.root_url),
        )
        try:
            for event_id in ids[:16]:  # one request each: Google pushes after every one
                [result] = google.write([WriteOp(WriteKind.DELETE, PERSONAL, event_id)])
                assert result.ok
        finally:
            google.close()

        def settled(obj: dict[str, Any]) -> bool:
            entry = world.source(obj)
            seen = entry["counts"]["deleted"] + entry.get("heldDeletes", 0)
            return condition(obj, "DeleteGuard").get("status") == "True" and seen == 16

        obj = world.wait(settled)
        deleted = world.source(obj)["counts"]["deleted"]
        assert deleted <= 4  # maxDeleteFraction 0.2 of 20
        assert world.source(obj)["heldDeletes"] == 16 - deleted  # declared, so kept by the server
        if deleted:  # the window remembers what it let through
            assert sum(r["deleted"] for r in world.source(obj)["recentDeletes"]) == deleted

        patch = {"metadata": {"annotations": {CONFIRM_DELETE_ANNOTATION: "true"}}}
        world.custom.patch_namespaced_custom_object(
            GROUP, VERSION, world.namespace, PLURAL, world.name, patch
        )
        obj = world.wait(
            lambda o: (
                condition(o, "Ready").get("status") == "True"
                and CONFIRM_DELETE_ANNOTATION not in o["metadata"].get("annotations", {})
            )
        )
    assert world.source(obj)["counts"]["deleted"] == 16
    assert len(world.events("DeleteGuardTripped")) == 1
