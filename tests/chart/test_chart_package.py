"""The chart as a package: metadata, `helm lint --strict`, the CRD copy and the NOTES."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import helm_python
from chart_render import CHART_DIR, KUBE_VERSION, NAMESPACE, REPO, Rendered, load_yaml, render_chart


def test_chart_metadata(chart: helm_python.Chart) -> None:
    metadata = chart.metadata
    assert metadata["apiVersion"] == "v2"
    assert metadata["name"] == "calsync"
    assert metadata["version"] == "0.1.0"
    assert metadata["appVersion"] == "0.1.0"
    assert metadata["kubeVersion"] == ">=1.27.0-0"
    assert metadata["type"] == "application"


def test_helm_lint_strict_is_clean() -> None:
    for values in (
        {},
        {
            "cloudflared": {"enabled": True, "existingSecret": "t", "hostname": "c.example.com"},
            "check": {"enabled": True},
            "rbac": {"namespaced": True},
        },
    ):
        report = helm_python.lint(
            CHART_DIR, values, strict=True, namespace=NAMESPACE, kube_version=KUBE_VERSION
        )
        assert report["errors"] == []
        # Only the informational "icon is recommended" remains (severity 1 = info).
        assert [m for m in report["messages"] if m["severity"] > 1] == []


def test_chart_crd_is_the_top_level_crd_byte_for_byte(chart: helm_python.Chart) -> None:
    top_level = REPO / "crds" / "calendarsync.yaml"
    chart_copy = CHART_DIR / "crds" / "calendarsync.yaml"
    assert chart_copy.read_bytes() == top_level.read_bytes(), (
        "helm/calsync/crds/calendarsync.yaml is stale: cp crds/calendarsync.yaml helm/calsync/crds/"
    )
    assert [crd["name"] for crd in chart.crds] == ["crds/calendarsync.yaml"]
    crd = load_yaml(chart_copy)
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "calendarsyncs.calsync.dev"


def test_chart_has_no_other_crd_source(chart: helm_python.Chart) -> None:
    """Helm installs crds/ once and never deletes or upgrades it: no templated CRD may compete."""
    assert not any("CustomResourceDefinition" in t["data"] for t in chart.templates)


def test_notes_print_the_next_commands(render: Callable[..., Rendered]) -> None:
    notes = render({}).notes
    assert "Push is OFF" in notes
    assert "calsync auth --client-secrets client.json --secret" in notes
    assert "kubectl apply -n calsync -f examples/calendarsync.yaml" in notes
    assert "kubectl get csync -n calsync" in notes
    assert "kubectl describe csync -n calsync" in notes
    assert "{{" not in notes


def test_notes_name_the_push_url_and_served_namespaces(render: Callable[..., Rendered]) -> None:
    notes = render(
        {
            "cloudflared": {"enabled": True, "existingSecret": "t", "hostname": "calsync.example.com"},
            "rbac": {"namespaced": True},
            "watchNamespaces": ["team-a", "team-b"],
        }
    ).notes
    assert "Google will push changes to https://calsync.example.com/push" in notes
    assert "Served namespaces (namespaced RBAC): team-a,team-b" in notes
    assert "kubectl get csync -n team-a" in notes
    assert "Push is OFF" not in notes


def test_packaged_chart_carries_the_crd_schema_and_renders_the_same(
    chart: helm_python.Chart, tmp_path: Path
) -> None:
    archive = helm_python.package(CHART_DIR, destination=tmp_path)
    assert Path(archive).name == "calsync-0.1.0.tgz"
    with helm_python.Chart.load(archive) as packaged:
        assert [crd["name"] for crd in packaged.crds] == ["crds/calendarsync.yaml"]
        assert packaged.schema == chart.schema
        values = {"cloudflared": {"enabled": True, "existingSecret": "t", "hostname": "c.example.com"}}
        assert render_chart(packaged, values) == render_chart(chart, values)
