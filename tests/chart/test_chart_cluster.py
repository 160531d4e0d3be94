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
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import helm_python
import pytest
import yaml
from chart_render import CHART_DIR

KUBECONFIG = os.environ.get("CALSYNC_TEST_KUBECONFIG", "")

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(not KUBECONFIG, reason="set CALSYNC_TEST_KUBECONFIG to run against a real cluster"),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH"),
]

CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["kubectl", "--kubeconfig", KUBECONFIG, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    name = f"calsync-chart-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


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


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_rendered_manifests_pass_server_side_dry_run(
    helm: helm_python.Config, namespace: str, scenario: str
) -> None:
    with helm_python.Chart.load(CHART_DIR) as chart:
        files = helm.render(chart, SCENARIOS[scenario], name="dryrun", namespace=namespace, is_install=True)
    manifests = "\n---\n".join(text for path, text in sorted(files.items()) if not path.endswith("NOTES.txt"))
    kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", stdin=manifests)


def test_namespaced_rbac_passes_server_side_dry_run(helm: helm_python.Config, namespace: str) -> None:
    values = {"rbac": {"namespaced": True}, "watchNamespaces": [namespace], "check": {"enabled": True}}
    with helm_python.Chart.load(CHART_DIR) as chart:
        files = helm.render(chart, values, name="dryrun", namespace=namespace, is_install=True)
    manifests = "\n---\n".join(text for path, text in sorted(files.items()) if not path.endswith("NOTES.txt"))
    kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", stdin=manifests)


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
