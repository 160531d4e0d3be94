"""RBAC is exactly the least privilege each component needs (docs/design.md §6, §9), with
no wildcard anywhere, in cluster-wide and in namespaced mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chart_render import NAMESPACE, Manifest, Rendered

CRS = "calendarsyncs"
Rule = tuple[str, str, frozenset[str], frozenset[str]]  # apiGroup, resource, verbs, resourceNames


def rules_of(role: Manifest) -> set[Rule]:
    """Flatten rules to one (group, resource, verbs, names) tuple per group and resource."""
    flat: set[Rule] = set()
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                flat.add(
                    (group, resource, frozenset(rule["verbs"]), frozenset(rule.get("resourceNames", [])))
                )
    return flat


def rule(group: str, resource: str, *verbs: str, names: tuple[str, ...] = ()) -> Rule:
    return (group, resource, frozenset(verbs), frozenset(names))


OPERATOR = {
    rule("calsync.dev", CRS, "get", "list", "watch", "patch"),
    rule("calsync.dev", f"{CRS}/status", "patch"),
    rule("", "secrets", "get", "list", "watch", "patch"),
    rule("", "events", "create", "patch"),
}
WEBHOOK = {rule("calsync.dev", CRS, "get", "list", "watch", "patch")}
CHECK = {rule("calsync.dev", CRS, "get", "list")}
CHECK_STATE = {
    rule("", "configmaps", "get", "patch", names=("calsync-check-state",)),
    rule("", "configmaps", "create"),
}
SCANNING = {rule("apiextensions.k8s.io", "customresourcedefinitions", "list", "watch")}
NAMESPACE_SCANNING = {rule("", "namespaces", "list", "watch")}


def roles(rendered: Rendered) -> dict[tuple[str, str | None, str], set[Rule]]:
    return {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): rules_of(o)
        for o in rendered.objects
        if o["kind"] in {"Role", "ClusterRole"}
    }


def bindings(rendered: Rendered) -> dict[tuple[str, str | None, str], tuple[str, list[dict[str, Any]]]]:
    return {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): (
            o["roleRef"]["name"],
            o["subjects"],
        )
        for o in rendered.objects
        if o["kind"] in {"RoleBinding", "ClusterRoleBinding"}
    }


def service_account(name: str) -> list[dict[str, Any]]:
    return [{"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}]


def test_cluster_mode_grants_exactly_the_listed_verbs(render: Callable[..., Rendered]) -> None:
    rendered = render({"check": {"enabled": True}})
    assert roles(rendered) == {
        ("ClusterRole", None, "calsync-operator"): OPERATOR,
        ("ClusterRole", None, "calsync-kopf-scanning"): SCANNING,
        ("ClusterRole", None, "calsync-webhook"): WEBHOOK,
        ("ClusterRole", None, "calsync-check"): CHECK,
        ("Role", NAMESPACE, "calsync-check-state"): CHECK_STATE,
        ("ClusterRole", None, "calsync-view"): {rule("calsync.dev", CRS, "get", "list", "watch")},
        ("ClusterRole", None, "calsync-edit"): {
            rule("calsync.dev", CRS, "create", "update", "patch", "delete", "deletecollection")
        },
    }
    assert bindings(rendered) == {
        ("ClusterRoleBinding", None, "calsync-operator"): (
            "calsync-operator",
            service_account("calsync-operator"),
        ),
        ("ClusterRoleBinding", None, "calsync-kopf-scanning"): (
            "calsync-kopf-scanning",
            service_account("calsync-operator"),
        ),
        ("ClusterRoleBinding", None, "calsync-webhook"): (
            "calsync-webhook",
            service_account("calsync-webhook"),
        ),
        ("ClusterRoleBinding", None, "calsync-check"): ("calsync-check", service_account("calsync-check")),
        ("RoleBinding", NAMESPACE, "calsync-check-state"): (
            "calsync-check-state",
            service_account("calsync-check"),
        ),
    }
    service_accounts = {o["metadata"]["name"] for o in rendered.of_kind("ServiceAccount")}
    assert service_accounts == {"calsync-operator", "calsync-webhook", "calsync-check"}


def test_namespaced_mode_grants_roles_in_each_served_namespace(render: Callable[..., Rendered]) -> None:
    rendered = render(
        {"rbac": {"namespaced": True}, "watchNamespaces": ["team-a", "team-b"], "check": {"enabled": True}}
    )
    expected = {
        ("ClusterRole", None, "calsync-kopf-scanning"): SCANNING | NAMESPACE_SCANNING,
        ("Role", NAMESPACE, "calsync-check-state"): CHECK_STATE,
        ("ClusterRole", None, "calsync-view"): {rule("calsync.dev", CRS, "get", "list", "watch")},
        ("ClusterRole", None, "calsync-edit"): {
            rule("calsync.dev", CRS, "create", "update", "patch", "delete", "deletecollection")
        },
    }
    for namespace in ["team-a", "team-b"]:
        expected[("Role", namespace, "calsync-operator")] = OPERATOR
        expected[("Role", namespace, "calsync-webhook")] = WEBHOOK
        expected[("Role", namespace, "calsync-check")] = CHECK
    assert roles(rendered) == expected
    role_bindings = bindings(rendered)
    for namespace in ["team-a", "team-b"]:
        for component in ["operator", "webhook", "check"]:
            name = f"calsync-{component}"
            assert role_bindings[("RoleBinding", namespace, name)] == (name, service_account(name))
    # The only cluster-wide grants left are kopf's read-only discovery of CRDs and namespaces.
    assert {key for key in role_bindings if key[0] == "ClusterRoleBinding"} == {
        ("ClusterRoleBinding", None, "calsync-kopf-scanning")
    }


def test_namespaced_mode_defaults_to_the_release_namespace(render: Callable[..., Rendered]) -> None:
    rendered = render({"rbac": {"namespaced": True}})
    assert {(k[1], k[2]) for k in roles(rendered) if k[0] == "Role"} == {
        (NAMESPACE, "calsync-operator"),
        (NAMESPACE, "calsync-webhook"),
    }
    operator = rendered.get("Deployment", "calsync-operator", NAMESPACE)
    env = {e["name"]: e.get("value") for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["CALSYNC_NAMESPACES"] == NAMESPACE


def test_kopf_observes_namespaces_only_when_it_serves_specific_ones(render: Callable[..., Rendered]) -> None:
    assert roles(render({}))[("ClusterRole", None, "calsync-kopf-scanning")] == SCANNING
    assert roles(render({"watchNamespaces": ["team-a"]}))[("ClusterRole", None, "calsync-kopf-scanning")] == (
        SCANNING | NAMESPACE_SCANNING
    )
    no_scanning = roles(render({"rbac": {"kopfScanning": False}}))
    assert ("ClusterRole", None, "calsync-kopf-scanning") not in no_scanning


def test_secret_write_back_can_be_withheld(render: Callable[..., Rendered]) -> None:
    operator = roles(render({"rbac": {"secretWriteBack": False}}))[("ClusterRole", None, "calsync-operator")]
    assert rule("", "secrets", "get", "list", "watch") in operator
    assert not any(r[1] == "secrets" and "patch" in r[2] for r in operator)


def test_no_kopf_peering_grants(render: Callable[..., Rendered]) -> None:
    """`calsync operator` runs kopf standalone: one replica with Recreate is the single writer."""
    for values in ({}, {"rbac": {"namespaced": True}}):
        for role_rules in roles(render(values)).values():
            assert all(group != "kopf.dev" for group, *_ in role_rules)


def test_user_roles_aggregate_into_view_edit_and_admin(render: Callable[..., Rendered]) -> None:
    rendered = render({})
    view = rendered.get("ClusterRole", "calsync-view")["metadata"]["labels"]
    edit = rendered.get("ClusterRole", "calsync-edit")["metadata"]["labels"]
    aggregate = "rbac.authorization.k8s.io/aggregate-to-"
    assert {k for k, v in view.items() if k.startswith(aggregate) and v == "true"} == {
        f"{aggregate}view",
        f"{aggregate}edit",
        f"{aggregate}admin",
    }
    assert {k for k, v in edit.items() if k.startswith(aggregate) and v == "true"} == {
        f"{aggregate}edit",
        f"{aggregate}admin",
    }
    without = render({"rbac": {"aggregateToDefaultRoles": False}})
    assert {"calsync-view", "calsync-edit"}.isdisjoint(o["metadata"]["name"] for o in without.objects)


def test_no_rbac_objects_when_disabled(render: Callable[..., Rendered]) -> None:
    rendered = render({"rbac": {"create": False}, "check": {"enabled": True}})
    assert roles(rendered) == {}
    assert bindings(rendered) == {}


@pytest.mark.parametrize(
    "values",
    [
        {"check": {"enabled": True}},
        {"check": {"enabled": True}, "rbac": {"namespaced": True}, "watchNamespaces": ["a", "b"]},
    ],
)
def test_no_wildcards_anywhere(render: Callable[..., Rendered], values: dict[str, Any]) -> None:
    for role in render(values).objects:
        if role["kind"] not in {"Role", "ClusterRole"}:
            continue
        for entry in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert "*" not in entry.get(field, []), (role["metadata"]["name"], entry)
            assert "nonResourceURLs" not in entry
