"""The API as real clients see it: the official ``kubernetes`` client, kubectl, discovery, errors."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import urllib.request
from typing import Any

import kubernetes
import pytest
import yaml

from calsync_operator.kubeemu import ThreadedKubeEmulator

from .conftest import widget

GROUP, VERSION, PLURAL = "kubeemu.test", "v1", "widgets"
REPOSITORY = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def api(widgets: ThreadedKubeEmulator) -> Any:
    client = widgets.api_client()
    yield kubernetes.client.CustomObjectsApi(client)
    client.close()


def status_of(call: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(kubernetes.client.ApiException) as failure:
        call(*args, **kwargs)
    return failure.value.status, json.loads(failure.value.body or "{}")


def test_errors_carry_kubernetes_status_bodies(api: Any) -> None:
    api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("a"))
    code, body = status_of(api.get_namespaced_custom_object, GROUP, VERSION, "default", PLURAL, "missing")
    assert (code, body["kind"], body["reason"]) == (404, "Status", "NotFound")
    assert body["message"] == 'widgets.kubeemu.test "missing" not found'
    code, body = status_of(
        api.create_namespaced_custom_object, GROUP, VERSION, "default", PLURAL, widget("a")
    )
    assert (code, body["reason"]) == (409, "AlreadyExists")


def test_json_patch_with_failed_test_op_is_422_over_http(api: Any) -> None:
    api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("a"))
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "0"},
        {"op": "replace", "path": "/spec/size", "value": 9},
    ]
    code, body = status_of(
        api.patch_namespaced_custom_object,
        GROUP,
        VERSION,
        "default",
        PLURAL,
        "a",
        ops,
        _content_type="application/json-patch+json",
    )
    assert (code, body["reason"]) == (422, "Invalid")


def test_status_subresource_through_the_official_client(api: Any) -> None:
    api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("a", size=1))
    patched = api.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "a", {"status": {"phase": "Ready"}, "spec": {"size": 5}}
    )
    assert patched["status"] == {"phase": "Ready"}
    assert patched["spec"]["size"] == 1
    assert patched["metadata"]["generation"] == 1


def test_replace_round_trips_with_the_read_resource_version(api: Any) -> None:
    created = api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("a", size=1))
    created["spec"]["size"] = 2
    replaced = api.replace_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "a", created)
    assert replaced["metadata"]["generation"] == 2
    code, _ = status_of(api.replace_namespaced_custom_object, GROUP, VERSION, "default", PLURAL, "a", created)
    assert code == 409  # the same body again carries a stale resourceVersion


def test_builtins_through_the_typed_client(widgets: ThreadedKubeEmulator) -> None:
    client = widgets.api_client()
    core = kubernetes.client.CoreV1Api(client)
    meta = kubernetes.client.V1ObjectMeta
    core.create_namespace(kubernetes.client.V1Namespace(metadata=meta(name="team")))
    secret = core.create_namespaced_secret(
        "team", kubernetes.client.V1Secret(metadata=meta(name="tok"), string_data={"k": "v"})
    )
    names = [item.metadata.name for item in core.list_namespaced_secret("team").items if item.metadata]
    client.close()
    assert secret.metadata is not None
    assert secret.metadata.uid
    assert names == ["tok"]


def test_discovery_lists_the_crd_resource_with_its_status_subresource(widgets: ThreadedKubeEmulator) -> None:
    with urllib.request.urlopen(f"{widgets.url}/apis/{GROUP}/{VERSION}") as response:
        body = json.load(response)
    names = {entry["name"]: entry for entry in body["resources"]}
    assert body["groupVersion"] == f"{GROUP}/{VERSION}"
    assert names[PLURAL]["namespaced"] is True
    assert set(names[PLURAL]["verbs"]) >= {"get", "list", "watch", "create", "patch", "delete"}
    assert f"{PLURAL}/status" in names


def test_kubeconfig_works_for_the_client_loader(
    widgets: ThreadedKubeEmulator, tmp_path: pathlib.Path
) -> None:
    path = widgets.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    load: Any = kubernetes.config.new_client_from_config  # untyped in the client
    client = load(config_file=str(path))
    listed: Any = kubernetes.client.CustomObjectsApi(client).list_cluster_custom_object(
        GROUP, VERSION, PLURAL
    )
    client.close()
    assert listed["items"] == []


def test_fault_injection_through_kmock_reactions(widgets: ThreadedKubeEmulator, api: Any) -> None:
    api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("a"))
    widgets.server["patch", widgets.server.resource(GROUP, VERSION, PLURAL)] << 503
    code, _ = status_of(
        api.patch_namespaced_custom_object, GROUP, VERSION, "default", PLURAL, "a", {"spec": {"size": 2}}
    )
    assert code == 503
    assert widgets.get(PLURAL, "a")["spec"]["size"] == 1  # the store never saw the failed write


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_applies_lists_patches_and_deletes_custom_resources(
    kube: ThreadedKubeEmulator, tmp_path: pathlib.Path
) -> None:
    config = kube.write_kubeconfig(tmp_path / "kubeconfig")
    example = REPOSITORY / "examples" / "calendarsync.yaml"
    name = next(d for d in yaml.safe_load_all(example.read_text()) if d and d["kind"] == "CalendarSync")[
        "metadata"
    ]["name"]

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(config), *args], capture_output=True, text=True, timeout=60
        )

    def ok(*args: str) -> str:
        done = kubectl(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    # --validate=false: the emulator serves no OpenAPI documents (see docs/testing.md).
    ok("apply", "--validate=false", "-f", str(example))
    kube.patch(
        "csync",
        name,
        {
            "status": {
                "eventsSynced": 12,
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "Synced",
                        "message": "ok",
                        "lastTransitionTime": "2026-11-25T08:00:00Z",
                    }
                ],
            }
        },
        subresource="status",
    )
    table = ok("get", "csync", name).splitlines()
    ok("annotate", "csync", name, "calsync.dev/requested-at=2026-11-25T08:00:00.000Z", "--overwrite")
    ok("patch", "csync", name, "--type=merge", "-p", '{"spec":{"suspend":true}}')
    refused = kubectl("patch", "csync", name, "--type=merge", "-p", '{"spec":{"delivery":"carrier-pigeon"}}')
    listed = json.loads(ok("get", "csync", "-o", "json"))
    ok("delete", "csync", name)

    assert table[0].split()[:4] == ["NAME", "READY", "SOURCES", "TARGET"]  # the CRD's printer columns
    assert table[1].split()[:2] == [name, "True"]
    assert refused.returncode == 1
    assert f'"{name}" is invalid: spec.delivery: Unsupported value: "carrier-pigeon"' in refused.stderr
    assert [item["metadata"]["name"] for item in listed["items"]] == [name]
    assert listed["items"][0]["spec"]["suspend"] is True
    assert listed["items"][0]["metadata"]["generation"] == 2
    assert kube.find("csync", name) is None
