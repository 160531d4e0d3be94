"""Google's OAuth 2.0 endpoints, enough for google-auth and google-auth-oauthlib.

``POST /token`` serves the ``refresh_token`` grant (any refresh token works until a test
revokes it: then ``invalid_grant`` exactly as Google words it) and the ``authorization_code``
grant for codes issued by ``GET /auth``, which approves at once and redirects back like a
user who clicked "Allow". Access tokens are random and accepted for every calendar.

Every token belongs to a user (an email address), whose primary calendar is the calendar with
that id, also reachable as ``primary``: ``register_user`` names the user of a refresh token,
``GET /auth?login_hint=`` the user of a consent; anything else belongs to ``DEFAULT_USER``.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

DEFAULT_SCOPE = "https://www.googleapis.com/auth/calendar"
DEFAULT_USER = "user@calsync-emulator.example"
ACCESS_TOKEN_TTL = 3599


class OAuthError(Exception):
    """An RFC 6749 error response (``{"error", "error_description"}``, status 400 or 401)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class _Grant:
    refresh_token: str
    client_id: str
    scope: str
    user: str


@dataclass
class TokenRegistry:
    access_token_ttl: int = ACCESS_TOKEN_TTL
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _revoked: set[str] = field(default_factory=set)
    _access: dict[str, tuple[float, str]] = field(default_factory=dict)  # token -> (expiry, user)
    _users: dict[str, str] = field(default_factory=dict)  # refresh token -> user
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _rotate: bool = False

    def reset(self) -> None:
        with self._lock:
            self._revoked.clear()
            self._access.clear()
            self._codes.clear()
            self._users.clear()
            self._rotate = False

    def register_user(self, refresh_token: str, user: str) -> None:
        """Whose calendar ``primary`` is for tokens refreshed with ``refresh_token``."""
        with self._lock:
            self._users[refresh_token] = user

    def revoke(self, refresh_token: str) -> None:
        with self._lock:
            self._revoked.add(refresh_token)

    def restore(self, refresh_token: str) -> None:
        with self._lock:
            self._revoked.discard(refresh_token)

    def rotate_refresh_tokens(self, enabled: bool = True) -> None:
        """Answer every refresh with a new refresh token (Google does this occasionally)."""
        with self._lock:
            self._rotate = enabled

    def expire_access_tokens(self) -> None:
        """Every issued access token now answers 401: clients must refresh once."""
        with self._lock:
            self._access.clear()

    def issue_access_token(self, ttl: int | None = None, user: str = DEFAULT_USER) -> tuple[str, int]:
        lifetime = self.access_token_ttl if ttl is None else ttl
        token = "ya29.emu-" + secrets.token_urlsafe(24)
        with self._lock:
            self._access[token] = (time.time() + lifetime, user)
        return token, lifetime

    def user_of(self, token: str) -> str | None:
        """The user of a live access token; None for an unknown or expired one."""
        with self._lock:
            found = self._access.get(token)
        return found[1] if found is not None and found[0] > time.time() else None

    def is_valid_access_token(self, token: str) -> bool:
        return self.user_of(token) is not None

    def authorize(
        self, client_id: str, redirect_uri: str, state: str | None, scope: str, user: str | None = None
    ) -> str:
        """``GET /auth``: the redirect URL carrying a fresh one-time code (``user``: the
        ``login_hint``, who consents)."""
        if not client_id or not redirect_uri:
            raise OAuthError("invalid_request", "Missing required parameter: client_id or redirect_uri")
        code = "4/emu-" + secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Grant(
                "1//emu-" + secrets.token_urlsafe(32), client_id, scope or DEFAULT_SCOPE, user or DEFAULT_USER
            )
        params = {"code": code, "scope": scope or DEFAULT_SCOPE}
        if state is not None:
            params["state"] = state
        separator = "&" if "?" in redirect_uri else "?"
        return f"{redirect_uri}{separator}{urlencode(params)}"

    def token(self, form: dict[str, str]) -> dict[str, object]:
        """``POST /token``: the JSON body of a successful grant, or ``OAuthError``."""
        grant_type = form.get("grant_type")
        response: dict[str, object]
        if grant_type == "refresh_token":
            refresh_token = form.get("refresh_token", "")
            if not refresh_token:
                raise OAuthError("invalid_request", "Missing required parameter: refresh_token")
            with self._lock:
                revoked, rotate = refresh_token in self._revoked, self._rotate
                user = self._users.get(refresh_token, DEFAULT_USER)
            if revoked:
                raise OAuthError("invalid_grant", "Token has been expired or revoked.")
            access, lifetime = self.issue_access_token(user=user)
            response = {"access_token": access, "expires_in": lifetime, "token_type": "Bearer"}
            response["scope"] = form.get("scope") or DEFAULT_SCOPE
            if rotate:
                rotated = "1//emu-" + secrets.token_urlsafe(32)
                self.register_user(rotated, user)
                response["refresh_token"] = rotated
            return response
        if grant_type == "authorization_code":
            with self._lock:
                grant = self._codes.pop(form.get("code", ""), None)
            if grant is None:
                raise OAuthError("invalid_grant", "Malformed auth code.")
            self.register_user(grant.refresh_token, grant.user)
            access, lifetime = self.issue_access_token(user=grant.user)
            return {
                "access_token": access,
                "expires_in": lifetime,
                "token_type": "Bearer",
                "scope": grant.scope,
                "refresh_token": grant.refresh_token,
            }
        raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
