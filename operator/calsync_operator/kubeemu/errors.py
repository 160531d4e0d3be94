"""API errors as a real Kubernetes API server reports them.

Clients branch on the HTTP status *and* on the ``Status`` body (kopf on 404/409/422, the official
client on ``reason``), so the emulator answers with the same codes, reasons and message shapes as
kube-apiserver instead of a generic 500 with a traceback.
"""

from __future__ import annotations

from typing import Any

from calsync_operator.kubeemu.resources import ResourceType


class ApiError(Exception):
    """A failed API call: becomes a ``kind: Status`` body with the same HTTP code."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def as_status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(rtype: ResourceType, name: str) -> dict[str, Any]:
    return {"name": name, "group": rtype.group, "kind": rtype.plural}


def not_found(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rtype.qualified_plural} "{name}" not found', _details(rtype, name))


def namespace_not_found(namespace: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'namespaces "{namespace}" not found',
        {"name": namespace, "kind": "namespaces"},
    )


def already_exists(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(
        409, "AlreadyExists", f'{rtype.qualified_plural} "{name}" already exists', _details(rtype, name)
    )


def conflict(rtype: ResourceType, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rtype.qualified_plural} "{name}": {why}',
        _details(rtype, name),
    )


def stale(rtype: ResourceType, name: str) -> ApiError:
    return conflict(
        rtype,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
    )


def invalid(rtype: ResourceType, name: str, field: str, message: str) -> ApiError:
    return invalid_fields(rtype, name, [f"{field}: {message}"])


def invalid_fields(rtype: ResourceType, name: str, problems: list[str]) -> ApiError:
    """422 with kube-apiserver's ``Kind.group "name" is invalid: [field: message, ...]`` shape."""
    kind = f"{rtype.kind}.{rtype.group}" if rtype.group else rtype.kind
    shown = problems[0] if len(problems) == 1 else f"[{', '.join(problems)}]"
    causes = [
        {
            "reason": "FieldValueInvalid",
            "field": problem.split(":", 1)[0],
            "message": problem.split(": ", 1)[-1],
        }
        for problem in problems
    ]
    return ApiError(
        422, "Invalid", f'{kind} "{name}" is invalid: {shown}', {**_details(rtype, name), "causes": causes}
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)
