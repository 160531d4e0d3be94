"""The store's write semantics, checked directly on the pure core (no HTTP, no threads)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from calsync_operator.kubeemu import ApiError
from calsync_operator.kubeemu.patching import JSON, MERGE, STRATEGIC
from calsync_operator.kubeemu.resources import ResourceType, bundled_types, types_from_crd
from calsync_operator.kubeemu.store import Store

from .conftest import WIDGET_CRD, widget


@pytest.fixture
def store() -> Store:
    store = Store(clock=lambda: datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.UTC))
    for rtype in bundled_types():
        store.register(rtype)
    store.create(store.find("namespaces"), None, {"metadata": {"name": "default"}})
    store.create(store.find("customresourcedefinitions"), None, WIDGET_CRD)
    return store


@pytest.fixture
def widgets(store: Store) -> ResourceType:
    return store.find("widgets")


def create(store: Store, rtype: ResourceType, body: dict[str, Any]) -> dict[str, Any]:
    return store.create(rtype, "default", body)


def patch(store: Store, rtype: ResourceType, name: str, body: Any, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("content_type", MERGE)
    return store.patch(rtype, "default", name, patch=body, **kwargs)


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def test_resource_version_is_cluster_wide_and_monotonic(store: Store, widgets: ResourceType) -> None:
    secrets = store.find("secrets")
    a = create(store, widgets, widget("a"))
    s = create(store, secrets, {"metadata": {"name": "s"}, "data": {}})
    a2 = patch(store, widgets, "a", {"spec": {"size": 2}})
    assert rv(a) < rv(s) < rv(a2) == store.resource_version


def test_create_assigns_server_owned_metadata(store: Store, widgets: ResourceType) -> None:
    obj = create(store, widgets, {**widget("x"), "metadata": {"generateName": "w-", "uid": "forged"}})
    meta = obj["metadata"]
    assert meta["name"].startswith("w-")
    assert len(meta["name"]) == len("w-") + 5
    assert meta["uid"] != "forged"
    assert meta["creationTimestamp"] == "2026-11-25T08:00:00Z"
    assert meta["generation"] == 1
    assert meta["namespace"] == "default"
    assert obj["apiVersion"] == "kubeemu.test/v1"
    assert obj["kind"] == "Widget"


def test_create_rejects_duplicates_missing_names_and_unknown_namespaces(
    store: Store, widgets: ResourceType
) -> None:
    create(store, widgets, widget("a"))
    with pytest.raises(ApiError) as dup:
        create(store, widgets, widget("a"))
    assert (dup.value.code, dup.value.reason) == (409, "AlreadyExists")
    with pytest.raises(ApiError) as nameless:
        create(store, widgets, {"metadata": {}})
    assert nameless.value.code == 422
    with pytest.raises(ApiError) as elsewhere:
        store.create(widgets, "nowhere", widget("a"))
    assert (elsewhere.value.code, elsewhere.value.message) == (404, 'namespaces "nowhere" not found')
    with pytest.raises(ApiError) as with_rv:
        create(store, widgets, {**widget("b"), "metadata": {"name": "b", "resourceVersion": "3"}})
    assert with_rv.value.code == 400


def test_generation_counts_spec_changes_only(store: Store, widgets: ResourceType) -> None:
    create(store, widgets, widget("a", size=1))
    labelled = patch(store, widgets, "a", {"metadata": {"labels": {"x": "y"}}})
    with_status = patch(store, widgets, "a", {"status": {"phase": "Ready"}}, subresource="status")
    resized = patch(store, widgets, "a", {"spec": {"size": 2}})
    assert labelled["metadata"]["generation"] == 1
    assert with_status["metadata"]["generation"] == 1
    assert resized["metadata"]["generation"] == 2


def test_status_subresource_separates_status_from_the_rest(store: Store, widgets: ResourceType) -> None:
    created = create(store, widgets, {**widget("a", size=1), "status": {"phase": "Forged"}})
    assert "status" not in created  # create cannot set status when /status is a subresource
    main = patch(store, widgets, "a", {"spec": {"size": 2}, "status": {"phase": "Ignored"}})
    assert "status" not in main
    via_status = patch(
        store, widgets, "a", {"spec": {"size": 9}, "status": {"phase": "Ready"}}, subresource="status"
    )
    assert via_status["status"] == {"phase": "Ready"}
    assert via_status["spec"]["size"] == 2


def test_unchanged_write_keeps_the_resource_version(store: Store, widgets: ResourceType) -> None:
    created = create(store, widgets, widget("a", size=1))
    same = patch(store, widgets, "a", {"spec": {"size": 1}})
    assert rv(same) == rv(created)


def test_failed_json_patch_test_is_422(store: Store, widgets: ResourceType) -> None:
    create(store, widgets, widget("a"))
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "999"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
    ]
    with pytest.raises(ApiError) as failed:
        patch(store, widgets, "a", ops, content_type=JSON)
    assert (failed.value.code, failed.value.reason) == (422, "Invalid")
    assert "finalizers" not in store.get(widgets, "default", "a")["metadata"]


def test_stale_resource_version_in_a_merge_patch_is_a_conflict(store: Store, widgets: ResourceType) -> None:
    created = create(store, widgets, widget("a"))
    patch(store, widgets, "a", {"spec": {"size": 2}})
    with pytest.raises(ApiError) as stale:
        patch(store, widgets, "a", {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}})
    assert (stale.value.code, stale.value.reason) == (409, "Conflict")


def test_replace_needs_the_current_resource_version(store: Store, widgets: ResourceType) -> None:
    created = create(store, widgets, widget("a", size=1))
    with pytest.raises(ApiError) as unconditional:
        store.replace(widgets, "default", "a", widget("a", size=2))
    assert unconditional.value.code == 422
    replaced = store.replace(widgets, "default", "a", {**created, "spec": {"size": 3}})
    assert replaced["spec"] == {"size": 3}
    with pytest.raises(ApiError) as stale:
        store.replace(widgets, "default", "a", {**created, "spec": {"size": 4}})
    assert stale.value.code == 409


def test_strategic_merge_is_refused_for_custom_resources(store: Store, widgets: ResourceType) -> None:
    create(store, widgets, widget("a"))
    with pytest.raises(ApiError) as refused:
        patch(store, widgets, "a", {"spec": {"size": 3}}, content_type=STRATEGIC)
    assert refused.value.code == 415


def test_strategic_merge_merges_finalizers_of_builtins(store: Store) -> None:
    secrets = store.find("secrets")
    create(store, secrets, {"metadata": {"name": "s", "finalizers": ["a/one"]}, "data": {"k": "dg=="}})
    merged = patch(store, secrets, "s", {"metadata": {"finalizers": ["b/two"]}}, content_type=STRATEGIC)
    assert merged["metadata"]["finalizers"] == ["a/one", "b/two"]
    pruned = patch(
        store,
        secrets,
        "s",
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/one"]}},
        content_type=STRATEGIC,
    )
    assert pruned["metadata"]["finalizers"] == ["b/two"]


def test_delete_with_finalizers_waits_for_their_removal(store: Store, widgets: ResourceType) -> None:
    create(store, widgets, {**widget("a"), "metadata": {"name": "a", "finalizers": ["x/y"]}})
    marked, gone = store.delete(widgets, "default", "a")
    assert not gone
    assert marked["metadata"]["deletionTimestamp"] == "2026-11-25T08:00:00Z"
    assert marked["metadata"]["generation"] == 2  # as kube-apiserver bumps it when marking
    again, gone_again = store.delete(widgets, "default", "a")
    assert (again, gone_again) == (marked, False)
    with pytest.raises(ApiError) as added:
        patch(store, widgets, "a", {"metadata": {"finalizers": ["x/y", "new/one"]}})
    assert added.value.code == 422
    released = patch(store, widgets, "a", {"metadata": {"finalizers": None}})
    assert released["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiError) as absent:
        store.get(widgets, "default", "a")
    assert absent.value.code == 404


def test_delete_without_finalizers_is_immediate(store: Store, widgets: ResourceType) -> None:
    create(store, widgets, widget("a"))
    last, gone = store.delete(widgets, "default", "a")
    assert gone
    assert rv(last) == store.resource_version
    with pytest.raises(ApiError):
        store.get(widgets, "default", "a")


def test_delete_preconditions_refuse_a_moved_on_object(store: Store, widgets: ResourceType) -> None:
    old = create(store, widgets, widget("p"))
    patch(store, widgets, "p", {"spec": {"size": 2}})
    for preconditions in ({"uid": "someone-else"}, {"resourceVersion": old["metadata"]["resourceVersion"]}):
        with pytest.raises(ApiError) as refused:
            store.delete(widgets, "default", "p", {"preconditions": preconditions})
        assert refused.value.code == 409
    current = store.get(widgets, "default", "p")["metadata"]
    options = {"preconditions": {"uid": current["uid"], "resourceVersion": current["resourceVersion"]}}
    _, gone = store.delete(widgets, "default", "p", options)
    assert gone


def test_deleting_a_namespace_deletes_its_content_first(store: Store, widgets: ResourceType) -> None:
    namespaces = store.find("namespaces")
    store.create(namespaces, None, {"metadata": {"name": "team"}})
    store.create(widgets, "team", {**widget("held"), "metadata": {"name": "held", "finalizers": ["x/y"]}})
    store.create(widgets, "team", widget("free"))
    terminating, _ = store.delete(namespaces, None, "team")
    assert terminating["status"]["phase"] == "Terminating"
    with pytest.raises(ApiError) as refused:
        store.create(widgets, "team", widget("late"))
    assert refused.value.code == 403
    assert [o["metadata"]["name"] for o in store.list_objects(widgets, "team")[0]] == ["held"]
    store.patch(widgets, "team", "held", content_type=MERGE, patch={"metadata": {"finalizers": None}})
    with pytest.raises(ApiError):
        store.get(namespaces, None, "team")


def test_crd_schema_prunes_unknown_fields_and_applies_defaults(store: Store, widgets: ResourceType) -> None:
    created = create(store, widgets, {**widget("a", color="red"), "spec": {"color": "red", "bogus": 1}})
    assert created["spec"] == {"color": "red", "size": 1}
    status = patch(
        store, widgets, "a", {"status": {"phase": "Ready", "undeclared": True}}, subresource="status"
    )
    assert status["status"] == {"phase": "Ready"}


def test_crd_registration_serves_the_resource_and_deletion_removes_it(store: Store) -> None:
    crds = store.find("customresourcedefinitions")
    crd = store.get(crds, None, "widgets.kubeemu.test")
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]} == {
        "NamesAccepted": "True",
        "Established": "True",
    }
    assert types_from_crd(crd)[0].has_status_subresource
    store.delete(crds, None, "widgets.kubeemu.test")
    with pytest.raises(KeyError):
        store.find("widgets")


def test_paginated_lists_come_from_one_snapshot(store: Store, widgets: ResourceType) -> None:
    for name in "abcde":
        create(store, widgets, widget(name))
    first, revision, token, remaining = store.list_objects(widgets, "default", limit=2)
    create(store, widgets, widget("f"))  # after the snapshot: must not appear in later pages
    pages = [first]
    while token:
        page, page_revision, token, remaining = store.list_objects(
            widgets, "default", limit=2, continue_token=token
        )
        assert page_revision == revision
        pages.append(page)
    assert [[o["metadata"]["name"] for o in page] for page in pages] == [["a", "b"], ["c", "d"], ["e"]]
    assert remaining == 0


def test_short_names_resolve_like_kubectl(store: Store) -> None:
    assert store.find("events").api_version == "v1"  # not events.k8s.io/v1
    assert store.find("wg").plural == "widgets"
    assert store.find("Widget") == store.find("widgets.kubeemu.test")


def test_crd_schema_rejects_invalid_objects_with_field_paths(store: Store, widgets: ResourceType) -> None:
    with pytest.raises(ApiError) as bad_spec:
        create(store, widgets, widget("a", size="big", color="green"))
    assert bad_spec.value.code == 422
    assert bad_spec.value.message == (
        'Widget.kubeemu.test "a" is invalid: ['
        'spec.size: Invalid value: "string": spec.size in body must be of type integer: "string", '
        'spec.color: Unsupported value: "green": supported values: "red", "blue"]'
    )
    create(store, widgets, widget("a"))
    with pytest.raises(ApiError) as bad_status:
        patch(store, widgets, "a", {"status": {"observedGeneration": "one"}}, subresource="status")
    assert bad_status.value.code == 422
    assert "status.observedGeneration" in bad_status.value.message
    with pytest.raises(ApiError) as too_small:
        patch(store, widgets, "a", {"spec": {"size": 0}})
    assert "spec.size in body should be greater than or equal to 1" in too_small.value.message


def test_watch_history_expires_only_what_was_dropped() -> None:
    store = Store(history_limit=2)
    for rtype in bundled_types():
        store.register(rtype)
    namespaces, secrets = store.find("namespaces"), store.find("secrets")
    store.create(namespaces, None, {"metadata": {"name": "default"}})
    first = store.create(secrets, "default", {"metadata": {"name": "a"}})
    for name in "bc":  # pushes the creation of "a" out of the secrets history
        store.create(secrets, "default", {"metadata": {"name": name}})
    with pytest.raises(ApiError) as gone:
        store.subscribe(secrets, rv(first) - 1, lambda event: None)
    assert gone.value.code == 410
    backlog, unsubscribe = store.subscribe(secrets, rv(first), lambda event: None)
    unsubscribe()
    assert [event.object["metadata"]["name"] for event in backlog] == ["b", "c"]
    # namespaces kept their whole (short) history, whatever happened to other resources
    backlog, unsubscribe = store.subscribe(namespaces, 0, lambda event: None)
    unsubscribe()
    assert [event.type for event in backlog] == ["ADDED"]


def test_strict_field_validation_rejects_what_pruning_would_drop(store: Store, widgets: ResourceType) -> None:
    body = {**widget("a"), "spec": {"size": 2, "bogus": 1}, "extra": {"x": 1}}
    with pytest.raises(ApiError) as strict:
        store.create(widgets, "default", body, strict=True)
    assert (strict.value.code, strict.value.message) == (
        400,
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: '
        'unknown field "spec.bogus", unknown field "extra"',
    )
    assert store.create(widgets, "default", body)["spec"] == {"size": 2}  # default: pruned silently
