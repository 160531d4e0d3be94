"""How the webhook and the commands reach Kubernetes, through the official client.

``load_configuration``: in a Pod (and no kubeconfig or context asked for) its ServiceAccount,
else the kubeconfig — the same rules ``kubectl`` follows. The operator logs in without the
official client (``kube/login.py``) and comes here only for a kubeconfig with an exec plugin.
The webhook fails at start-up when it finds nothing; a person at a terminal (``connect``:
``auth``, ``check``) also gets which kubeconfig and context were tried, the namespace the
current context points at (``kubectl``'s default), and one line instead of the official
client's multi-line ``ApiException`` or urllib3's retry traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from calsync_operator.errors import CliError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, Configuration

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
REQUEST_TIMEOUT = 15.0


@dataclass(frozen=True)
class Cluster:
    api_client: ApiClient
    namespace: str  # the current context's namespace (in a Pod: its own), else "default"
    server: str

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]  # the client is untyped

    @contextlib.contextmanager
    def calling(self, what: str) -> Iterator[None]:
        """Turn a failed API call into one ``CliError`` line; ``what``: "read Secret ns/x"."""
        try:
            yield
        except CliError:
            raise
        except Exception as exc:
            error = describe_failure(exc, self, what)
            if error is None:
                raise
            raise error from None


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--kubeconfig`` and ``--context``, the way ``connect`` reads them."""
    parser.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="kubeconfig file (default: in a Pod its ServiceAccount, else $KUBECONFIG or ~/.kube/config)",
    )
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current one)")


def add_namespaces_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """``-n/--namespace NS``, repeatable: the namespaces to work in (``args.namespace``, a list)."""
    parser.add_argument("-n", "--namespace", action="append", default=[], metavar="NS", help=help)


class NoKubeConfig(Exception):
    """Neither a Pod's ServiceAccount nor a usable kubeconfig; the message says what was tried."""


def load_configuration(
    kubeconfig: str | None = None, context: str | None = None
) -> tuple[Configuration, str]:
    """The client configuration and its namespace (a Pod's own, else the context's, else
    "default"). In a Pod (and no kubeconfig or context asked for): its ServiceAccount; else the
    kubeconfig (``$KUBECONFIG`` or ``~/.kube/config`` when none is given)."""
    from kubernetes import client, config

    configuration = client.Configuration()
    if kubeconfig is None and context is None:
        try:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except config.ConfigException:
            pass
        else:
            return configuration, os.environ.get("POD_NAMESPACE") or _read_service_account_namespace()
    path = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, client_configuration=configuration
        )
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        if context is not None:
            active = next((c for c in contexts if c.get("name") == context), active)
    except (config.ConfigException, OSError) as exc:
        raise NoKubeConfig(
            f"no usable Kubernetes configuration: not in a cluster, and {path}: {_first_line(exc)}"
        ) from None
    return configuration, str(((active or {}).get("context") or {}).get("namespace") or "default")


def connect(kubeconfig: str | None = None, context: str | None = None, *, hint: str | None = None) -> Cluster:
    """``load_configuration`` for a person at a terminal: one line and a hint when it fails."""
    from kubernetes import client

    try:
        configuration, namespace = load_configuration(kubeconfig, context)
    except NoKubeConfig as exc:
        raise CliError(
            str(exc), hint=hint or "set KUBECONFIG or pass --kubeconfig (kubectl must work with it)"
        ) from None
    # The client retries a refused connection three times by default; a person waits for one.
    configuration.retries = 1
    return Cluster(client.ApiClient(configuration), namespace, configuration.host)


def _read_service_account_namespace() -> str:
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip() or "default"
    except OSError:
        return "default"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def describe_failure(exc: BaseException, cluster: Cluster, what: str) -> CliError | None:
    """A one-line ``CliError`` for a failed API call (``what``: "write Secret default/x"), or
    None when ``exc`` is not a Kubernetes/transport failure (let it propagate)."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as TransportError

    if isinstance(exc, ApiException):
        if exc.status in (401, 403):
            return CliError(
                f"cannot {what}: the Kubernetes API answered {exc.status} {exc.reason}",
                hint="your kubeconfig user lacks the permission (kubectl auth can-i helps)",
            )
        return CliError(f"cannot {what}: the Kubernetes API answered {exc.status} {exc.reason}")
    if isinstance(exc, TransportError | OSError):
        return CliError(
            f"cannot reach the Kubernetes API at {cluster.server} to {what}",
            hint="is the cluster running? `kubectl get namespaces` should work with the same kubeconfig",
        )
    return None
