"""Every kmock and kopf internal the in-memory API relies on, named once, with why.

kmock's public surface serves fixed payloads; an API server that kopf and the official client
accept needs its request parsing, its rendering and its Kubernetes scaffold, which live under
``kmock._internal``. kopf has no public way to hand a pre-filled credentials vault to
``kopf.operator()``. Both pins are exact in pyproject.toml (the ``demo`` extra and the runtime
dependencies); ``tests/kube/test_internals.py`` fails loudly, naming the internal, when an
upgrade moves or removes any of them. Nothing outside ``kubeemu`` imports these.
"""

from __future__ import annotations

from kmock._internal import (
    dsl,  # Filter, Reaction: the fault-injection DSL whose reactions win over the store
    enums,  # action: the verb of a parsed request (list, watch, create, patch, ...)
    filtering,  # Criteria: matching a request against a reaction
    k8s,  # KubernetesScaffold (subclassed by server.KubeApiServer), KubernetesError
    k8s_views,  # ResourcesArray: the discovery documents served for /api and /apis
    references,  # resource, ResourceInfo: a resource type as kmock's discovery knows it
    rendering,  # Request, Response, Payload, StreamingError: kmock's request/response model
)
from kopf._cogs.structs import credentials  # Vault: kopf.operator(vault=...) without a login handler

KMOCK_VERSION = "0.8"
KOPF_VERSION = "1.45.2"

# Dotted names used from the modules above (checked by the test).
USED: tuple[str, ...] = (
    "kmock._internal.dsl.Filter",
    "kmock._internal.dsl.Reaction",
    "kmock._internal.dsl.Reaction._walk",  # private: the filters in front of a reaction
    "kmock._internal.enums.action",
    "kmock._internal.filtering.Criteria",
    "kmock._internal.k8s.KubernetesScaffold",
    "kmock._internal.k8s.KubernetesError",
    "kmock._internal.k8s_views.ResourcesArray",
    "kmock._internal.references.resource",
    "kmock._internal.references.ResourceInfo",
    "kmock._internal.rendering.Payload",
    "kmock._internal.rendering.Request",
    "kmock._internal.rendering.Response",
    "kmock._internal.rendering.StreamingError",
    "kopf._cogs.structs.credentials.Vault",
)

# Private members of ``KubernetesScaffold`` (and its base) that ``server.KubeApiServer`` overrides
# or reads, and why.
SCAFFOLD_PRIVATE: dict[str, str] = {
    "__attrs_post_init__": "extended: install the store-backed fallback route",
    "_handle": "overridden: object requests go to the store unless a fault reaction matches",
    "_get_resources": "overridden: discovery lists the store's resource types (CRDs included)",
    "_serve_version": "overridden: /version answers like a real kube-apiserver",
    "_resources": "written: the discovery table behind _get_resources",
    "_payloads": "read: the reactions added by tests (fault injection)",
    "_requests": "appended and trimmed: the request log tests read, bounded for a long demo",
    "_stream_error": "called: end a watch stream with a Kubernetes error",
    "_render_error": "called: answer a failed request the way the API server does",
}

__all__ = ["credentials", "dsl", "enums", "filtering", "k8s", "k8s_views", "references", "rendering"]
