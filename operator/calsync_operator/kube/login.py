"""How the operator logs in: kopf's own loaders, the official client only when it must.

The official ``kubernetes`` client costs the operator ~32 MB of resident memory just by being
imported (every API and model class of every group), a sixth of the 200 MB that 1,000
CalendarSyncs must fit in, and the operator makes only a handful of calls outside kopf
(``kube.client``, on kopf's HTTP library). So ``calsync operator`` logs in the way kopf does
without a client library, and keeps the official client out of the process:

- in a Pod (no ``--kubeconfig``): the ServiceAccount's token and CA, read again at every
  (re-)login so a rotated token is picked up, and the API server's address from
  ``KUBERNETES_SERVICE_HOST``/``_PORT`` as ``kubectl`` and the official client take it;
- else the kubeconfig's current context (``--kubeconfig``, else ``$KUBECONFIG`` or
  ``~/.kube/config``): server, CA, client certificate and key (files or inline data), token or
  basic auth;
- a kubeconfig whose user authenticates any other way (an ``exec`` plugin, an auth provider
  without a cached token), that names certificate files relative to itself, or that kopf's
  loader cannot read goes through the official client's loader
  (``kube.connect.load_configuration``): it runs the plugin, at the cost of the import.

``process.hidden_official_client`` keeps kopf from importing the official client on its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import kopf
import yaml

if TYPE_CHECKING:
    from kubernetes.client import Configuration

SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def connection_info(configuration: Configuration) -> kopf.ConnectionInfo:
    """kopf's login for an official client configuration (what kopf's ``login_via_client``
    extracts): the tests' and the fallback's way in."""
    header = configuration.get_api_key_with_prefix("BearerToken") or configuration.get_api_key_with_prefix(
        "authorization"
    )
    parts = header.split(" ", 1) if header else []
    scheme, token = (
        (None, None) if not parts else (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    )
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme,
        token=token,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )


Login = Callable[[], kopf.ConnectionInfo]


def static_login(info: kopf.ConnectionInfo) -> Login:
    """A login that always gives ``info`` (an API server with fixed credentials: tests, demo)."""
    return lambda: info


@dataclass(frozen=True)
class OperatorLogin:
    """``calsync operator``'s login, evaluated anew at every (re-)login (kopf calls it after a
    401, and so does ``kube.client``). Raises ``kube.connect.NoKubeConfig`` when nothing works."""

    kubeconfig: str | None = None

    def __call__(self) -> kopf.ConnectionInfo:
        settings = kopf.OperatorSettings()
        if self.kubeconfig is None and os.path.exists(SERVICE_ACCOUNT_TOKEN):
            info = kopf.login_with_service_account(settings=settings)
            if info is not None:
                return service_address(info)
        with _kubeconfig_env(self.kubeconfig):
            try:
                info = kopf.login_with_kubeconfig(settings=settings)
            except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError, kopf.LoginError):
                info = None  # the official loader says precisely what is wrong
        if info is not None and has_credentials(info) and not relative_files(info):
            return info
        return _official_login(self.kubeconfig)


def has_credentials(info: kopf.ConnectionInfo) -> bool:
    """Whether ``info`` carries a way to authenticate (else the kubeconfig uses a plugin)."""
    return bool(
        info.token
        or info.username
        or info.certificate_path
        or info.certificate_data
        or info.server.startswith("http://")  # no TLS, no credentials: a test API server
    )


def relative_files(info: kopf.ConnectionInfo) -> bool:
    """Whether ``info`` names a file relative to its kubeconfig (kopf's loader would look for it
    in the working directory; the official loader resolves it like ``kubectl``)."""
    paths = (info.ca_path, info.certificate_path, info.private_key_path)
    return any(path is not None and not os.path.isabs(os.path.expanduser(path)) for path in paths)


def service_address(info: kopf.ConnectionInfo) -> kopf.ConnectionInfo:
    """``info`` with the API server's address from the Pod's environment, where kubelet put it."""
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        return info  # kopf's default: https://kubernetes.default.svc
    host = f"[{host}]" if ":" in host else host  # IPv6
    return dataclasses.replace(info, server=f"https://{host}:{port}")


@contextlib.contextmanager
def _kubeconfig_env(kubeconfig: str | None) -> Iterator[None]:
    """kopf's loader reads ``$KUBECONFIG``: point it at ``kubeconfig`` meanwhile."""
    if kubeconfig is None:
        yield
        return
    before = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = kubeconfig
    try:
        yield
    finally:
        if before is None:
            del os.environ["KUBECONFIG"]
        else:
            os.environ["KUBECONFIG"] = before


def _official_login(kubeconfig: str | None) -> kopf.ConnectionInfo:
    from calsync_operator.kube.connect import load_configuration

    configuration, _namespace = load_configuration(kubeconfig)
    return connection_info(configuration)
