"""Google's error shape, so clients decide on ``reason`` exactly as they would against Google.

Every failure the emulator reports (validation, 404/409/410, injected faults, auth) is an
``ApiError`` rendered as ``{"error": {"code", "message", "errors": [{"domain", "reason",
"message"}], "status"}}``: google-api-python-client's ``HttpError.error_details`` and
``reason`` read exactly these fields.
"""

from __future__ import annotations

from typing import Any

# The canonical gRPC-style status Google puts next to each HTTP code.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# Google's wording for the reasons a test is likely to inject.
DEFAULT_MESSAGES = {
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "quotaExceeded": "Calendar usage limits exceeded.",
    "backendError": "Backend Error",
    "internalError": "Internal Error",
    "notFound": "Not Found",
    "deleted": "Resource has been deleted",
    "duplicate": "The requested identifier already exists.",
    "fullSyncRequired": "Sync token is no longer valid, a full sync is required.",
    "authError": "Invalid Credentials",
    "forbidden": "Forbidden",
}

# A reason nobody named: the most common one for each status.
DEFAULT_REASONS = {
    400: "badRequest",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    409: "duplicate",
    410: "deleted",
    429: "rateLimitExceeded",
    500: "backendError",
    502: "backendError",
    503: "backendError",
    504: "backendError",
}


class ApiError(Exception):
    """An HTTP error in Google's JSON shape; ``headers`` carries e.g. ``Retry-After``."""

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        message: str | None = None,
        *,
        domain: str = "global",
        headers: dict[str, str] | None = None,
        location: str | None = None,
    ) -> None:
        self.status = status
        self.reason = reason or DEFAULT_REASONS.get(status, "unknown")
        self.message = message or DEFAULT_MESSAGES.get(self.reason, self.reason)
        self.domain = domain
        self.headers = headers or {}
        self.location = location
        super().__init__(f"{status} {self.reason}: {self.message}")

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"domain": self.domain, "reason": self.reason, "message": self.message}
        if self.location:
            detail["location"] = self.location
            detail["locationType"] = "parameter" if self.status != 401 else "header"
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [detail],
                "status": _STATUS_NAMES.get(self.status, "UNKNOWN"),
            }
        }


def bad_request(message: str, reason: str = "invalid", location: str | None = None) -> ApiError:
    return ApiError(400, reason, message, location=location)
