"""Sending one prepared request (or one batch) and turning every failure into a typed error.

httplib2 is not thread-safe, and the operator calls Google from ``asyncio.to_thread`` workers.
We keep one ``AuthorizedHttp`` per thread (not per call): executor threads are long-lived, so
each keeps its keep-alive connection to Google and a call costs no new TLS handshake, while no
two threads ever share a connection. The built service is shared: its request objects are
created per call and executed with the calling thread's Http.

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
from googleapiclient.errors import HttpError

from calsync_operator.google import metrics
from calsync_operator.google.credentials import PERMANENT_OAUTH_ERRORS, ManagedCredentials, oauth_error_code
from calsync_operator.google.retry import TransportError, error_from_response

log = logging.getLogger("calsync.google")
_T = TypeVar("_T")
# What sending on a keep-alive connection the other end dropped while it was idle raises
# (httplib2 reconnects by itself only when the server closed it cleanly).
STALE_CONNECTION_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class Transport:
    """One credential's HTTP side: per-thread authorized connections and error translation."""

    def __init__(self, credentials: ManagedCredentials, *, timeout: float) -> None:
        self.credentials = credentials
        self._timeout = timeout
        self._local = threading.local()
        self._opened: list[httplib2.Http] = []
        self._lock = threading.Lock()

    def http(self) -> google_auth_httplib2.AuthorizedHttp:
        authorized: google_auth_httplib2.AuthorizedHttp | None = getattr(self._local, "http", None)
        if authorized is None:
            raw = httplib2.Http(timeout=self._timeout)
            authorized = google_auth_httplib2.AuthorizedHttp(
                self.credentials.credentials, http=raw, max_refresh_attempts=1
            )
            self._local.http = authorized
            with self._lock:
                self._opened.append(raw)
        return authorized

    def execute(self, method: str, request: Any) -> Any:
        """Run one ``HttpRequest``; counts it under ``method`` (``events.list``...)."""
        self._check_not_refused()
        metrics.GOOGLE_HTTP_REQUESTS.labels(kind="single").inc()
        try:
            result = self._reconnecting(lambda http: request.execute(http=http, num_retries=0))
        except HttpError as exc:
            metrics.GOOGLE_CALLS.labels(method=method, code=str(exc.resp.status)).inc()
            raise error_from_response(exc.resp.status, exc.resp, exc.content) from None
        except Exception as exc:
            metrics.GOOGLE_CALLS.labels(method=method, code="transport").inc()
            raise self.translate(exc) from None
        metrics.GOOGLE_CALLS.labels(method=method, code="200").inc()
        return result

    def execute_batch(self, batch: Any) -> None:
        """Send a ``BatchHttpRequest``; per-part outcomes go to its callback, whole-request
        failures are raised typed (the parts are then unanswered)."""
        self._check_not_refused()
        metrics.GOOGLE_HTTP_REQUESTS.labels(kind="batch").inc()
        try:
            self._reconnecting(lambda http: batch.execute(http=http))
        except HttpError as exc:
            raise error_from_response(exc.resp.status, exc.resp, exc.content) from None
        except Exception as exc:
            raise self.translate(exc) from None

    def _reconnecting(self, send: Callable[[Any], _T]) -> _T:
        """Send; if this thread's kept-alive connection turns out dead (closed by the far end
        during an idle spell), reconnect and send once more, quietly: that is not Google
        failing, and every write is idempotent, so a resend cannot duplicate anything."""
        try:
            return send(self.http())
        except STALE_CONNECTION_ERRORS as exc:
            log.debug("Reconnecting a stale keep-alive connection to Google (%s)", type(exc).__name__)
            self.http().http.close()  # httplib2 opens fresh connections on the next request
            return send(self.http())

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

    def close(self) -> None:
        """Close every connection this transport opened (call once no thread uses it)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for raw in opened:
            raw.close()
