"""The operator's own Kubernetes calls, through the official ``kubernetes`` client.

kopf owns watching and handler bookkeeping; this adapter does the few writes a long-running
sync worker needs outside of a handler's return (kopf applies a daemon's ``patch`` only when
the daemon exits): the guarded status write at the end of a pass (a JSON patch whose
``test`` keeps it from overwriting a newer status), reading token Secrets in the
CalendarSync's own namespace, and writing a rotated refresh token back. The client blocks, so
every call runs in a thread. Secret values are never logged or put into exceptions.

kopf and this adapter log in with the same ``kubernetes.client.Configuration``
(``kube.connect.load_configuration``), so both talk to the same cluster as the same identity.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from calsync_operator.api.names import GROUP, PLURAL, VERSION

logger = logging.getLogger(__name__)
# The client logs response bodies at DEBUG — a Secret read would print the token JSON.
logging.getLogger("kubernetes").setLevel(logging.INFO)

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
REQUEST_TIMEOUT = 30.0
PROBE_TIMEOUT = 5.0


class KubeError(Exception):
    """A Kubernetes API call failed; the message says which object and what the server said."""


class StatusConflict(KubeError):
    """A guarded status write found a newer status than the one it was computed from."""


@dataclass(frozen=True)
class SecretData:
    """The decoded keys of a Secret plus its version (to notice changes cheaply)."""

    namespace: str
    name: str
    resource_version: str
    data: dict[str, str]

    def __repr__(self) -> str:  # never print values
        return f"SecretData({self.namespace}/{self.name}, keys={sorted(self.data)})"


def decode_secret_data(data: Mapping[str, Any] | None) -> dict[str, str]:
    """A Secret's ``data`` (base64 values) as text."""
    return {key: base64.b64decode(value).decode("utf-8", "replace") for key, value in (data or {}).items()}


def connection_info(configuration: client.Configuration) -> kopf.ConnectionInfo:
    """kopf's login for the same configuration (what kopf's ``login_via_client`` extracts)."""
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


class KubeApi:
    """Async facade over the blocking client for the operator's few direct calls."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)

    async def reachable(self) -> bool:
        """Whether the API server answers the discovery read of the CalendarSync API (allowed
        to every account; it fails too when the CRD is gone): the heartbeat's second opinion
        besides kopf's liveness endpoint."""
        try:
            await asyncio.to_thread(
                self._custom.get_api_resources, GROUP, VERSION, _request_timeout=PROBE_TIMEOUT
            )
        except Exception as exc:  # any failure (HTTP, TLS, socket, timeout) means "not now"
            logger.warning("The Kubernetes API does not answer: %s", type(exc).__name__)
            return False
        return True

    async def write_status(self, namespace: str, name: str, operations: list[dict[str, Any]]) -> None:
        """Apply a JSON patch to ``status`` whose ``test`` operations guard it
        (``rules/status.py``'s ``guarded_status_write``); raises ``StatusConflict`` when a test
        fails (422) or the object changed under a resourceVersion precondition (409)."""
        try:
            await asyncio.to_thread(
                self._custom.patch_namespaced_custom_object_status,
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                operations,
                _content_type=JSON_PATCH,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            if exc.status == 404:
                logger.debug("CalendarSync %s/%s is gone; status not written", namespace, name)
                return
            if exc.status in (409, 422):
                raise StatusConflict(f"CalendarSync {namespace}/{name}: {_reason(exc)}") from None
            raise KubeError(
                f"Cannot write status of CalendarSync {namespace}/{name}: {_reason(exc)}"
            ) from None

    async def read_status(self, namespace: str, name: str) -> tuple[dict[str, Any], str] | None:
        """The CalendarSync's current status and resourceVersion, or None when it is gone."""
        try:
            found = await asyncio.to_thread(
                self._custom.get_namespaced_custom_object_status,
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise KubeError(f"Cannot read CalendarSync {namespace}/{name}: {_reason(exc)}") from None
        body: dict[str, Any] = found if isinstance(found, dict) else {}
        metadata = body.get("metadata") or {}
        return dict(body.get("status") or {}), str(metadata.get("resourceVersion") or "")

    async def remove_annotation(self, namespace: str, name: str, key: str) -> None:
        """Drop one annotation of a CalendarSync (a one-shot signal that was acted on)."""
        body = {"metadata": {"annotations": {key: None}}}
        try:
            await asyncio.to_thread(
                self._custom.patch_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                body,
                _content_type=MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            if exc.status != 404:
                raise KubeError(f"Cannot update CalendarSync {namespace}/{name}: {_reason(exc)}") from None

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        """The Secret's decoded data, or None when it does not exist (or we may not read it)."""
        try:
            secret = await asyncio.to_thread(
                self._core.read_namespaced_secret, name, namespace, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status in (403, 404):
                return None
            raise KubeError(f'Cannot read Secret "{name}" in namespace {namespace}: {_reason(exc)}') from None
        return SecretData(namespace, name, _version(secret), decode_secret_data(secret.data))

    async def write_secret_key(self, namespace: str, name: str, key: str, value: str) -> str:
        """Replace one key of a Secret (a rotated refresh token goes back where it came from);
        returns the Secret's new resourceVersion."""
        body = {"data": {key: base64.b64encode(value.encode()).decode()}}
        try:
            secret = await asyncio.to_thread(
                self._core.patch_namespaced_secret,
                name,
                namespace,
                body,
                _content_type=MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            raise KubeError(
                f'Cannot update Secret "{name}" in namespace {namespace}: {_reason(exc)}'
            ) from None
        return _version(secret)


def _version(secret: client.V1Secret) -> str:
    metadata = secret.metadata
    return str(metadata.resource_version or "") if metadata is not None else ""


def _reason(exc: ApiException) -> str:
    # ApiException's str() includes response headers and body; the status and reason are enough.
    return f"HTTP {exc.status} {exc.reason}"
