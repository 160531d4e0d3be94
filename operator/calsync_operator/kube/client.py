"""The operator's own Kubernetes calls, on kopf's HTTP library (aiohttp).

kopf owns watching and handler bookkeeping; this adapter does the few writes a long-running
sync worker needs outside of a handler's return (kopf applies a daemon's ``patch`` only when
the daemon exits): the guarded status write at the end of a pass (a JSON patch whose
``test`` keeps it from overwriting a newer status), reading token Secrets in the
CalendarSync's own namespace, writing a rotated refresh token back, and the heartbeat's
reachability probe. Secret values are never logged or put into exceptions.

Six REST calls do not justify the official ``kubernetes`` client in the operator process: it
costs ~32 MB resident by being imported (``kube/login.py`` says why that matters), and it
blocks, so every call took a thread. These calls are async, on one aiohttp session per event
loop, built from the same ``kopf.ConnectionInfo`` kopf logs in with (``kube.login``: the same
cluster, the same identity); a 401 logs in again once (a rotated ServiceAccount token), as
kopf does.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import kopf

from calsync_operator.api.names import GROUP, PLURAL, VERSION
from calsync_operator.kube.login import Login

logger = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class Answer:
    """An API server's answer: the HTTP status, its reason and the decoded JSON body."""

    status: int
    reason: str
    body: dict[str, Any] = field(repr=False)  # a Secret's values are in it

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def __str__(self) -> str:  # what a message says: never the body (a Secret's would be in it)
        return f"HTTP {self.status} {self.reason}"


class KubeApi:
    """The operator's few direct calls, async; ``login`` is asked again after a 401."""

    def __init__(self, login: Login) -> None:
        self._login = login
        self._info: kopf.ConnectionInfo | None = None
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    async def reachable(self) -> bool:
        """Whether the API server answers the discovery read of the CalendarSync API (allowed
        to every account; it fails too when the CRD is gone): the heartbeat's second opinion
        besides kopf's liveness endpoint."""
        try:
            answer = await self._call("GET", f"/apis/{GROUP}/{VERSION}", time_limit=PROBE_TIMEOUT)
        except Exception as exc:  # any failure (HTTP, TLS, socket, timeout) means "not now"
            logger.warning("The Kubernetes API does not answer: %s", type(exc).__name__)
            return False
        if not answer.ok:
            logger.warning("The Kubernetes API does not answer: %s", answer)
        return answer.ok

    async def write_status(self, namespace: str, name: str, operations: list[dict[str, Any]]) -> None:
        """Apply a JSON patch to ``status`` whose ``test`` operations guard it
        (``rules/status.py``'s ``guarded_status_write``); raises ``StatusConflict`` when a test
        fails (422) or the object changed under a resourceVersion precondition (409)."""
        what = f"CalendarSync {namespace}/{name}"
        answer = await self._call(
            "PATCH", _calendarsync_path(namespace, name, "/status"), operations, JSON_PATCH, what=what
        )
        if answer.status == 404:
            logger.debug("CalendarSync %s/%s is gone; status not written", namespace, name)
        elif answer.status in (409, 422):
            raise StatusConflict(f"{what}: {answer}")
        elif not answer.ok:
            raise KubeError(f"Cannot write status of {what}: {answer}")

    async def read_status(self, namespace: str, name: str) -> tuple[dict[str, Any], str] | None:
        """The CalendarSync's current status and resourceVersion, or None when it is gone."""
        what = f"CalendarSync {namespace}/{name}"
        answer = await self._call("GET", _calendarsync_path(namespace, name, "/status"), what=what)
        if answer.status == 404:
            return None
        if not answer.ok:
            raise KubeError(f"Cannot read {what}: {answer}")
        metadata = answer.body.get("metadata") or {}
        return dict(answer.body.get("status") or {}), str(metadata.get("resourceVersion") or "")

    async def remove_annotation(self, namespace: str, name: str, key: str) -> None:
        """Drop one annotation of a CalendarSync (a one-shot signal that was acted on)."""
        what = f"CalendarSync {namespace}/{name}"
        body = {"metadata": {"annotations": {key: None}}}
        answer = await self._call("PATCH", _calendarsync_path(namespace, name), body, MERGE_PATCH, what=what)
        if not answer.ok and answer.status != 404:
            raise KubeError(f"Cannot update {what}: {answer}")

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        """The Secret's decoded data, or None when it does not exist (or we may not read it)."""
        what = f'Secret "{name}" in namespace {namespace}'
        answer = await self._call("GET", _secret_path(namespace, name), what=what)
        if answer.status in (403, 404):
            return None
        if not answer.ok:
            raise KubeError(f"Cannot read {what}: {answer}")
        return SecretData(namespace, name, _version(answer.body), decode_secret_data(answer.body.get("data")))

    async def write_secret_key(self, namespace: str, name: str, key: str, value: str) -> str:
        """Replace one key of a Secret (a rotated refresh token goes back where it came from);
        returns the Secret's new resourceVersion."""
        what = f'Secret "{name}" in namespace {namespace}'
        body = {"data": {key: base64.b64encode(value.encode()).decode()}}
        answer = await self._call("PATCH", _secret_path(namespace, name), body, MERGE_PATCH, what=what)
        if not answer.ok:
            raise KubeError(f"Cannot update {what}: {answer}")
        return _version(answer.body)

    async def close(self) -> None:
        """Close the session (the operator's shutdown); a later call opens a new one."""
        session, self._session = self._session, None
        if session is not None and self._loop is asyncio.get_running_loop():
            await session.close()

    async def _call(
        self,
        method: str,
        path: str,
        payload: Any = None,
        content_type: str | None = None,
        *,
        what: str = "the Kubernetes API",
        time_limit: float = REQUEST_TIMEOUT,
    ) -> Answer:
        """One request; a 401 logs in again and repeats it once. A transport failure (refused,
        TLS, timeout) is a ``KubeError`` naming ``what``."""
        data = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": content_type or "application/json", "Accept": "application/json"}
        for attempt in (1, 2):
            session, server = await self._session_now(relogin=attempt == 2)
            try:
                async with session.request(
                    method,
                    server + path,
                    data=data,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=time_limit),
                ) as response:
                    if response.status == 401 and attempt == 1:
                        continue
                    raw = await response.read()
                    body = json.loads(raw) if raw and response.content_type == "application/json" else {}
                    return Answer(
                        response.status, response.reason or "", body if isinstance(body, dict) else {}
                    )
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise KubeError(f"Cannot reach the Kubernetes API for {what}: {type(exc).__name__}") from None
        raise AssertionError("unreachable")  # the second attempt always returns or raises

    async def _session_now(self, *, relogin: bool) -> tuple[aiohttp.ClientSession, str]:
        """The session of the running loop (a new one for a new loop: tests and the demo run
        the operator in several), logged in again when ``relogin`` (in a thread: reading the
        token may run a kubeconfig's plugin). A session dropped by a new login is closed: its
        credentials were refused."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._session, self._lock = loop, None, asyncio.Lock()
        async with self._lock:
            info = self._info
            if relogin or info is None:
                info = self._info = await asyncio.to_thread(self._login)
                if self._session is not None:
                    await self._session.close()
                self._session = None
            if self._session is None:
                with warnings.catch_warnings():  # kopf warns about its own deprecated helper
                    warnings.simplefilter("ignore", DeprecationWarning)
                    auth = info.as_aiohttp_basic_auth()
                self._session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(ssl=info.as_ssl_context()),
                    headers=info.as_http_headers(),
                    auth=auth,
                    proxy=info.proxy_url,
                    trust_env=info.trust_env,
                )
            return self._session, info.server.rstrip("/")


def _calendarsync_path(namespace: str, name: str, subresource: str = "") -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace)}/{PLURAL}/{quote(name)}{subresource}"


def _secret_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace)}/secrets/{quote(name)}"


def _version(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("resourceVersion") or "")
