"""What a real API server (v1.36) does with the status the operator writes and how kubectl
prints it: the fields of the delete guard's window and of failed writes are declared, so they
are kept (an undeclared status field is pruned silently), and ``kubectl get csync -o wide``
prints the channel expiry readably (a ``date`` column prints ``<invalid>`` for a future time).

Runs on the session's cluster (the ``cluster`` fixture of ``tests/conftest.py``: the envtest
control plane from ``KUBEBUILDER_ASSETS``, or ``CALSYNC_TEST_KUBECONFIG``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from crdcheck import CRD_PATH, EXAMPLES, load_yaml

from support.cluster import TestCluster

pytestmark = pytest.mark.cluster


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def namespace(cluster: TestCluster) -> Iterator[str]:
    cluster.kubectl("apply", "-f", str(CRD_PATH))
    cluster.kubectl("wait", "--for=condition=Established", "crd/calendarsyncs.calsync.dev", "--timeout=60s")
    with cluster.scratch_namespace("calsync-status") as name:
        yield name


def example(namespace: str) -> dict[str, Any]:
    manifest: dict[str, Any] = load_yaml(next(p for p in EXAMPLES if p.name == "calendarsync.yaml"))
    manifest["metadata"]["namespace"] = namespace
    return manifest


def patch_status(cluster: TestCluster, namespace: str, name: str, status: dict[str, Any]) -> None:
    patch = json.dumps({"status": status})
    cluster.kubectl(
        "patch", "csync", name, "-n", namespace, "--subresource=status", "--type=merge", "-p", patch
    )


def test_wide_output_prints_a_future_channel_expiry_readably(cluster: TestCluster, namespace: str) -> None:
    manifest = example(namespace)
    cluster.kubectl("apply", "-f", "-", stdin=manifest)
    name = manifest["metadata"]["name"]
    expiry = stamp(datetime.now(UTC) + timedelta(days=6, hours=23))
    patch_status(cluster, namespace, name, {"nextChannelExpiry": expiry, "sourceCount": 2})

    wide = cluster.kubectl("get", "csync", name, "-n", namespace, "-o", "wide").stdout

    header, row = wide.splitlines()[:2]
    assert "CHANNEL EXPIRES" in header
    assert expiry in row
    assert "<invalid>" not in row


def test_the_api_server_keeps_the_guard_window_and_failed_writes(
    cluster: TestCluster, namespace: str
) -> None:
    manifest = example(namespace)
    manifest["metadata"]["name"] = "kept-status"
    cluster.kubectl("apply", "-f", "-", stdin=manifest)
    source = manifest["spec"]["sources"][0]["calendarId"]
    entry = {
        "calendarId": source,
        "key": "0123456789",
        "recentDeletes": [{"time": stamp(datetime.now(UTC)), "copies": 20, "deleted": 5}],
        "heldDeletes": 11,
        "failedWrites": {
            "count": 3,
            "retrying": 3,
            "items": [{"op": "insert", "eventId": "e1", "error": "500 backendError", "retryable": True}],
        },
    }
    patch_status(cluster, namespace, "kept-status", {"sources": [entry]})

    stored = cluster.kubectl_json("get", "csync", "kept-status", "-n", namespace)["status"]["sources"][0]

    assert {k: stored[k] for k in entry} == entry
