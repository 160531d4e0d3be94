"""The CRD on a real API server: it installs, each rule rejects its invalid example with its
message, the examples are accepted, and ``kubectl get csync`` shows the printer columns.

Runs on the session's cluster (the ``cluster`` fixture: the envtest control plane, or
``CALSYNC_TEST_KUBECONFIG``). It installs the CRD and works in a namespace of its own.
Invalid manifests are sent with ``--dry-run=server``, so nothing is stored.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from crdcheck import EXAMPLES, Case, load_cases, load_yaml

from support.cluster import Kubectl, TestCluster, patch_calendarsync

pytestmark = pytest.mark.cluster

SCHEMA_CASES = load_cases("schema")
CEL_CASES = load_cases("cel")
VALID_CASES = load_cases("valid")


@pytest.fixture(scope="module")
def namespace(cluster: TestCluster) -> Iterator[str]:
    cluster.apply_crd()
    with cluster.scratch_namespace("calsync-crd") as name:
        yield name


@pytest.fixture
def kubectl(cluster: TestCluster) -> Kubectl:
    return cluster.kubectl


def _server_path(field: str) -> str:
    """``spec.sources.0.colorId`` as the API server writes it: ``spec.sources[0].colorId``."""
    return re.sub(r"\.(\d+)", r"[\1]", field)


def _rejection(kubectl: Kubectl, namespace: str, case: Case) -> subprocess.CompletedProcess[str]:
    if case.old is None:
        return kubectl(
            "create", "-n", namespace, "--dry-run=server", "-f", "-", stdin=case.manifest, check=False
        )
    # A transition rule needs a stored object to compare with.
    old = {**case.old, "metadata": {**case.old["metadata"], "name": f"upd-{case.id}"}}
    new = {**case.manifest, "metadata": {**case.manifest["metadata"], "name": f"upd-{case.id}"}}
    kubectl("apply", "-n", namespace, "-f", "-", stdin=old)
    return kubectl("apply", "-n", namespace, "--dry-run=server", "-f", "-", stdin=new, check=False)


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=[c.id for c in SCHEMA_CASES])
def test_server_rejects_invalid_manifest(kubectl: Kubectl, namespace: str, case: Case) -> None:
    result = _rejection(kubectl, namespace, case)
    assert result.returncode != 0
    assert _server_path(case.field) in result.stderr


@pytest.mark.parametrize("case", CEL_CASES, ids=[c.id for c in CEL_CASES])
def test_server_rule_rejects_with_its_message(kubectl: Kubectl, namespace: str, case: Case) -> None:
    result = _rejection(kubectl, namespace, case)
    assert result.returncode != 0
    assert case.message in result.stderr


@pytest.mark.parametrize("case", VALID_CASES, ids=[c.id for c in VALID_CASES])
def test_server_accepts_edge_case(kubectl: Kubectl, namespace: str, case: Case) -> None:
    result = _rejection(kubectl, namespace, case)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_server_accepts_example_and_defaults_it(kubectl: Kubectl, namespace: str, path: Path) -> None:
    manifest = load_yaml(path)
    kubectl("apply", "-n", namespace, "-f", str(path))
    stored = json.loads(
        kubectl("get", "csync", manifest["metadata"]["name"], "-n", namespace, "-o", "json").stdout
    )
    assert stored["spec"]["filters"]["window"]["futureDays"] > 0  # defaults applied by the server
    assert stored["spec"]["push"]["enabled"] in (True, False)


def test_kubectl_get_shows_printer_columns(kubectl: Kubectl, namespace: str) -> None:
    manifest = load_yaml(EXAMPLES[0])
    name = manifest["metadata"]["name"]
    kubectl("apply", "-n", namespace, "-f", str(EXAMPLES[0]))
    status = {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Synced",
                    "message": "ok",
                    "lastTransitionTime": "2026-11-25T08:00:00Z",
                }
            ],
            "sourceCount": 2,
            "eventsSynced": 42,
            "lastSyncTime": "2026-11-25T08:00:00Z",
            "nextChannelExpiry": "2026-12-02T08:00:00Z",
        }
    }
    patch_calendarsync(kubectl, namespace, name, status, status=True)
    table = kubectl("get", "csync", name, "-n", namespace).stdout.splitlines()
    assert re.split(r"\s{2,}", table[0].strip()) == [
        "NAME",
        "READY",
        "SOURCES",
        "TARGET",
        "SYNCED",
        "LAST SYNC",
        "AGE",
    ]
    assert re.split(r"\s{2,}", table[1].strip())[:5] == [name, "True", "2", "alice.central@example.com", "42"]
    wide = kubectl("get", "csync", name, "-n", namespace, "-o", "wide").stdout.splitlines()
    assert "REASON" in wide[0]
    assert "CHANNEL EXPIRES" in wide[0]
    assert "Synced" in wide[1]


def test_kubectl_explain_reads_well(kubectl: Kubectl, namespace: str) -> None:
    text = kubectl("explain", "calendarsync.spec.sources").stdout
    assert "The calendars to copy from" in text
    assert "credentials" in text
    assert "calendarId" in text
