"""The chart's RBAC, proven on a real API server (``--authorization-mode=RBAC``) rather than read.

For each RBAC variant (cluster-wide ClusterRoles, and ``rbac.namespaced=true`` Roles in the
watched namespace) the chart is ``helm install``-ed once; then ``calsync operator`` and
``calsync webhook`` run as separate processes, each logged in only with a TokenRequest token of
its own ServiceAccount, with the Google emulator as Google:

- the main flow works: a CalendarSync becomes Ready, the copies arrive, a change in a source
  calendar is pushed by the emulator to the webhook, which patches the push annotation, and the
  operator copies it; deleting the CalendarSync stops the channels and releases the finalizer;
- what the chart does not grant is refused with 403: the webhook reads no Secret and writes no
  status; the operator creates, replaces and deletes no Secret; in the namespaced variant
  neither reaches anything outside the watched namespace.

Runs on the session's cluster (the ``cluster`` fixture). On a cluster that has nodes the chart's
own Pods may start too (the image need not be pullable): they do not take part in the test.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import CHART_DIR
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from role_processes import (
    http_get,
    metric,
    operator_process,
    service_account_kubeconfig,
    until,
    webhook_process,
)

from calsync_operator.api.names import FINALIZER, GROUP, PLURAL, VERSION, push_annotation
from calsync_operator.demo.story import CENTRAL, PERSONAL, SOURCE_TOKENS, TOKENS, USERS, WORK
from calsync_operator.emulator import EmulatorServer
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.kube.connect import load_configuration
from calsync_operator.sync.port import WriteKind, WriteOp
from support.cluster import TestCluster

pytestmark = pytest.mark.cluster

EXAMPLE = Path(__file__).parents[2] / "examples" / "calendarsync.yaml"


@dataclass(frozen=True)
class Install:
    """One helm release and the logins of its ServiceAccounts."""

    variant: str
    namespace: str  # the release's namespace, also the watched one
    outside: str  # a namespace the namespaced variant does not serve
    operator_kubeconfig: Path
    webhook_kubeconfig: Path

    @property
    def namespaced(self) -> bool:
        return self.variant == "namespaced"


def _api(kubeconfig: Path) -> client.ApiClient:
    return client.ApiClient(load_configuration(str(kubeconfig))[0])


@pytest.fixture(scope="module", params=["clusterwide", "namespaced"])
def install(
    request: pytest.FixtureRequest, cluster: TestCluster, _emulator_server: EmulatorServer
) -> Iterator[Install]:
    variant: str = request.param
    release = f"rbac-{uuid.uuid4().hex[:6]}"
    with (
        cluster.scratch_namespace("calsync-rbac") as namespace,
        cluster.scratch_namespace("calsync-outside") as outside,
    ):
        values: dict[str, Any] = {
            "google": {"apiRoot": _emulator_server.root_url},
            "logging": {"format": "text", "level": "INFO"},
            "rbac": {"namespaced": variant == "namespaced"},
        }
        if variant == "namespaced":
            values["watchNamespaces"] = [namespace]
        cluster.helm("install", release, str(CHART_DIR), "-n", namespace, values=values)
        cluster.kubectl("create", "secret", "generic", "elsewhere", "-n", outside, "--from-literal=k=v")
        try:
            yield Install(
                variant,
                namespace,
                outside,
                service_account_kubeconfig(cluster, namespace, "operator"),
                service_account_kubeconfig(cluster, namespace, "webhook"),
            )
        finally:
            cluster.helm("uninstall", release, "-n", namespace, check=False)


def _add_event(emulator: EmulatorServer, calendar_id: str, title: str) -> str:
    """Insert an event the way a calendar app would: through the API, so the emulator pushes."""
    event_id = uuid.uuid4().hex
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    body = {
        "id": event_id,
        "summary": title,
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
    }
    google = GoogleCalendarClient.from_token_json(
        emulator.token_json(refresh_token=SOURCE_TOKENS[calendar_id]),
        source="test",
        settings=GoogleSettings(api_root=emulator.root_url),
    )
    try:
        [result] = google.write([WriteOp(WriteKind.INSERT, calendar_id, event_id, body)])
    finally:
        google.close()
    assert result.ok, result.error
    return event_id


def _conditions(obj: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions", [])}


def _put_token_secrets(core: client.CoreV1Api, namespace: str, emulator: EmulatorServer) -> None:
    for name, refresh_token in TOKENS.items():
        data = base64.b64encode(emulator.token_json(refresh_token=refresh_token).encode()).decode()
        meta = client.V1ObjectMeta(name=name, labels={"app.kubernetes.io/part-of": "calsync"})
        core.create_namespaced_secret(namespace, client.V1Secret(metadata=meta, data={"token.json": data}))


def test_operator_and_webhook_sync_and_push_with_only_their_service_account_tokens(
    install: Install, cluster: TestCluster, emulator: EmulatorServer, tmp_path: Path
) -> None:
    namespace = install.namespace
    admin = _api(cluster.kubeconfig)
    custom = client.CustomObjectsApi(admin)
    for refresh_token, user in USERS.items():  # Alice's calendars exist, as on Google
        emulator.register_user(refresh_token, user)
    emulator.allow_http_push()
    _put_token_secrets(client.CoreV1Api(admin), namespace, emulator)
    seeded = [_add_event(emulator, PERSONAL, "Standup"), _add_event(emulator, WORK, "Review")]
    manifest = yaml.safe_load(EXAMPLE.read_text())
    name = manifest["metadata"]["name"]

    def get() -> dict[str, Any]:
        found: dict[str, Any] = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)  # type: ignore[assignment]
        return found

    webhook, webhook_url = webhook_process(
        cluster, namespace, install.webhook_kubeconfig, tmp_path / "webhook.log"
    )
    with webhook:
        until(lambda: http_get(f"{webhook_url}/readyz") == "ok", "the webhook's channel index")
        # The webhook listens on http://127.0.0.1: allowed explicitly, on both sides (Google: https only).
        overrides = {
            "CALSYNC_WEBHOOK_URL": f"{webhook_url}/push",
            "CALSYNC_WEBHOOK_INSECURE_LOOPBACK": "true",
        }
        operator, health = operator_process(
            cluster, namespace, install.operator_kubeconfig, tmp_path / "operator.log", overrides
        )
        with operator:
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
            obj = until(lambda: _ready(get()), "Ready")
            assert operator.alive()
            assert webhook.alive()
            assert _conditions(obj)["PushActive"] == "True"
            assert FINALIZER in obj["metadata"]["finalizers"]
            assert len(emulator.events(CENTRAL)) == len(seeded)
            own = _channel_ids(obj)  # a cluster-wide operator may serve other tests' leftovers too
            assert len(own) == 2
            assert {c["id"] for c in emulator.channels()} >= own
            assert http_get(health) is not None  # kopf's liveness endpoint answers

            # A push: the emulator notifies the webhook, which signals the operator.
            metrics = f"{webhook_url}/metrics"
            until(
                lambda: metric(http_get(metrics), "calsync_webhook_indexed_channels") >= 2, "channels indexed"
            )
            _add_event(emulator, PERSONAL, "Dentist")
            until(lambda: len(emulator.events(CENTRAL)) == len(seeded) + 1, "the pushed change's copy")
            signalled = metric(http_get(metrics), "calsync_webhook_pushes_total", '{outcome="signalled"}')
            assert signalled >= 1
            annotations = get()["metadata"].get("annotations", {})
            assert push_annotation(PERSONAL) in annotations  # written by the webhook's account

            custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
            until(lambda: _gone(get), "the finalizer to be released")
            assert not own & {c["id"] for c in emulator.channels()}
            assert emulator.events(CENTRAL) == []  # the example asks for onDelete: deleteCopies
    for process in (operator, webhook):  # kopf warns, rather than fails, on a watch it may not do
        assert not _refusals(process.tail(10_000)), process.tail()
    admin.close()  # type: ignore[no-untyped-call]


def _refusals(log: str) -> list[str]:
    """The log lines where the API refused access; writes into a namespace being deleted (other
    tests' leftovers, seen by a cluster-wide operator) are refused too, but are no RBAC matter."""
    lines = log.lower().splitlines()
    return [line for line in lines if "forbidden" in line and "being terminated" not in line]


def _channel_ids(obj: dict[str, Any]) -> set[str]:
    """The ids of the push channels this CalendarSync's status records."""
    return {s["channel"]["id"] for s in obj["status"]["sources"] if "channel" in s}


def _ready(obj: dict[str, Any]) -> dict[str, Any] | None:
    return obj if _conditions(obj).get("Ready") == "True" else None


def _gone(get: Callable[[], Any]) -> bool:
    try:
        get()
    except ApiException as exc:
        return bool(exc.status == 404)
    return False


def _status(call: Callable[[], Any]) -> int:
    """The HTTP status of ``call``: 200 when it went through, else the API's answer."""
    try:
        call()
    except ApiException as exc:
        return int(exc.status)
    return 200


def _secret(name: str) -> client.V1Secret:
    return client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={"token.json": "{}"})


def test_what_the_chart_does_not_grant_is_refused(install: Install, cluster: TestCluster) -> None:
    ns, outside = install.namespace, install.outside
    cluster.kubectl("create", "secret", "generic", "probe", "-n", ns, "--from-literal=token.json={}")
    csync = yaml.safe_load(EXAMPLE.read_text())
    csync["metadata"]["name"] = f"probe-{install.variant}"
    cluster.kubectl("create", "-n", ns, "-f", "-", stdin=csync)
    name = csync["metadata"]["name"]
    status_patch = {"status": {"eventsSynced": 1}}
    with _api(install.webhook_kubeconfig) as webhook_api, _api(install.operator_kubeconfig) as operator_api:
        wh_core, wh_custom = client.CoreV1Api(webhook_api), client.CustomObjectsApi(webhook_api)
        op_core, op_custom = client.CoreV1Api(operator_api), client.CustomObjectsApi(operator_api)
        # What each account needs works.
        assert _status(lambda: wh_custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)) == 200
        assert _status(lambda: op_core.read_namespaced_secret("probe", ns)) == 200
        assert (
            _status(
                lambda: op_custom.patch_namespaced_custom_object_status(
                    GROUP, VERSION, ns, PLURAL, name, status_patch
                )
            )
            == 200
        )
        # The webhook: no Secrets at all, no status.
        assert _status(lambda: wh_core.read_namespaced_secret("probe", ns)) == 403
        assert _status(lambda: wh_core.list_namespaced_secret(ns)) == 403
        assert (
            _status(
                lambda: wh_custom.patch_namespaced_custom_object_status(
                    GROUP, VERSION, ns, PLURAL, name, status_patch
                )
            )
            == 403
        )
        assert (
            _status(lambda: wh_custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name))
            == 403
        )
        # The operator: reads (and may patch back) token Secrets, never creates, replaces or deletes one.
        assert _status(lambda: op_core.create_namespaced_secret(ns, _secret("made"))) == 403
        assert _status(lambda: op_core.replace_namespaced_secret("probe", ns, _secret("probe"))) == 403
        assert _status(lambda: op_core.delete_namespaced_secret("probe", ns)) == 403
        assert (
            _status(lambda: op_custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name))
            == 403
        )
        assert _status(lambda: op_core.list_namespaced_config_map(ns)) == 403
        # Outside the watched namespace: nothing in the namespaced variant.
        outside_read = _status(lambda: op_core.read_namespaced_secret("elsewhere", outside))
        outside_list = _status(
            lambda: wh_custom.list_namespaced_custom_object(GROUP, VERSION, outside, PLURAL)
        )
        cluster_list = _status(lambda: op_custom.list_cluster_custom_object(GROUP, VERSION, PLURAL))
        if install.namespaced:
            assert (outside_read, outside_list, cluster_list) == (403, 403, 403)
        else:
            assert (outside_read, outside_list, cluster_list) == (200, 200, 200)
        # Nobody but the operator touches Secrets, in any namespace.
        assert _status(lambda: wh_core.read_namespaced_secret("elsewhere", outside)) == 403
    cluster.kubectl("delete", "csync", name, "-n", ns)
