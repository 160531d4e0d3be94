"""The main flow on a real API server (the session's ``cluster``: envtest or
``CALSYNC_TEST_KUBECONFIG``; skipped without one).

Same parts as the in-memory tests except Kubernetes: ``runner.serve`` (exactly what
``calsync operator`` runs) logs in with the kubeconfig, the real webhook patches the cluster,
Google is the shipped emulator. Everything happens in a fresh namespace that is deleted after
(on envtest it stays Terminating). The CRD is applied from ``crds/calendarsync.yaml``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import kopf
import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from operator_endpoints import MailSink, WebhookThread, free_port
from operator_harness import (
    CENTRAL,
    EXAMPLE,
    PERSONAL,
    TOKENS,
    WORK,
    add_event_via_google,
    condition,
    prepare_emulator,
    settings_for,
)

from calsync_operator.api.names import GROUP, PLURAL, VERSION
from calsync_operator.controller.handlers import resource
from calsync_operator.emulator import EmulatorServer
from calsync_operator.kube.connect import load_configuration
from support.cluster import TestCluster
from support.operator_thread import start_operator_thread
from support.polling import poll

pytestmark = pytest.mark.cluster


@pytest.fixture
def kube_namespace(cluster: TestCluster) -> Iterator[tuple[client.Configuration, str]]:
    cluster.apply_crd()
    with cluster.scratch_namespace("calsync-test") as namespace:
        yield load_configuration(str(cluster.kubeconfig))[0], namespace


def until(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    return poll(check, timeout=timeout, interval=0.5, failure="the cluster did not reach the expected state")


def test_main_flow_on_a_real_cluster(
    cluster: TestCluster,
    kube_namespace: tuple[client.Configuration, str],
    emulator: EmulatorServer,
    mail: MailSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configuration, namespace = kube_namespace
    seen_metadata: list[set[str]] = []  # the metadata keys of every body kopf handed to wake()
    real_wake = resource.wake

    async def wake(*, body: kopf.Body, **kwargs: Any) -> None:
        seen_metadata.append(set(body.metadata))
        await real_wake(body=body, **kwargs)

    monkeypatch.setattr(resource, "wake", wake)  # before the operator builds its registry
    api = client.ApiClient(configuration)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    prepare_emulator(emulator)
    for secret, refresh_token in TOKENS.items():
        data = base64.b64encode(emulator.token_json(refresh_token=refresh_token).encode()).decode()
        meta = client.V1ObjectMeta(name=secret, labels={"app.kubernetes.io/part-of": "calsync"})
        core.create_namespaced_secret(namespace, client.V1Secret(metadata=meta, data={"token.json": data}))
    for calendar_id, refresh_token in ((PERSONAL, "rt-personal"), (WORK, "rt-work")):
        add_event_via_google(emulator, calendar_id, refresh_token, "Standup")

    with WebhookThread(client.ApiClient(configuration), (namespace,)) as webhook:
        settings = replace(
            settings_for(emulator, webhook, mail), health_port=free_port(), metrics_port=free_port()
        )
        stop, started, thread = start_operator_thread(settings, cluster.kubeconfig, namespace)
        try:
            assert started.wait(30)
            manifest = yaml.safe_load(EXAMPLE.read_text())
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
            name = manifest["metadata"]["name"]

            def get() -> dict[str, Any]:
                found: dict[str, Any] = custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, name
                )  # type: ignore[assignment]
                return found

            def ready() -> dict[str, Any] | None:
                obj = get()
                return obj if condition(obj, "Ready").get("status") == "True" else None

            obj = until(ready)
            assert condition(obj, "PushActive")["status"] == "True"
            # kopf keeps every object's last body: the server's managedFields are not in it.
            assert obj["metadata"]["managedFields"]
            assert seen_metadata
            assert not any("managedFields" in keys for keys in seen_metadata)
            assert len(emulator.events(CENTRAL)) == 2
            assert len(emulator.channels()) == 2

            custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)

            def gone() -> bool:
                try:
                    get()
                except ApiException as exc:
                    return bool(exc.status == 404)
                return False

            until(gone)
            assert emulator.channels() == []
            assert emulator.events(CENTRAL) == []  # the example asks for onDelete: deleteCopies
        finally:
            stop.set()
            thread.join(30)
    api.close()  # type: ignore[no-untyped-call]
