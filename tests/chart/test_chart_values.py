"""values.schema.json turns typos and wrong types into install errors, and every value is
documented where users read it (values.yaml)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import helm_python
import pytest
from chart_render import CHART_DIR, NAMESPACE, RELEASE, Rendered, load_yaml

SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())

# Kubernetes' own structures passed through verbatim (the API server validates them), and
# Helm's reserved `global`: the only places where the schema admits unknown keys.
OPEN_OBJECTS = {
    "/properties/global",
    "/definitions/affinity/properties/nodeAffinity",
    "/definitions/affinity/properties/podAffinity",
    "/definitions/affinity/properties/podAntiAffinity",
    "/properties/webhook/properties/topologySpreadConstraints/items/properties/labelSelector",
    "/properties/extraObjects/items/oneOf/1",
}


def schema_nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, child in node.items():
            yield from schema_nodes(child, f"{path}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from schema_nodes(child, f"{path}/{index}")


def test_every_object_level_of_the_schema_is_closed() -> None:
    checked = 0
    for path, node in schema_nodes(SCHEMA):
        if "properties" in node and not path.endswith("/properties"):
            assert node.get("additionalProperties") is False, path
            checked += 1
        elif node.get("type") == "object" and "additionalProperties" in node:
            # Maps: either a declared value schema (labels: strings) or a listed pass-through.
            if node["additionalProperties"] is True:
                assert path in OPEN_OBJECTS, path
        elif node.get("type") == "object":
            raise AssertionError(f"{path}: object without properties must declare additionalProperties")
    assert checked > 30


def test_defaults_satisfy_the_schema(chart: helm_python.Chart) -> None:
    chart.validate_schema({})
    assert chart.merge_values({})["image"]["repository"] == "ghcr.io/calsync/calsync"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cloudflare": {"enabled": True}}, "additional properties 'cloudflare' not allowed"),
        ({"cloudflared": {"enable": True}}, "additional properties 'enable' not allowed"),
        ({"webhook": {"replica": 3}}, "additional properties 'replica' not allowed"),
        ({"rbac": {"namespace": True}}, "additional properties 'namespace' not allowed"),
        (
            {"operator": {"resources": {"limit": {"memory": "1Gi"}}}},
            "additional properties 'limit' not allowed",
        ),
        ({"check": {"serviceAccount": {"nmae": "x"}}}, "additional properties 'nmae' not allowed"),
        (
            {"monitoring": {"serviceMonitor": {"enabled": True, "intervall": "1m"}}},
            "additional properties 'intervall' not allowed",
        ),
        (
            {"operator": {"extraEnv": [{"name": "A", "vaule": "b"}]}},
            "additional properties 'vaule' not allowed",
        ),
        (
            {"webhook": {"tolerations": [{"key": "a", "efect": "NoSchedule"}]}},
            "additional properties 'efect' not allowed",
        ),
    ],
)
def test_typos_are_rejected(chart: helm_python.Chart, values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=re.escape(message)):
        chart.validate_schema(values)


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"webhook": {"replicas": "two"}}, "/webhook/replicas"),
        ({"webhook": {"replicas": 0}}, "/webhook/replicas"),
        ({"cloudflared": {"enabled": "yes"}}, "/cloudflared/enabled"),
        ({"watchNamespaces": "team-a"}, "/watchNamespaces"),
        ({"watchNamespaces": ["Team_A"]}, "/watchNamespaces/0"),
        ({"logging": {"format": "xml"}}, "/logging/format"),
        ({"logging": {"level": "info"}}, "/logging/level"),
        ({"google": {"ratePerMinute": 1}}, "/google/ratePerMinute"),
        ({"google": {"batchSize": 1001}}, "/google/batchSize"),
        ({"operator": {"channelTtlSeconds": "7d"}}, "/operator/channelTtlSeconds"),
        ({"alerts": {"sendgrid": {"apiHost": "api.sendgrid.com"}}}, "/alerts/sendgrid/apiHost"),
        ({"google": {"apiRoot": "www.googleapis.com/"}}, "/google/apiRoot"),
        ({"operator": {"webhookUrl": "http://calsync.example.com/push"}}, "/operator/webhookUrl"),
        ({"operator": {"webhookUrl": "https://calsync.example.com/"}}, "/operator/webhookUrl"),
        ({"alerts": {"to": "me@example.com"}}, "/alerts/to"),
        ({"alerts": {"to": ["not-an-address"]}}, "/alerts/to/0"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"cloudflared": {"hostname": "https://calsync.example.com"}}, "/cloudflared/hostname"),
        ({"webhook": {"pdb": {"minAvailable": "half"}}}, "/webhook/pdb/minAvailable"),
        ({"operator": {"podLabels": {"tier": 1}}}, "/operator/podLabels/tier"),
        ({"extraObjects": [{"metadata": {"name": "x"}}]}, "/extraObjects/0"),
    ],
)
def test_wrong_types_and_formats_are_rejected(
    chart: helm_python.Chart, values: dict[str, Any], where: str
) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=re.escape(f"at '{where}'")):
        chart.validate_schema(values)


def test_helm_install_refuses_a_typo_before_touching_the_cluster(tmp_path: Any) -> None:
    """The real install action (client-side dry run, in-memory release storage)."""
    with helm_python.Config(
        storage_driver="memory", namespace=NAMESPACE, kube_apiserver="https://127.0.0.1:9"
    ) as config:
        with pytest.raises(helm_python.HelmError, match="additional properties 'cloudflare' not allowed"):
            config.install(
                CHART_DIR, RELEASE, {"cloudflare": {"enabled": True}}, namespace=NAMESPACE, dry_run="client"
            )
        release = config.install(CHART_DIR, RELEASE, {}, namespace=NAMESPACE, dry_run="client")
    assert release["status"] == "pending-install"
    assert "kind: Deployment" in release["manifest"]
    assert "calsync get csync" not in release["notes"]
    assert "kubectl get csync" in release["notes"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"cloudflared": {"enabled": True, "hostname": "calsync.example.com"}},
            "cloudflared.enabled needs the tunnel token: set cloudflared.existingSecret",
        ),
        (
            {"cloudflared": {"enabled": True, "existingSecret": "cloudflared-token"}},
            "cloudflared.enabled needs the tunnel's public hostname: set cloudflared.hostname",
        ),
        ({"ingress": {"enabled": True}}, "ingress.enabled needs ingress.host"),
        (
            {
                "ingress": {"enabled": True, "host": "a.example.com"},
                "cloudflared": {"enabled": True, "tunnelToken": "t", "hostname": "b.example.com"},
            },
            "choose one way in for Google's pushes",
        ),
        (
            {"alerts": {"to": ["me@example.com"], "sendgrid": {"apiKey": "SG.x"}}},
            "alerts.to is set but alerts.from is empty",
        ),
        (
            {"alerts": {"to": ["me@example.com"], "from": "calsync@example.com"}},
            "alerts.to is set but no SendGrid key",
        ),
    ],
)
def test_unworkable_combinations_fail_with_the_fix(
    render: Callable[..., Rendered], values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=re.escape(message)):
        render(values)


def leaf_keys(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from leaf_keys(value, f"{path}.")
        else:
            yield path


def test_every_value_is_documented_in_values_yaml() -> None:
    """Each leaf key in values.yaml has a `# --` comment right above it or above its group."""
    lines = (CHART_DIR / "values.yaml").read_text().splitlines()
    documented: set[str] = set()
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z][\w-]*):", line)
        if not match:
            continue
        indent, key = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([*(k for _, k in stack), key])
        stack.append((indent, key))
        above = number - 1
        while (
            above >= 0
            and lines[above].strip().startswith("#")
            and not lines[above].strip().startswith("# --")
        ):
            above -= 1
        if above >= 0 and lines[above].strip().startswith("# --"):
            documented.add(path)
    values = load_yaml(CHART_DIR / "values.yaml")
    # A comment on a group (e.g. `resources`) documents the keys inside it.
    undocumented = [
        key
        for key in leaf_keys(values)
        if not any(".".join(key.split(".")[:n]) in documented for n in range(1, key.count(".") + 2))
    ]
    assert undocumented == []


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        resolved: dict[str, Any] = SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[1]]
        return resolved
    return node


def schema_mismatches(values: dict[str, Any], node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Keys of values.yaml the schema lacks, and chart keys the schema has but values.yaml omits."""
    node = resolve(node)
    properties = node.get("properties", {})
    for key, value in values.items():
        if key not in properties:
            yield f"not in schema: {prefix}{key}"
        elif isinstance(value, dict) and value and "properties" in resolve(properties[key]):
            yield from schema_mismatches(value, properties[key], f"{prefix}{key}.")
    if prefix.endswith(("requests.", "limits.")) or prefix.endswith("resources."):
        return  # resource lists: the defaults name only the quantities they set
    for key in properties.keys() - values.keys() - {"global"}:
        yield f"not in values.yaml: {prefix}{key}"


def test_schema_declares_exactly_the_keys_of_values_yaml() -> None:
    assert list(schema_mismatches(load_yaml(CHART_DIR / "values.yaml"), SCHEMA)) == []
