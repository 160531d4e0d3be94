"""The chart on a real API server, with the real ``helm`` binary: every rendered manifest passes
``kubectl apply --dry-run=server``; ``helm install`` creates every object and the CRD;
``helm upgrade`` to the same chart with changed values keeps CalendarSyncs and their status;
``helm uninstall`` leaves the CRD and the CalendarSyncs (Helm never deletes ``crds/``).

Runs on the session's cluster (the ``cluster`` fixture: the envtest control plane, or
``CALSYNC_TEST_KUBECONFIG``). Each test uses a release and a namespace of its own. Pods are not
awaited (envtest has no nodes, and the image may not be pullable): the objects are the subject.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import CHART_DIR

from calsync_operator.api.names import FINALIZER
from support.cluster import TestCluster, patch_calendarsync

pytestmark = pytest.mark.cluster

CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}
CRD_NAME = "crd/calendarsyncs.calsync.dev"


@pytest.fixture(scope="module")
def namespace(cluster: TestCluster) -> Iterator[str]:
    with cluster.scratch_namespace("calsync-chart") as name:
        yield name


SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "cloudflared": {
        "cloudflared": {"enabled": True, "tunnelToken": "not-a-real-token", "hostname": "calsync.example.com"}
    },
    "ingress": {"ingress": {"enabled": True, "host": "calsync.example.com"}},
    "check-and-alerts": {
        "check": {"enabled": True},
        "alerts": {"from": "calsync@example.com", "to": ["me@example.com"], "sendgrid": {"apiKey": "SG.x"}},
    },
    # The ServiceMonitor renders only where the cluster serves monitoring.coreos.com/v1.
    "monitoring": {"monitoring": {"serviceMonitor": {"enabled": True}}},
}


def _apply_dry_run(cluster: TestCluster, namespace: str, values: dict[str, Any]) -> None:
    """Render the chart with ``values`` (helm, against the cluster's capabilities) and let the
    API server validate every manifest."""
    rendered = cluster.helm_json(
        "install", "dryrun", str(CHART_DIR), "-n", namespace, "--dry-run=server", values=values
    )
    cluster.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", stdin=rendered["manifest"])


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_rendered_manifests_pass_server_side_dry_run(
    cluster: TestCluster, namespace: str, scenario: str
) -> None:
    _apply_dry_run(cluster, namespace, SCENARIOS[scenario])


def test_namespaced_rbac_passes_server_side_dry_run(cluster: TestCluster, namespace: str) -> None:
    values = {"rbac": {"namespaced": True}, "watchNamespaces": [namespace], "check": {"enabled": True}}
    _apply_dry_run(cluster, namespace, values)


def _release() -> str:
    return f"calsync-{uuid.uuid4().hex[:6]}"


def test_helm_install_creates_every_object_and_the_crd(cluster: TestCluster, namespace: str) -> None:
    release = _release()
    values = {"check": {"enabled": True}, "cloudflared": SCENARIOS["cloudflared"]["cloudflared"]}
    installed = cluster.helm_json("install", release, str(CHART_DIR), "-n", namespace, values=values)
    try:
        assert installed["info"]["status"] == "deployed"
        assert "kubectl get csync" in installed["info"]["notes"]
        cluster.kubectl("get", CRD_NAME)
        for obj in (o for o in yaml.safe_load_all(installed["manifest"]) if o):
            kind, name = obj["kind"], obj["metadata"]["name"]
            scope = [] if kind in CLUSTER_SCOPED else ["-n", namespace]
            found = cluster.kubectl_json("get", kind, name, *scope)
            assert found["metadata"]["labels"]["app.kubernetes.io/instance"] == release
        # The CalendarSync resource is served: the printer columns answer.
        cluster.kubectl("get", "csync", "-n", namespace)
    finally:
        cluster.helm("uninstall", release, "-n", namespace)


def _calendarsync_with_status(cluster: TestCluster, namespace: str) -> dict[str, Any]:
    """A CalendarSync holding a finalizer and a status, as the operator leaves one."""
    manifest = {
        "apiVersion": "calsync.dev/v1alpha1",
        "kind": "CalendarSync",
        "metadata": {"name": "kept", "namespace": namespace, "finalizers": [FINALIZER]},
        "spec": {
            "target": {"calendarId": "central@example.com", "credentials": {"secretRef": {"name": "t"}}},
            "sources": [{"calendarId": "me@example.com", "credentials": {"secretRef": {"name": "s"}}}],
        },
    }
    cluster.kubectl("create", "-f", "-", stdin=manifest)
    status = {
        "status": {
            "observedGeneration": 1,
            "eventsSynced": 7,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Synced",
                    "message": "7 events in sync",
                    "lastTransitionTime": "2026-11-25T08:00:00Z",
                    "observedGeneration": 1,
                }
            ],
        }
    }
    patch_calendarsync(cluster.kubectl, namespace, "kept", status, status=True)
    stored: dict[str, Any] = cluster.kubectl_json("get", "csync", "kept", "-n", namespace)
    assert stored["status"]["eventsSynced"] == 7
    return stored


def _patch_secret_as_operator(
    cluster: TestCluster, namespace: str, login: Path
) -> subprocess.CompletedProcess[str]:
    label = '{"metadata":{"labels":{"patched":"yes"}}}'
    return cluster.kubectl(
        "patch", "secret", "t", "-n", namespace, "-p", label, kubeconfig=login, check=False
    )


def test_upgrade_keeps_calendarsyncs_and_uninstall_leaves_them(cluster: TestCluster) -> None:
    """The documented upgrade path (README: Upgrade, Uninstall) on a real API server."""
    release = _release()
    with cluster.scratch_namespace("calsync-upgrade") as namespace:
        cluster.helm("install", release, str(CHART_DIR), "-n", namespace)
        before = _calendarsync_with_status(cluster, namespace)
        cluster.kubectl("create", "secret", "generic", "t", "-n", namespace, "--from-literal=token.json={}")
        operator_login = cluster.service_account_kubeconfig(namespace, f"{release}-operator")
        assert _patch_secret_as_operator(cluster, namespace, operator_login).returncode == 0

        changed = {
            "webhook": {"replicas": 3},
            "logging": {"level": "DEBUG"},
            "rbac": {"secretWriteBack": False},
        }
        upgraded = cluster.helm_json("upgrade", release, str(CHART_DIR), "-n", namespace, values=changed)
        assert upgraded["info"]["status"] == "deployed"
        assert upgraded["version"] == 2
        deployments = cluster.kubectl_json("get", "deployments", "-n", namespace)["items"]
        replicas = {d["metadata"]["name"].rsplit("-", 1)[-1]: d["spec"]["replicas"] for d in deployments}
        assert replicas == {"operator": 1, "webhook": 3}  # the new values took effect
        # rbac.secretWriteBack=false: the operator's account may no longer patch token Secrets.
        assert "is forbidden" in _patch_secret_as_operator(cluster, namespace, operator_login).stderr
        after = cluster.kubectl_json("get", "csync", "kept", "-n", namespace)
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]  # untouched
        assert after["status"] == before["status"]

        cluster.helm("uninstall", release, "-n", namespace)
        assert cluster.helm("status", release, "-n", namespace, check=False).returncode != 0
        cluster.kubectl("get", CRD_NAME)  # Helm never deletes CRDs from crds/
        left = cluster.kubectl_json("get", "csync", "kept", "-n", namespace)
        assert left["metadata"]["uid"] == before["metadata"]["uid"]
        assert left["status"] == before["status"]
        assert cluster.kubectl_json("get", "deployments", "-n", namespace)["items"] == []
        # Clean up as the README says to when the operator is gone: drop the finalizer.
        patch_calendarsync(cluster.kubectl, namespace, "kept", {"metadata": {"finalizers": None}})
        cluster.kubectl("delete", "csync", "kept", "-n", namespace)
