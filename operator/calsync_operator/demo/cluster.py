"""``calsync demo --kubeconfig``: the demo's world with a real cluster as its Kubernetes API.

Only Kubernetes changes: the Google emulator, the webhook (which the emulator pushes to over
loopback) and the operator (the real kopf handlers in a thread, logged in with the kubeconfig's
identity) still run in this process, so a k3s user sees calsync work on their own cluster
before they have a Google client. Everything happens in a fresh namespace
``calsync-demo-<random>``; the CalendarSync CRD is applied when the cluster lacks it. At the end
the demo deletes what it made, newest first: the CalendarSync (while the operator still runs,
so its finalizer stops the push channels), the Secrets, the namespace, and the CRD if it
applied it. (A namespace on a control plane without a controller-manager stays Terminating.)
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from calsync_operator.api.names import GROUP, PLURAL, VERSION
from calsync_operator.controller.handlers import build_registry
from calsync_operator.controller.runner import kopf_settings, make_context, operator_memo
from calsync_operator.controller.thread import run_operator
from calsync_operator.demo.world import PART_OF, WebhookServer, World, demo_settings, started_emulator
from calsync_operator.emulator import EmulatorServer
from calsync_operator.errors import CliError
from calsync_operator.kube.connect import Cluster, connect
from calsync_operator.kube.login import connection_info, static_login

CRD_NAME = f"{PLURAL}.{GROUP}"
_WAIT_SECONDS = 30.0
_READ_INTERVAL = 0.05
_KINDS = ("Secret", "CalendarSync")


@dataclass(frozen=True)
class ClusterChoice:
    """Which cluster: a kubeconfig file (None: ``$KUBECONFIG`` or ``~/.kube/config``) and context."""

    kubeconfig: str | None = None
    context: str | None = None


class ClusterKube:
    """The demo's Kubernetes calls (``world.DemoKube``) on a real API server. It remembers what
    it created, so that ``delete_created`` removes exactly that."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster
        self._core = client.CoreV1Api(cluster.api_client)
        self._custom = client.CustomObjectsApi(cluster.api_client)
        self.created: list[tuple[str, str, str]] = []  # (kind, namespace, name)
        self._reads: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = {}

    @property
    def url(self) -> str:
        return self._cluster.server

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        kind, meta = body["kind"], body["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        if kind not in _KINDS:
            raise ValueError(f"the demo creates no {kind}")
        made: object
        with self._cluster.calling(f"create {kind} {namespace}/{name}"):
            if kind == "Secret":  # the client takes a manifest dict as well as its model classes
                made = self._core.create_namespaced_secret(namespace, body)  # type: ignore[arg-type]
            else:
                made = self._custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
        self.created.append((kind, namespace, name))
        result: dict[str, Any] = self._cluster.api_client.sanitize_for_serialization(made)  # type: ignore[no-untyped-call]
        return result

    def find(self, kind: str, name: str, *, namespace: str) -> dict[str, Any] | None:
        """The CalendarSync, at most one API read per ``_READ_INTERVAL`` (the demo's view polls
        fast; a real API server needs no hundred reads a second)."""
        _only_calendarsyncs(kind)
        now = time.monotonic()
        key = (namespace, name)
        cached = self._reads.get(key)
        if cached is None or now - cached[0] >= _READ_INTERVAL:
            cached = self._reads[key] = (now, self._get(namespace, name))
        return cached[1]

    def _get(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self._custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name
            )  # type: ignore[assignment]
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def list(self, kind: str, *, namespace: str) -> list[dict[str, Any]]:
        _only_calendarsyncs(kind)
        listed: dict[str, Any] = self._custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)  # type: ignore[assignment]
        items: list[dict[str, Any]] = listed.get("items", [])
        return items

    def delete_created(self, kinds: tuple[str, ...]) -> None:
        """Delete the objects of ``kinds`` this demo created, newest first; a CalendarSync is
        awaited until its finalizer let it go."""
        for kind, namespace, name in reversed([c for c in self.created if c[0] in kinds]):
            self.created.remove((kind, namespace, name))
            with self._cluster.calling(f"delete {kind} {namespace}/{name}"):
                try:
                    if kind == "Secret":
                        self._core.delete_namespaced_secret(name, namespace)
                    else:
                        self._custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
                except ApiException as exc:
                    if exc.status != 404:  # gone already is what we want
                        raise
            if kind == "CalendarSync":
                self._wait_gone(namespace, name)

    def _wait_gone(self, namespace: str, name: str) -> None:
        _wait_until(lambda: self._get(namespace, name) is None, f"CalendarSync {namespace}/{name} deleted")


def _only_calendarsyncs(kind: str) -> None:
    if kind != "CalendarSync":
        raise ValueError(f"the demo reads no {kind}")


def _wait_until(check: Callable[[], bool], what: str) -> None:
    try:
        Retrying(
            stop=stop_after_delay(_WAIT_SECONDS),
            wait=wait_fixed(0.2),
            retry=retry_if_result(lambda done: not done),
        )(check)
    except RetryError:
        raise CliError(f"the cluster did not get {what} within {_WAIT_SECONDS:.0f} s") from None


def _crd_manifest() -> dict[str, Any]:
    # The CRD bundled beside the in-memory API, read through the top package: importing
    # `calsync_operator.kubeemu` would load kmock, which a production install has not.
    crd = resources.files("calsync_operator").joinpath("kubeemu", "crds", "calendarsync.yaml")
    text = crd.read_text("utf-8")
    manifest: dict[str, Any] = yaml.safe_load(text)
    return manifest


def _ensure_crd(cluster: Cluster) -> bool:
    """Apply the CalendarSync CRD when the cluster lacks it; True when this call created it."""
    api = client.ApiextensionsV1Api(cluster.api_client)
    with cluster.calling(f"read CustomResourceDefinition {CRD_NAME}"):
        try:
            api.read_custom_resource_definition(CRD_NAME)
            return False
        except ApiException as exc:
            if exc.status != 404:
                raise
    with cluster.calling(f"create CustomResourceDefinition {CRD_NAME}"):
        api.create_custom_resource_definition(_crd_manifest())  # type: ignore[arg-type]  # a dict works

    def established() -> bool:
        status = api.read_custom_resource_definition(CRD_NAME).status
        conditions = (status.conditions if status else None) or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    _wait_until(established, f"the CRD {CRD_NAME} established")
    return True


class _OwnLogin:
    """For ``run_operator``: no pre-filled vault, kopf logs in through the registry's login handler."""

    def kopf_vault(self) -> None:
        return None


@contextlib.contextmanager
def cluster_world(
    choice: ClusterChoice, emulator_port: int = 0, *, say: Callable[[str], None]
) -> Iterator[World]:
    """The demo's world on the chosen cluster; everything it made is deleted on exit."""
    cluster = connect(
        choice.kubeconfig, choice.context, hint="pass --kubeconfig PATH (kubectl must work with it)"
    )
    try:
        with _namespace_and_crd(cluster, say) as namespace, started_emulator(emulator_port) as emulator:
            yield from _running_parts(cluster, namespace, emulator)
    finally:
        cluster.close()


@contextlib.contextmanager
def _namespace_and_crd(cluster: Cluster, say: Callable[[str], None]) -> Iterator[str]:
    created_crd = _ensure_crd(cluster)
    namespace = f"calsync-demo-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(cluster.api_client)
    with cluster.calling(f"create namespace {namespace}"):
        core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace, labels=PART_OF))
        )
    say(f"cluster {cluster.server}: namespace {namespace}" + (", CRD applied" if created_crd else ""))
    try:
        yield namespace
    finally:
        with cluster.calling(f"delete namespace {namespace}"):
            core.delete_namespace(namespace)
        if created_crd:
            with cluster.calling(f"delete CustomResourceDefinition {CRD_NAME}"):
                client.ApiextensionsV1Api(cluster.api_client).delete_custom_resource_definition(CRD_NAME)
        say(f"deleted what the demo made: namespace {namespace}" + (" and the CRD" if created_crd else ""))


def _running_parts(cluster: Cluster, namespace: str, emulator: EmulatorServer) -> Iterator[World]:
    configuration = cluster.api_client.configuration
    login = static_login(connection_info(configuration))
    kube = ClusterKube(cluster)
    try:
        with WebhookServer(client.ApiClient(configuration), (namespace,)) as webhook:
            settings = demo_settings(webhook.url, emulator)
            with run_operator(
                _OwnLogin(),
                registry=build_registry(login=login),
                settings=kopf_settings(settings),
                memo=operator_memo(make_context(settings, login)),
                namespaces=(namespace,),
                startup_timeout=_WAIT_SECONDS,
            ) as operator:
                try:
                    yield World(kube, emulator, webhook.url, webhook.index, operator, namespace)
                finally:
                    kube.delete_created(("CalendarSync",))  # while the operator runs: finalizer
    finally:
        kube.delete_created(_KINDS)
