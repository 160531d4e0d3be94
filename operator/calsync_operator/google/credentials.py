"""OAuth credentials from a Secret's token JSON, refreshed through a configurable token URI.

The Secret holds what google-auth's ``Credentials.to_json()`` writes (docs/design.md §2). Three things
google-auth does not do for us are handled here:

- the token URI: ``from_authorized_user_info`` always points at Google; we honour
  ``CALSYNC_GOOGLE_TOKEN_URI``, then the JSON's ``token_uri`` (the emulator's), then Google;
- ``invalid_grant`` latches: once Google refuses the refresh token every later call fails fast
  with ``AuthExpired`` without touching the token endpoint again (no retry storm), until the
  operator builds new credentials from an updated Secret;
- rotation: when a refresh returns a new refresh token, ``rotated_token_json()`` hands the JSON
  to write back into the Secret.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import google.auth.exceptions
import google.auth.transport
import google.oauth2.credentials

from calsync_operator.google import metrics
from calsync_operator.sync.port import AuthExpired

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
# OAuth error codes after which only the user can help (re-run the consent flow / fix the client).
PERMANENT_OAUTH_ERRORS = ("invalid_grant", "invalid_client", "unauthorized_client")


class TokenJsonInvalid(ValueError):
    """The Secret's value is not an authorized-user token JSON; the message says how to fix it."""


class _TrackedCredentials(google.oauth2.credentials.Credentials):
    """google-auth's user credentials plus a refusal latch and a refresh counter.

    (The ``no-untyped-call`` ignores in this module: google-auth leaves these methods unannotated.)
    """

    _calsync_refused: str | None = None
    _calsync_lock: threading.Lock | None = None

    def refresh(self, request: google.auth.transport.Request) -> None:
        lock = self._calsync_lock or threading.Lock()
        with lock:
            if self._calsync_refused is not None:
                # The token endpoint already said no: do not ask it again.
                raise google.auth.exceptions.RefreshError(  # type: ignore[no-untyped-call]
                    self._calsync_refused, retryable=False
                )
            try:
                super().refresh(request)  # type: ignore[no-untyped-call]
            except google.auth.exceptions.RefreshError as exc:
                code = oauth_error_code(exc)
                if code in PERMANENT_OAUTH_ERRORS:
                    self._calsync_refused = code
                    metrics.TOKEN_REFRESHES.labels(outcome=code).inc()
                else:
                    metrics.TOKEN_REFRESHES.labels(outcome="error").inc()
                raise
            metrics.TOKEN_REFRESHES.labels(outcome="ok").inc()


def oauth_error_code(exc: google.auth.exceptions.RefreshError) -> str:
    """``invalid_grant`` and friends, from the token endpoint's JSON or google-auth's message."""
    for arg in exc.args:
        if isinstance(arg, dict) and isinstance(arg.get("error"), str):
            return str(arg["error"])
    text = str(exc.args[0]) if exc.args else ""
    return next((code for code in PERMANENT_OAUTH_ERRORS if code in text), "")


class ManagedCredentials:
    """One credential: the google-auth object plus what the operator must know about it.

    ``source`` names where the JSON came from (``Secret "ns/name" key "token.json"``); it
    appears in every error, the secret values never do.
    """

    def __init__(self, token_json: str, *, source: str, token_uri: str | None = None) -> None:
        self.source = source
        info = _parse_token_json(token_json, source)  # not kept: google-auth keeps what it needs
        # The Secret's own token URI, written back with a rotated token (not ``token_uri``).
        self._secret_token_uri: str = info.get("token_uri") or GOOGLE_TOKEN_URI
        uri = token_uri or info.get("token_uri") or GOOGLE_TOKEN_URI
        try:
            creds = _TrackedCredentials.from_authorized_user_info(info)  # type: ignore[no-untyped-call]
        except ValueError as exc:  # missing refresh_token / client_id / client_secret
            raise TokenJsonInvalid(f"{source}: {exc} {_AUTH_HINT}") from None
        self.credentials: _TrackedCredentials = creds.with_token_uri(uri)
        self.credentials._calsync_lock = threading.Lock()
        self._saved_refresh_token: str = info["refresh_token"]
        # Identifies the OAuth grant (client + refresh token) for sharing a rate-limit bucket.
        self.key = f"{info.get('client_id')}:{self._saved_refresh_token}"

    @property
    def refused(self) -> bool:
        return self.credentials._calsync_refused is not None

    def auth_expired(self) -> AuthExpired:
        code = self.credentials._calsync_refused or "invalid_grant"
        return AuthExpired(
            f"{self.source}: Google refused the refresh token ({code}). Run `calsync auth` to "
            'authorize again and update the Secret. If the OAuth consent screen is in "Testing", '
            "refresh tokens expire after 7 days: publish the app to keep them."
        )

    def rotated_token_json(self) -> str | None:
        """The token JSON to write back when a refresh returned a new refresh token, else None.

        The original ``token_uri`` is kept: an override is deployment config, not the Secret's.
        """
        current = self.credentials.refresh_token
        if not current or current == self._saved_refresh_token:
            return None
        data: dict[str, Any] = json.loads(self.credentials.to_json())  # type: ignore[no-untyped-call]
        data["token_uri"] = self._secret_token_uri
        return json.dumps(data)

    def mark_written_back(self, token_json: str) -> None:
        """The operator stored ``token_json`` in the Secret: stop reporting the rotation."""
        self._saved_refresh_token = json.loads(token_json)["refresh_token"]


_AUTH_HINT = "Run `calsync auth` to create a valid token JSON in the Secret."


def _parse_token_json(token_json: str, source: str) -> dict[str, Any]:
    try:
        info = json.loads(token_json)
    except ValueError:
        raise TokenJsonInvalid(f"{source} is not valid JSON. {_AUTH_HINT}") from None
    if not isinstance(info, dict):
        raise TokenJsonInvalid(f"{source} is not a JSON object. {_AUTH_HINT}")
    missing = sorted(k for k in ("client_id", "client_secret", "refresh_token") if not info.get(k))
    if missing:
        raise TokenJsonInvalid(f"{source} has no {', '.join(missing)}. {_AUTH_HINT}")
    return info
