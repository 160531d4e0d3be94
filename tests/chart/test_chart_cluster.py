"""The chart on a real API server: every rendered manifest passes `kubectl apply
--dry-run=server`, and `helm install` creates every object and the CRD.

Runs only with ``CALSYNC_TEST_KUBECONFIG`` pointing at a disposable cluster (kind, k3s) and
``kubectl`` on PATH. Helm itself is the library bundled in helm-python-sdk (no helm binary).
Each run uses a release and a namespace of its own and removes both; the CRD stays installed,
as it does after a real `helm uninstall`. Pods are not awaited: the image may not be pullable
on a test cluster, and the objects are what this test is about.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import helm_python
import pytest
import yaml
from chart_render import CHART_DIR

from support.cluster import CLUSTER_MARKS, KUBECONFIG, kubectl, scratch_namespace

pytestmark = CLUSTER_MARKS

CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    with scratch_namespace("calsync-chart") as name:
        yield name


@pytest.fixture(scope="module")
def helm(namespace: str) -> Iterator[helm_python.Config]:
    with helm_python.Config(kubeconfig_path=KUBECONFIG, namespace=namespace) as config:
        yield config


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


def _apply_dry_run(helm: helm_python.Config, namespace: str, values: dict[str, Any]) -> None:
    """Render the chart with ``values`` and let the API server validate every manifest."""
    with helm_python.Chart.load(CHART_DIR) as chart:
        files = helm.render(chart, values, name="dryrun", namespace=namespace, is_install=True)
    manifests = "\n---\n".join(text for path, text in sorted(files.items()) if not path.endswith("NOTES.txt"))
    kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", stdin=manifests)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_rendered_manifests_pass_server_side_dry_run(
    helm: helm_python.Config, namespace: str, scenario: str
) -> None:
    _apply_dry_run(helm, namespace, SCENARIOS[scenario])


def test_namespaced_rbac_passes_server_side_dry_run(helm: helm_python.Config, namespace: str) -> None:
    values = {"rbac": {"namespaced": True}, "watchNamespaces": [namespace], "check": {"enabled": True}}
    _apply_dry_run(helm, namespace, values)


def test_helm_install_creates_every_object_and_the_crd(helm: helm_python.Config, namespace: str) -> None:
    release = f"calsync-{uuid.uuid4().hex[:6]}"
    values = {"check": {"enabled": True}, "cloudflared": SCENARIOS["cloudflared"]["cloudflared"]}
    installed = helm.install(CHART_DIR, release, values, namespace=namespace, timeout=120)
    try:
        assert installed["status"] == "deployed"
        assert "kubectl get csync" in installed["notes"]
        kubectl("get", "crd", "calendarsyncs.calsync.dev")
        for obj in (o for o in yaml.safe_load_all(installed["manifest"]) if o):
            kind, name = obj["kind"], obj["metadata"]["name"]
            scope = [] if kind in CLUSTER_SCOPED else ["-n", namespace]
            found = json.loads(kubectl("get", kind, name, *scope, "-o", "json").stdout)
            assert found["metadata"]["labels"]["app.kubernetes.io/instance"] == release
        # The CalendarSync resource is served: the printer columns answer.
        kubectl("get", "csync", "-n", namespace)
    finally:
        helm.uninstall(release, timeout=120)
    # Helm never deletes CRDs from crds/: the resource type (and any CalendarSync) survives.
    kubectl("get", "crd", "calendarsyncs.calsync.dev")
