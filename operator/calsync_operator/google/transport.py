"""Sending one prepared request (or one batch) and turning every failure into a typed error.

httplib2 is not thread-safe, and the operator calls Google from ``asyncio.to_thread`` workers.
Each thread keeps one raw ``httplib2.Http`` (its keep-alive connections to Google), shared by
every credential that thread serves: executor threads are long-lived, so a call costs no new
TLS handshake, no two threads ever share a connection, and the number of open connections
grows with threads, not with credentials (3,000 token Secrets must not mean 3,000 sockets per
thread). Each call wraps the thread's connection in an ``AuthorizedHttp`` for the calling
credential (a few attributes, built per call) and executes the request from the shared
service (``service.py``) with it: ``execute(http=...)``, batches too.

``AuthorizedHttp`` refreshes the access token once on a 401 and resends (``max_refresh_attempts
=1``); a refused refresh becomes ``AuthExpired``, a token endpoint that cannot be reached
becomes a retryable ``TransportError``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.errors import HttpError

from calsync_operator.google import metrics
from calsync_operator.google.credentials import PERMANENT_OAUTH_ERRORS, ManagedCredentials, oauth_error_code
from calsync_operator.google.retry import TransportError, error_from_response

log = logging.getLogger("calsync.google")
_T = TypeVar("_T")
# What sending on a keep-alive connection the other end dropped while it was idle raises
# (httplib2 reconnects by itself only when the server closed it cleanly).
STALE_CONNECTION_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
_connections = threading.local()  # per thread: timeout → the thread's raw Http


def thread_connection(timeout: float) -> httplib2.Http:
    """The calling thread's raw connection pool (shared by every credential on this thread)."""
    pools: dict[float, httplib2.Http] | None = getattr(_connections, "pools", None)
    if pools is None:
        pools = _connections.pools = {}
    raw = pools.get(timeout)
    if raw is None:
        raw = pools[timeout] = httplib2.Http(timeout=timeout)
    return raw


class Transport:
    """One credential's HTTP side: authorized calls over the thread's connection, typed errors."""

    def __init__(self, credentials: ManagedCredentials, *, timeout: float) -> None:
        self.credentials = credentials
        self._timeout = timeout

    def http(self) -> google_auth_httplib2.AuthorizedHttp:
        """This credential on the calling thread's connection (use it on this thread only)."""
        return google_auth_httplib2.AuthorizedHttp(
            self.credentials.credentials, http=thread_connection(self._timeout), max_refresh_attempts=1
        )

    def execute(self, method: str, request: Any) -> Any:
        """Run one ``HttpRequest``; counts it under ``method`` (``events.list``...)."""
        self._check_not_refused()
        metrics.GOOGLE_HTTP_REQUESTS.labels(kind="single").inc()
        try:
            result = self._reconnecting(lambda http: request.execute(http=http, num_retries=0), self.http())
        except HttpError as exc:
            metrics.GOOGLE_CALLS.labels(method=method, code=str(exc.resp.status)).inc()
            raise error_from_response(exc.resp.status, exc.resp, exc.content) from None
        except Exception as exc:
            metrics.GOOGLE_CALLS.labels(method=method, code="transport").inc()
            raise self.translate(exc) from None
        metrics.GOOGLE_CALLS.labels(method=method, code="200").inc()
        return result

    def execute_batch(self, batch: Any, http: google_auth_httplib2.AuthorizedHttp) -> None:
        """Send a ``BatchHttpRequest`` whose parts carry ``http`` (see ``batch.py``); per-part
        outcomes go to its callback, whole-request failures are raised typed (the parts are
        then unanswered)."""
        self._check_not_refused()
        metrics.GOOGLE_HTTP_REQUESTS.labels(kind="batch").inc()
        try:
            self._reconnecting(lambda http: batch.execute(http=http), http)
        except HttpError as exc:
            raise error_from_response(exc.resp.status, exc.resp, exc.content) from None
        except Exception as exc:
            raise self.translate(exc) from None

    def _reconnecting(self, send: Callable[[AuthorizedHttp], _T], http: AuthorizedHttp) -> _T:
        """Send; if this thread's kept-alive connection turns out dead (closed by the far end
        during an idle spell), reconnect and send once more, quietly: that is not Google
        failing, and every write is idempotent, so a resend cannot duplicate anything."""
        try:
            return send(http)
        except STALE_CONNECTION_ERRORS as exc:
            log.debug("Reconnecting a stale keep-alive connection to Google (%s)", type(exc).__name__)
            http.http.close()  # the thread's connections: httplib2 opens fresh ones next time
            return send(http)

    def close_thread_connections(self) -> None:
        """Close the calling thread's kept-alive connections (httplib2 reopens them on the next
        call); the connections belong to threads, not to a credential."""
        thread_connection(self._timeout).close()

    def translate(self, exc: Exception) -> Exception:
        """Map what httplib2/google-auth raise to our errors; anything else passes unchanged."""
        if isinstance(exc, google.auth.exceptions.RefreshError):
            if oauth_error_code(exc) in PERMANENT_OAUTH_ERRORS or self.credentials.refused:
                return self.credentials.auth_expired()
            return TransportError(f"token refresh failed: {type(exc).__name__}")
        if isinstance(exc, google.auth.exceptions.TransportError | httplib2.HttpLib2Error | OSError):
            # Connection refused/reset, DNS, timeouts (socket.timeout is an OSError).
            return TransportError(type(exc).__name__)
        return exc

    def _check_not_refused(self) -> None:
        if self.credentials.refused:
            raise self.credentials.auth_expired()
