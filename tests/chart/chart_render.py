"""Render the chart with Helm's own Go code, offline.

helm-python-sdk bundles libhelm_c (Helm v4's SDK behind a C ABI) inside its wheel, so the
templates, the values schema, ``helm lint`` and a client-side ``helm install --dry-run`` all
run here without a helm binary, a cluster or network access.

``Chart.render`` does not forward the ``kube_version``/``api_versions`` options that the
library's ``helm_render`` accepts (the equivalents of ``helm template --kube-version
--api-versions``), so ``render_chart`` calls that entry point directly: it is the only way to
exercise ``.Capabilities`` checks such as the ServiceMonitor's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import yaml
from helm_python import _native

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "helm" / "calsync"
RELEASE = "calsync"
NAMESPACE = "calsync"
# The chart supports >= 1.27; 1.31 is the oldest version the acceptance criteria name.
KUBE_VERSION = "v1.31.0"
MONITORING_API = "monitoring.coreos.com/v1"

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """One `helm template` result: the Kubernetes objects and the rendered NOTES.txt."""

    objects: list[Manifest]
    notes: str

    def of_kind(self, kind: str) -> list[Manifest]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str, namespace: str | None = None) -> Manifest:
        for obj in self.objects:
            meta = obj["metadata"]
            if obj["kind"] == kind and meta["name"] == name and meta.get("namespace") == namespace:
                return obj
        raise AssertionError(f"no {kind} {namespace}/{name} in {self.names()}")

    def names(self) -> list[str]:
        return sorted(
            f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in self.objects
        )

    def containers(self) -> Iterator[tuple[Manifest, Manifest]]:
        """(pod spec, container) for every container of every workload."""
        for obj in self.objects:
            pod = pod_spec(obj)
            if pod is not None:
                for container in [*pod.get("initContainers", []), *pod["containers"]]:
                    yield pod, container


def pod_spec(obj: Manifest) -> Manifest | None:
    if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        spec: Manifest = obj["spec"]["template"]["spec"]
        return spec
    if obj["kind"] == "CronJob":
        spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    return None


def env_of(container: Manifest) -> dict[str, Manifest]:
    return {item["name"]: item for item in container.get("env", [])}


def render_chart(
    chart: helm_python.Chart,
    values: dict[str, Any] | None = None,
    *,
    api_versions: Sequence[str] = (),
    kube_version: str = KUBE_VERSION,
    namespace: str = NAMESPACE,
) -> Rendered:
    """Render like `helm install --dry-run`: schema checked, `fail` honoured, NOTES included."""
    options = {
        "name": RELEASE,
        "namespace": namespace,
        "is_install": True,
        "kube_version": kube_version,
        "api_versions": list(api_versions),
    }
    payload = _native.call_string("helm_render", chart._raw(), json.dumps(values or {}), json.dumps(options))
    files: dict[str, str] = json.loads(payload)
    notes = ""
    objects: list[Manifest] = []
    for path, text in sorted(files.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return Rendered(objects=objects, notes=notes)


# Kinds without a schema in kubernetes-validate (CRD-defined); their tests check them directly.
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}


def validate_strict(objects: Sequence[Manifest], kube_version: str = KUBE_VERSION) -> None:
    """Every object is valid for the Kubernetes version, with unknown fields rejected."""
    for obj in objects:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, kube_version.lstrip("v"), strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(part) for part in exc.path)
            raise AssertionError(
                f"{obj['kind']} {obj['metadata']['name']}: {exc.message} at {where}\n" + yaml.safe_dump(obj)
            ) from exc


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())
