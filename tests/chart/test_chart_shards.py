"""operator.shards: one shard is today's Deployment; more is a StatefulSet whose pods each
serve the shard of their ordinal, with a headless Service, per-pod probes and metrics, and an
optional PodDisruptionBudget (docs/operator.md, "Shards")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import helm_python
import pytest
from chart_render import MONITORING_API, NAMESPACE, Manifest, Rendered, env_of, pod_spec

from calsync_operator.settings import OperatorSettings

NAME = "calsync-operator"


def operator_container(workload: Manifest) -> Manifest:
    pod = pod_spec(workload)
    assert pod is not None
    found: Manifest = next(c for c in pod["containers"] if c["name"] == "operator")
    return found


def without_shard_env(workload: Manifest) -> Manifest:
    template: dict[str, Any] = dict(workload["spec"]["template"])
    container = dict(operator_container(workload))
    container["env"] = [e for e in container["env"] if e["name"] not in ("CALSYNC_SHARDS", "POD_NAME")]
    spec = dict(template["spec"])
    spec["containers"] = [container]
    template["spec"] = spec
    return template


def test_one_shard_is_the_single_replica_deployment(render: Callable[..., Rendered]) -> None:
    rendered = render({})
    assert rendered.of_kind("StatefulSet") == []
    deployment = rendered.get("Deployment", NAME, NAMESPACE)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not {"CALSYNC_SHARDS", "POD_NAME"} & set(env_of(operator_container(deployment)))
    assert [pdb["metadata"]["name"] for pdb in rendered.of_kind("PodDisruptionBudget")] == ["calsync-webhook"]


def test_shards_make_a_statefulset_whose_pods_are_the_shards(render: Callable[..., Rendered]) -> None:
    rendered = render({"operator": {"shards": 3}})
    assert NAME not in [d["metadata"]["name"] for d in rendered.of_kind("Deployment")]
    statefulset = rendered.get("StatefulSet", NAME, NAMESPACE)
    assert statefulset["spec"]["replicas"] == 3
    assert statefulset["spec"]["podManagementPolicy"] == "Parallel"
    governing = rendered.get("Service", statefulset["spec"]["serviceName"], NAMESPACE)
    assert governing["spec"]["clusterIP"] == "None"
    assert governing["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]
    env = env_of(operator_container(statefulset))
    assert env["CALSYNC_SHARDS"] == {"name": "CALSYNC_SHARDS", "value": "3"}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    # The same pod as the Deployment's (probes, ports, resources, securityContext) but the shard.
    deployment = render({}).get("Deployment", NAME, NAMESPACE)
    assert without_shard_env(statefulset) == without_shard_env(deployment)


@pytest.mark.parametrize("ordinal", [0, 1, 2])
def test_each_pod_serves_the_shard_of_its_ordinal(render: Callable[..., Rendered], ordinal: int) -> None:
    statefulset = render({"operator": {"shards": 3}}).get("StatefulSet", NAME, NAMESPACE)
    plain = {n: e["value"] for n, e in env_of(operator_container(statefulset)).items() if "value" in e}
    settings = OperatorSettings.from_env({**plain, "POD_NAME": f"{NAME}-{ordinal}"})
    assert (settings.shard, settings.shards) == (ordinal, 3)


def test_metrics_and_health_are_per_pod_through_the_services(render: Callable[..., Rendered]) -> None:
    monitoring = {"monitoring": {"serviceMonitor": {"enabled": True}}}
    rendered = render({"operator": {"shards": 3}, **monitoring}, api_versions=(MONITORING_API,))
    statefulset = rendered.get("StatefulSet", NAME, NAMESPACE)
    ports = {p["name"]: p["containerPort"] for p in operator_container(statefulset)["ports"]}
    assert ports == {"health": 8080, "metrics": 9090}
    probe = operator_container(statefulset)["livenessProbe"]["httpGet"]
    assert probe == {"path": "/healthz", "port": "health"}
    service = rendered.get("Service", NAME, NAMESPACE)  # every pod is an endpoint: scraped one by one
    assert service["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]
    monitors = rendered.of_kind("ServiceMonitor")
    labels = service["metadata"]["labels"].items()
    assert any(m["spec"]["selector"]["matchLabels"].items() <= labels for m in monitors)


def test_the_disruption_budget_is_an_option_for_shards_only(render: Callable[..., Rendered]) -> None:
    def operator_budgets(values: dict[str, Any]) -> list[Manifest]:
        return [p for p in render(values).of_kind("PodDisruptionBudget") if p["metadata"]["name"] == NAME]

    assert operator_budgets({"operator": {"shards": 3}}) == []
    assert operator_budgets({"operator": {"pdb": {"enabled": True}}}) == []  # one replica: never
    [budget] = operator_budgets({"operator": {"shards": 3, "pdb": {"enabled": True}}})
    assert budget["spec"]["maxUnavailable"] == 1
    statefulset = render({"operator": {"shards": 3}}).get("StatefulSet", NAME, NAMESPACE)
    assert budget["spec"]["selector"] == statefulset["spec"]["selector"]


@pytest.mark.parametrize("shards", [0, "3"])
def test_shards_must_be_a_positive_integer(render: Callable[..., Rendered], shards: Any) -> None:
    with pytest.raises(helm_python.HelmValuesError, match="shards"):
        render({"operator": {"shards": shards}})
