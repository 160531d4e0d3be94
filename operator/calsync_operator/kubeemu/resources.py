"""What the emulated cluster serves: resource types from kmock's bundle and from CRDs.

A real API server derives everything from its type registry: the URL scope (namespaced or not),
which verbs exist, whether ``/status`` is a separate subresource (and therefore whether the main
resource ignores status writes), whether ``metadata.generation`` is tracked, and for custom
resources the structural schema that prunes and defaults stored objects. ``ResourceType`` is that
registry entry; the store consults it instead of guessing from the request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from calsync_operator.kubeemu.internals import k8s_views, references

# Built-ins that have a status subresource but no metadata.generation in a real cluster.
_NO_GENERATION = {
    ("", "namespaces"),
    ("", "nodes"),
    ("", "persistentvolumes"),
    ("", "persistentvolumeclaims"),
}
ALL_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"})


@dataclasses.dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    verbs: frozenset[str] = ALL_VERBS
    subresources: frozenset[str] = frozenset()
    shortnames: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    # openAPIV3Schema of a custom resource version; None for built-ins (no pruning/defaulting).
    schema: Mapping[str, Any] | None = None
    custom: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.group, self.version, self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_plural(self) -> str:
        """``calendarsyncs.calsync.dev`` / ``secrets``: the name kube-apiserver uses in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status_subresource(self) -> bool:
        return "status" in self.subresources

    @property
    def tracks_generation(self) -> bool:
        """Resources with a spec/status split count spec changes in ``metadata.generation``."""
        return self.has_status_subresource and (self.group, self.plural) not in _NO_GENERATION

    def __str__(self) -> str:
        return f"{self.qualified_plural}/{self.version}"


def bundled_types() -> Iterator[ResourceType]:
    """The built-in resources of a recent k3s, as recorded by kmock (``load_bundled()``)."""
    array = k8s_views.ResourcesArray()
    array.load_bundled()
    for key in array:
        resource = references.resource(key)
        info = array[resource]
        if not resource.plural or resource.group is None or resource.version is None:
            continue
        yield ResourceType(
            group=resource.group,
            version=resource.version,
            plural=resource.plural,
            kind=info.kind or resource.plural.capitalize(),
            namespaced=bool(info.namespaced),
            singular=info.singular or "",
            verbs=frozenset(info.verbs) or ALL_VERBS,
            subresources=frozenset(info.subresources),
            shortnames=frozenset(info.shortnames),
            categories=frozenset(info.categories),
        )


def types_from_crd(crd: Mapping[str, Any]) -> list[ResourceType]:
    """One ``ResourceType`` per served version of an ``apiextensions.k8s.io/v1`` CRD."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    result: list[ResourceType] = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = set((version.get("subresources") or {}).keys())
        result.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                singular=names.get("singular") or names["kind"].lower(),
                subresources=frozenset(subresources),
                shortnames=frozenset(names.get("shortNames") or ()),
                categories=frozenset(names.get("categories") or ()),
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                custom=True,
            )
        )
    return result


def crd_status(crd: Mapping[str, Any]) -> dict[str, Any]:
    """The status the apiextensions controller gives an accepted CRD (names accepted, established)."""
    since = crd["metadata"]["creationTimestamp"]
    names = dict((crd.get("spec") or {}).get("names") or {})
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    return {
        "acceptedNames": names,
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                "lastTransitionTime": since,
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                "lastTransitionTime": since,
            },
        ],
        "storedVersions": [
            v["name"] for v in (crd.get("spec") or {}).get("versions") or [] if v.get("storage")
        ],
    }
