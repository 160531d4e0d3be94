"""What the operations commands (``status``, ``sync``, ``suspend``, ``resume``,
``confirm-delete``) share: the NAME / ``-n`` / kubeconfig arguments, reading one CalendarSync,
merge-patching it, and its Events — each failure one ``CliError`` line with a hint (exit 2).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from calsync_operator.errors import CliError
from calsync_operator.kube.connect import add_cluster_arguments

if TYPE_CHECKING:
    from calsync_operator.kube.connect import Cluster

KIND = "CalendarSync"


def add_target_arguments(parser: argparse.ArgumentParser, *, name_required: bool = True) -> None:
    """NAME, ``-n/--namespace``, ``--kubeconfig``, ``--context``."""
    parser.add_argument(
        "name",
        metavar="NAME",
        nargs=None if name_required else "?",
        help="the CalendarSync (kubectl get csync lists them)",
    )
    parser.add_argument(
        "-n", "--namespace", metavar="NS", help="its namespace (default: the kubeconfig context's)"
    )
    add_cluster_arguments(parser)


@dataclass
class Target:
    """One CalendarSync on one cluster, for a command's lifetime."""

    cluster: Cluster
    namespace: str
    name: str

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def api(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.cluster.api_client)

    def get(self) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException

        from calsync_operator.api.names import GROUP, PLURAL, VERSION
        from calsync_operator.kube.connect import REQUEST_TIMEOUT

        with self.cluster.calling(f"read {KIND} {self.ref}"):
            try:
                found = self.api().get_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, self.name, _request_timeout=REQUEST_TIMEOUT
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise
                raise not_found(self.namespace, self.name, exc) from None
        return cast(dict[str, Any], found)

    def patch(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        """Merge-patch the object (spec or metadata); ``what`` names the change for errors."""
        from kubernetes.client.exceptions import ApiException

        from calsync_operator.api.names import GROUP, PLURAL, VERSION
        from calsync_operator.kube.connect import REQUEST_TIMEOUT

        with self.cluster.calling(f"{what} on {KIND} {self.ref}"):
            try:
                patched = self.api().patch_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, self.name, body, _request_timeout=REQUEST_TIMEOUT
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise
                raise not_found(self.namespace, self.name, exc) from None
        return cast(dict[str, Any], patched)

    def events(self, limit: int = 5) -> list[dict[str, Any]] | None:
        """The latest Events about the object, oldest first; None when they cannot be read (a
        user may see CalendarSyncs without seeing Events: the status stays useful)."""
        from kubernetes import client

        from calsync_operator.kube.connect import REQUEST_TIMEOUT

        selector = f"involvedObject.kind={KIND},involvedObject.name={self.name}"
        try:
            listed = client.CoreV1Api(self.cluster.api_client).list_namespaced_event(
                self.namespace, field_selector=selector, _request_timeout=REQUEST_TIMEOUT
            )
        except Exception:
            return None
        serialize = self.cluster.api_client.sanitize_for_serialization
        items = [serialize(item) for item in listed.items]  # type: ignore[no-untyped-call]
        items.sort(key=_event_time)
        return items[-limit:]

    def close(self) -> None:
        self.cluster.close()


def open_target(args: argparse.Namespace, name: str | None = None) -> Target:
    from calsync_operator.kube.connect import connect

    cluster = connect(args.kubeconfig, args.context)
    return Target(cluster, args.namespace or cluster.namespace, name or args.name)


def list_names(target: Target) -> list[str]:
    """Names of every CalendarSync in the target's namespace (``sync --all``)."""
    from kubernetes.client.exceptions import ApiException

    from calsync_operator.api.names import GROUP, PLURAL, VERSION
    from calsync_operator.kube.connect import REQUEST_TIMEOUT

    with target.cluster.calling(f"list CalendarSyncs in {target.namespace}"):
        try:
            listed = target.api().list_namespaced_custom_object(
                GROUP, VERSION, target.namespace, PLURAL, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
            raise _crd_missing() from None
    return sorted(item["metadata"]["name"] for item in cast(dict[str, Any], listed).get("items") or [])


def not_found(namespace: str, name: str, exc: Any) -> CliError:
    """404: the object is missing — or the whole CalendarSync API is (CRD not installed)."""
    import json

    try:
        details = json.loads(getattr(exc, "body", None) or "{}").get("details") or {}
    except (ValueError, AttributeError):
        details = {}
    if details.get("name") != name:  # "404 page not found": no such API at all
        return _crd_missing()
    return CliError(
        f'{KIND} "{name}" not found in namespace "{namespace}"',
        hint=f"kubectl get csync -n {namespace} lists them; -n NS picks another namespace",
    )


def _crd_missing() -> CliError:
    return CliError(
        "the cluster does not serve CalendarSyncs (calsync.dev/v1alpha1)",
        hint="install the CRD: helm install calsync ./helm/calsync (or kubectl apply -f crds/)",
    )


def _event_time(event: dict[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def set_suspend(args: argparse.Namespace, *, suspend: bool) -> int:
    """``suspend`` / ``resume``: patch ``spec.suspend`` unless it already has that value."""
    target = open_target(args)
    verb = "suspended" if suspend else "resumed"
    try:
        current = bool((target.get().get("spec") or {}).get("suspend"))
        if current == suspend:
            print(f"{KIND} {target.ref} is already {'suspended' if suspend else 'not suspended'}")
            return 0
        target.patch({"spec": {"suspend": suspend}}, f"set spec.suspend={str(suspend).lower()}")
    finally:
        target.close()
    print(f"{KIND} {target.ref} {verb}")
    return 0
