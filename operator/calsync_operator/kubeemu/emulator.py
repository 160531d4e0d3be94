"""Run the in-memory Kubernetes API on 127.0.0.1 and talk to it from tests, demos and kopf.

``KubeEmulator`` serves on the running event loop (``async with``); ``threaded`` hosts it in a
thread of its own for sync code. Both expose the same helpers (``Objects``):
``create/get/patch/delete/list`` on plain dicts, a kubeconfig for ``kubectl`` and the official
client, and kopf connection settings.
"""

from __future__ import annotations

import abc
import copy
import pathlib
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp.web
import yaml

from calsync_operator.kubeemu import errors, patching
from calsync_operator.kubeemu.bundle import calendarsync_crd_path, load_manifests
from calsync_operator.kubeemu.resources import ResourceType, bundled_types
from calsync_operator.kubeemu.server import KubeApiServer
from calsync_operator.kubeemu.store import Store

T = TypeVar("T")
ApiError = errors.ApiError
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_PATCH_TYPES = {"merge": patching.MERGE, "json": patching.JSON, "strategic": patching.STRATEGIC}


class Objects(abc.ABC):
    """Object helpers shared by both emulators; ``_call`` runs a function on the server's loop."""

    store: Store

    @abc.abstractmethod
    def _call(self, fn: Callable[[], T]) -> T: ...

    def resource(self, kind: str, api_version: str | None = None) -> ResourceType:
        """Resolve ``"CalendarSync"``, ``"calendarsyncs"``, ``"csync"`` or ``"secrets"``."""

        def find() -> ResourceType:
            if api_version is None:
                return self.store.find(kind)
            group, _, version = api_version.rpartition("/")
            for rtype in self.store.types:
                if (rtype.group, rtype.version) == (group, version) and kind in (rtype.kind, rtype.plural):
                    return rtype
            raise KeyError(f"unknown resource {kind!r} in {api_version!r}")

        return self._call(find)

    def create(self, body: Mapping[str, Any], *, namespace: str | None = None) -> dict[str, Any]:
        """Create from a manifest (``apiVersion``/``kind`` pick the resource), like ``kubectl create``."""
        rtype = self.resource(body["kind"], body["apiVersion"])
        ns = (
            namespace
            or (body.get("metadata") or {}).get("namespace")
            or ("default" if rtype.namespaced else None)
        )
        return _copy(self._call(lambda: self.store.create(rtype, ns, body)))

    def apply_file(self, path: str | pathlib.Path, *, namespace: str | None = None) -> list[dict[str, Any]]:
        """Create every document of a YAML manifest file."""
        return [self.create(doc, namespace=namespace) for doc in load_manifests(pathlib.Path(path))]

    def get(self, kind: str, name: str, *, namespace: str | None = "default") -> dict[str, Any]:
        rtype = self.resource(kind)
        return _copy(self._call(lambda: self.store.get(rtype, namespace, name)))

    def find(self, kind: str, name: str, *, namespace: str | None = "default") -> dict[str, Any] | None:
        """Like ``get`` but ``None`` when absent."""
        try:
            return self.get(kind, name, namespace=namespace)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

    def list(self, kind: str, *, namespace: str | None = None) -> list[dict[str, Any]]:
        rtype = self.resource(kind)
        return _copy(self._call(lambda: self.store.list_objects(rtype, namespace)[0]))

    def patch(
        self,
        kind: str,
        name: str,
        patch: Any,
        *,
        namespace: str | None = "default",
        subresource: str | None = None,
        type: str = "merge",
    ) -> dict[str, Any]:
        """Patch like ``kubectl patch --type=merge|json|strategic [--subresource=status]``."""
        rtype = self.resource(kind)
        content_type = _PATCH_TYPES[type]
        return _copy(
            self._call(
                lambda: self.store.patch(
                    rtype, namespace, name, content_type=content_type, patch=patch, subresource=subresource
                )
            )
        )

    def delete(self, kind: str, name: str, *, namespace: str | None = "default") -> dict[str, Any]:
        """Delete; with finalizers the object stays, marked with ``deletionTimestamp``."""
        rtype = self.resource(kind)
        return _copy(self._call(lambda: self.store.delete(rtype, namespace, name)[0]))

    def create_namespace(self, name: str) -> dict[str, Any]:
        return self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    @property
    def resource_version(self) -> int:
        return self._call(lambda: self.store.resource_version)


def _copy(value: T) -> T:
    # Stored objects are shared with watch streams: callers get their own copy to mutate.
    return copy.deepcopy(value)


class KubeEmulator(Objects):
    """The API server on the current event loop; helpers must be called from that loop's thread."""

    def __init__(
        self,
        *,
        crds: Iterable[pathlib.Path | Mapping[str, Any]] | None = None,
        namespaces: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        history_limit: int = 10_000,
    ) -> None:
        self.store = Store(history_limit=history_limit)
        for rtype in bundled_types():
            self.store.register(rtype)
        self.server = KubeApiServer(store=self.store)
        self._crds = list(crds) if crds is not None else [calendarsync_crd_path()]
        self._namespaces = [*SYSTEM_NAMESPACES, *(ns for ns in namespaces if ns not in SYSTEM_NAMESPACES)]
        self._host = host
        self._port = port
        self._runner: aiohttp.web.ServerRunner | None = None
        self.url = ""

    def _call(self, fn: Callable[[], T]) -> T:
        return fn()

    async def __aenter__(self) -> Self:
        await self.server.__aenter__()
        self._runner = aiohttp.web.ServerRunner(aiohttp.web.Server(self.server), handle_signals=False)
        await self._runner.setup()
        site = aiohttp.web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        for namespace in self._namespaces:
            self.create_namespace(namespace)
        for crd in self._crds:
            if isinstance(crd, Mapping):
                self.create(crd)
            else:
                self.apply_file(crd)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.close_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.server.__aexit__(exc_type, exc, tb)

    @property
    def requests(self) -> list[Any]:
        """Every HTTP request served so far (kmock ``Request`` objects), for assertions."""
        return list(self.server)

    # --- connecting clients ----------------------------------------------------------------------

    def kubeconfig(self, *, namespace: str = "default") -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kubeemu", "cluster": {"server": self.url}}],
            "users": [{"name": "kubeemu", "user": {"token": "kubeemu-has-no-auth"}}],
            "contexts": [
                {
                    "name": "kubeemu",
                    "context": {"cluster": "kubeemu", "user": "kubeemu", "namespace": namespace},
                }
            ],
            "current-context": "kubeemu",
        }

    def write_kubeconfig(self, path: str | pathlib.Path, *, namespace: str = "default") -> pathlib.Path:
        """A kubeconfig for ``kubectl --kubeconfig`` and ``kubernetes.config.load_kube_config()``."""
        target = pathlib.Path(path)
        target.write_text(yaml.safe_dump(self.kubeconfig(namespace=namespace)), encoding="utf-8")
        return target

    def api_client(self) -> Any:
        """An official ``kubernetes.client.ApiClient`` pointed at this server (no global config)."""
        import kubernetes.client

        configuration = kubernetes.client.Configuration(host=self.url)
        return kubernetes.client.ApiClient(configuration)

    def login(self) -> Any:
        """How the operator's own calls (``kube.client.KubeApi``) log in here."""
        import kopf

        from calsync_operator.kube.login import static_login

        return static_login(kopf.ConnectionInfo(server=self.url, default_namespace="default"))

    def kopf_vault(self) -> Any:
        """A pre-filled ``kopf`` credentials vault: pass as ``kopf.operator(vault=...)``."""
        import kopf

        from calsync_operator.kubeemu.internals import credentials

        return credentials.Vault(
            {"kubeemu": kopf.ConnectionInfo(server=self.url, default_namespace="default")}
        )
