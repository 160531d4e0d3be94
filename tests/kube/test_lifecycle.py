"""A real kopf operator runs a full resource lifecycle against the in-memory API server.

create → status patch → spec update → delete held by a finalizer → released. This is the proof
that kopf's list+watch, merge/JSON patches, status subresource and finalizers all behave on the
emulator as on a cluster. Deterministic: it waits on cluster state, never on time.
"""

from __future__ import annotations

import threading
from typing import Any

import kopf
import pytest

from calsync_operator.kubeemu import ThreadedKubeEmulator, run_operator

from .conftest import widget

FINALIZER = "kubeemu.test/finalizer"


def make_registry(deleted: list[str], lock: threading.Lock) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.create("kubeemu.test", "v1", "widgets", registry=registry)
    async def created(body: kopf.Body, meta: kopf.Meta, patch: kopf.Patch, **_: Any) -> None:
        kopf.info(body, reason="Created", message="the widget was seen")
        patch.status["phase"] = "Created"
        patch.status["observedGeneration"] = meta["generation"]

    @kopf.on.update("kubeemu.test", "v1", "widgets", field="spec", registry=registry)
    async def updated(meta: kopf.Meta, patch: kopf.Patch, **_: Any) -> None:
        patch.status["phase"] = "Updated"
        patch.status["observedGeneration"] = meta["generation"]

    @kopf.on.delete("kubeemu.test", "v1", "widgets", registry=registry)
    async def removed(name: str, **_: Any) -> None:
        with lock:
            deleted.append(name)

    return registry


def operator_settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    return settings


# Cluster-wide; one namespace; a namespace pattern (kopf then also watches Namespaces).
@pytest.mark.parametrize(
    "namespaces", [(), ("default",), ("def*",)], ids=["clusterwide", "namespaced", "glob"]
)
def test_kopf_lifecycle_create_update_delete(
    widgets: ThreadedKubeEmulator, namespaces: tuple[str, ...]
) -> None:
    kube = widgets
    deleted: list[str] = []
    registry = make_registry(deleted, threading.Lock())

    with run_operator(kube, registry=registry, settings=operator_settings(), namespaces=namespaces):
        kube.create(widget("w1", size=3))
        created = kube.wait_for(
            "widgets",
            "w1",
            lambda o: bool(
                o
                and o.get("status", {}).get("phase") == "Created"
                and FINALIZER in o["metadata"].get("finalizers", [])
            ),
        )
        assert created is not None
        assert created["status"]["observedGeneration"] == 1
        assert created["metadata"]["generation"] == 1  # status and finalizer writes are not spec changes

        kube.patch("widgets", "w1", {"spec": {"size": 5}})
        updated = kube.wait_for(
            "widgets", "w1", lambda o: bool(o and o.get("status", {}).get("phase") == "Updated")
        )
        assert updated is not None
        assert updated["metadata"]["generation"] == 2
        assert updated["status"]["observedGeneration"] == 2
        assert updated["spec"] == {"size": 5}

        marked = kube.delete("widgets", "w1")
        assert marked["metadata"]["deletionTimestamp"]  # held by kopf's finalizer until the handler ran
        kube.wait_for("widgets", "w1", lambda o: o is None)
        # kopf posts core v1 Events in the background, creating them with generateName
        kube.wait_until(lambda: bool(kube.list("events", namespace="default")))

    assert deleted == ["w1"]
    [event] = kube.list("events", namespace="default")
    assert (event["involvedObject"]["name"], event["reason"]) == ("w1", "Created")
    assert event["metadata"]["name"].startswith("kopf-event-")
