"""Every supported configuration renders to objects a Kubernetes 1.31 API server accepts, and
every pod runs under the restricted Pod Security Standard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chart_render import MONITORING_API, NAMESPACE, Rendered, pod_spec, validate_strict

TUNNEL = {"enabled": True, "existingSecret": "cloudflared-token", "hostname": "calsync.example.com"}

# name → (values, API versions the cluster serves)
SCENARIOS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "defaults": ({}, ()),
    "operator-shards": (
        {
            "operator": {"shards": 3, "pdb": {"enabled": True}},
            "monitoring": {"serviceMonitor": {"enabled": True}},
        },
        (MONITORING_API,),
    ),
    "cloudflared-existing-secret": ({"cloudflared": TUNNEL}, ()),
    "cloudflared-inline-token": (
        {"cloudflared": {"enabled": True, "tunnelToken": "eyJhIjoi", "hostname": "push.example.org"}},
        (),
    ),
    "ingress": (
        {
            "ingress": {
                "enabled": True,
                "host": "calsync.example.com",
                "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
            }
        },
        (),
    ),
    "ingress-without-tls": (
        {"ingress": {"enabled": True, "host": "calsync.example.com", "tls": {"enabled": False}}},
        (),
    ),
    "namespaced-rbac": ({"rbac": {"namespaced": True}, "watchNamespaces": ["team-a", "team-b"]}, ()),
    "namespaced-rbac-release-namespace": ({"rbac": {"namespaced": True}}, ()),
    "watch-namespaces-cluster-rbac": ({"watchNamespaces": ["team-a"]}, ()),
    "check": (
        {"check": {"enabled": True, "timeZone": "Europe/Berlin", "extraArgs": ["--max-age", "20m"]}},
        (),
    ),
    "check-namespaced": ({"check": {"enabled": True}, "rbac": {"namespaced": True}}, ()),
    "alerts-and-heartbeat": (
        {
            "alerts": {
                "from": "calsync@example.com",
                "to": ["me@example.com", "ops@example.com"],
                "sendgrid": {"apiKey": "SG.not-a-real-key"},
            },
            "heartbeat": {"url": "https://kuma.example.com/api/push/abc"},
            "check": {"enabled": True},
        },
        (),
    ),
    "alerts-existing-secrets": (
        {
            "alerts": {
                "from": "calsync@example.com",
                "to": ["me@example.com"],
                "sendgrid": {"existingSecret": "sendgrid", "existingSecretKey": "key"},
            },
            "heartbeat": {"existingSecret": "kuma"},
        },
        (),
    ),
    "single-webhook-replica": ({"webhook": {"replicas": 1}}, ()),
    "pdb-off": ({"webhook": {"pdb": {"enabled": False}}}, ()),
    "service-monitor": (
        {"monitoring": {"serviceMonitor": {"enabled": True, "labels": {"release": "kps"}}}},
        (MONITORING_API,),
    ),
    "dashboard-and-alerts": (
        {
            "monitoring": {
                "serviceMonitor": {"enabled": True},
                "dashboard": {"enabled": True, "annotations": {"grafana_folder": "calsync"}},
                "prometheusRule": {"enabled": True, "labels": {"release": "kps"}},
            }
        },
        (MONITORING_API,),
    ),
    "no-kopf-scanning": ({"rbac": {"kopfScanning": False, "secretWriteBack": False}}, ()),
    "no-rbac": ({"rbac": {"create": False}}, ()),
    "extra-objects": (
        {
            "extraObjects": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "{{ .Release.Name }}-extra"},
                    "data": {"a": "b"},
                },
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: templated-{{ .Release.Namespace }}\n",
            ]
        },
        (),
    ),
    "everything": (
        {
            "cloudflared": TUNNEL,
            "check": {"enabled": True},
            "monitoring": {"serviceMonitor": {"enabled": True}},
            "imagePullSecrets": [{"name": "regcred"}],
            "commonLabels": {"team": "calendar"},
            "operator": {
                "extraEnv": [
                    {"name": "EXTRA", "value": "1"},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                ],
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [
                    {"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}
                ],
                "priorityClassName": "system-cluster-critical",
                "podAnnotations": {"a": "b"},
            },
            "webhook": {
                "replicas": 3,
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                    }
                ],
                "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
            },
        },
        (MONITORING_API,),
    ),
}


@pytest.fixture(params=sorted(SCENARIOS), scope="module")
def scenario(request: pytest.FixtureRequest, render: Callable[..., Rendered]) -> Rendered:
    values, api_versions = SCENARIOS[request.param]
    return render(values, api_versions=api_versions)


def test_every_manifest_is_valid_for_kubernetes_1_31(scenario: Rendered) -> None:
    validate_strict(scenario.objects)


@pytest.mark.parametrize("kube_version", ["v1.27.0", "v1.37.0"])
def test_manifests_are_valid_at_both_ends_of_the_supported_range(
    render: Callable[..., Rendered], kube_version: str
) -> None:
    values, api_versions = SCENARIOS["everything"]
    validate_strict(
        render(values, api_versions=api_versions, kube_version=kube_version).objects, kube_version
    )


def test_every_container_runs_restricted(scenario: Rendered) -> None:
    containers = list(scenario.containers())
    assert containers
    for pod, container in containers:
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert container["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }, container["name"]
        assert pod["enableServiceLinks"] is False
        # The root filesystem is read-only: /tmp is an emptyDir in every container.
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
        resources = container["resources"]
        assert resources["requests"]["cpu"], container["name"]
        assert resources["requests"]["memory"], container["name"]
        assert resources["limits"]["memory"], container["name"]


def test_every_object_carries_the_standard_labels(scenario: Rendered) -> None:
    chart_made = [
        o
        for o in scenario.objects
        if o["metadata"]["name"] not in {"calsync-extra", f"templated-{NAMESPACE}"}
    ]
    for obj in chart_made:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "calsync"
        assert labels["app.kubernetes.io/instance"] == "calsync"
        assert labels["app.kubernetes.io/version"] == "0.1.0"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/part-of"] == "calsync"
        assert labels["helm.sh/chart"] == "calsync-0.1.0"
        assert labels["app.kubernetes.io/component"]


def test_namespaced_objects_live_in_the_release_or_a_served_namespace(scenario: Rendered) -> None:
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding"}
    for obj in scenario.objects:
        namespace = obj["metadata"].get("namespace")
        if obj["kind"] in cluster_scoped:
            assert namespace is None
        elif obj["kind"] in {"Role", "RoleBinding"}:
            assert namespace in {NAMESPACE, "team-a", "team-b"}
        elif obj["metadata"]["name"] not in {"calsync-extra", f"templated-{NAMESPACE}"}:
            assert namespace == NAMESPACE, obj["kind"]


def test_workload_selectors_match_their_pods_and_services(scenario: Rendered) -> None:
    pods = {o["metadata"]["name"]: o for o in scenario.of_kind("Deployment")}
    for name, deployment in pods.items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items()
        service = scenario.get("Service", name, NAMESPACE)
        assert service["spec"]["selector"] == selector
        container_ports = {
            p["name"]
            for c in pod_spec(deployment)["containers"]  # type: ignore[index]
            for p in c.get("ports", [])
        }
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports


def test_defaults_render_the_expected_objects(render: Callable[..., Rendered]) -> None:
    assert render({}).names() == [
        "ClusterRole//calsync-edit",
        "ClusterRole//calsync-kopf-scanning",
        "ClusterRole//calsync-operator",
        "ClusterRole//calsync-view",
        "ClusterRole//calsync-webhook",
        "ClusterRoleBinding//calsync-kopf-scanning",
        "ClusterRoleBinding//calsync-operator",
        "ClusterRoleBinding//calsync-webhook",
        "Deployment/calsync/calsync-operator",
        "Deployment/calsync/calsync-webhook",
        "Pod/calsync/calsync-test",  # the `helm test` hook, created only by `helm test`
        "PodDisruptionBudget/calsync/calsync-webhook",
        "Service/calsync/calsync-operator",
        "Service/calsync/calsync-webhook",
        "ServiceAccount/calsync/calsync-operator",
        "ServiceAccount/calsync/calsync-webhook",
    ]


def test_pdb_only_protects_more_than_one_webhook_replica(render: Callable[..., Rendered]) -> None:
    assert render({"webhook": {"replicas": 1}}).of_kind("PodDisruptionBudget") == []
    assert render({"webhook": {"pdb": {"enabled": False}}}).of_kind("PodDisruptionBudget") == []
    pdb = render({"webhook": {"replicas": 3, "pdb": {"minAvailable": "50%"}}}).of_kind("PodDisruptionBudget")
    assert [p["spec"]["minAvailable"] for p in pdb] == ["50%"]


def test_service_monitors_need_the_prometheus_operator_api(render: Callable[..., Rendered]) -> None:
    values = {
        "monitoring": {"serviceMonitor": {"enabled": True, "interval": "15s", "labels": {"release": "kps"}}}
    }
    assert render(values).of_kind("ServiceMonitor") == []
    assert render({}, api_versions=[MONITORING_API]).of_kind("ServiceMonitor") == []

    rendered = render(values, api_versions=[MONITORING_API])
    monitors = {m["metadata"]["name"]: m for m in rendered.of_kind("ServiceMonitor")}
    assert sorted(monitors) == ["calsync-operator", "calsync-webhook"]
    for name, port in [("calsync-operator", "metrics"), ("calsync-webhook", "http")]:
        monitor = monitors[name]
        assert monitor["apiVersion"] == MONITORING_API
        assert monitor["metadata"]["labels"]["release"] == "kps"
        endpoint = {"port": port, "path": "/metrics", "interval": "15s"}
        if name == "calsync-operator":  # per-CalendarSync series keep their own `namespace` label
            endpoint["honorLabels"] = True
        assert monitor["spec"]["endpoints"] == [endpoint]
        service = rendered.get("Service", name, NAMESPACE)
        assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
        assert port in {p["name"] for p in service["spec"]["ports"]}


def test_extra_objects_are_rendered_through_tpl(render: Callable[..., Rendered]) -> None:
    values, _ = SCENARIOS["extra-objects"]
    config_maps = {c["metadata"]["name"]: c for c in render(values).of_kind("ConfigMap")}
    assert sorted(config_maps) == ["calsync-extra", f"templated-{NAMESPACE}"]
    assert config_maps["calsync-extra"]["data"] == {"a": "b"}
