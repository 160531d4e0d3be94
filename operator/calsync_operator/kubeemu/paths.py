"""Request URL → (group, version, namespace, plural, name, subresource), as kube-apiserver reads it.

kmock's own parser treats every ``namespaces/<x>`` prefix as a namespace scope, so it cannot
address the Namespace resource itself (``/api/v1/namespaces`` fails, ``/api/v1/namespaces/dev``
loses the name). kube-apiserver's rule: ``namespaces/<ns>/<resource>…`` is namespace scope unless
the third segment is a Namespace subresource (``status``, ``finalize``).
"""

from __future__ import annotations

import dataclasses

_NAMESPACE_SUBRESOURCES = {"status", "finalize"}


@dataclasses.dataclass(frozen=True)
class ApiPath:
    group: str
    version: str
    plural: str | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_api_path(path: str) -> ApiPath | None:
    """``None`` for paths outside ``/api/<v>`` and ``/apis/<g>/<v>`` (discovery, /version...)."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return ApiPath(group, version)
    return ApiPath(
        group,
        version,
        plural=rest[0],
        namespace=namespace,
        name=rest[1] if len(rest) > 1 else None,
        subresource="/".join(rest[2:]) or None,
    )
