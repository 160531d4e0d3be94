"""Pure helpers: URL rules, selectors and patch flavours."""

from __future__ import annotations

import datetime

import pytest

from calsync_operator.kubeemu.patching import PatchError, apply_patch, merge_patch
from calsync_operator.kubeemu.paths import ApiPath, parse_api_path
from calsync_operator.kubeemu.selectors import SelectorError, compile_selectors
from calsync_operator.kubeemu.tables import human_duration, jsonpath, render_table


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/namespaces", ApiPath("", "v1", "namespaces")),
        ("/api/v1/namespaces/dev", ApiPath("", "v1", "namespaces", name="dev")),
        ("/api/v1/namespaces/dev/status", ApiPath("", "v1", "namespaces", name="dev", subresource="status")),
        ("/api/v1/namespaces/dev/secrets", ApiPath("", "v1", "secrets", namespace="dev")),
        ("/api/v1/namespaces/dev/secrets/s", ApiPath("", "v1", "secrets", namespace="dev", name="s")),
        ("/apis/calsync.dev/v1alpha1/calendarsyncs", ApiPath("calsync.dev", "v1alpha1", "calendarsyncs")),
        (
            "/apis/calsync.dev/v1alpha1/namespaces/a/calendarsyncs/x/status",
            ApiPath(
                "calsync.dev", "v1alpha1", "calendarsyncs", namespace="a", name="x", subresource="status"
            ),
        ),
        ("/apis/calsync.dev/v1alpha1", ApiPath("calsync.dev", "v1alpha1")),
        ("/version", None),
        ("/apis", None),
    ],
)
def test_api_paths_follow_apiserver_rules(path: str, expected: ApiPath | None) -> None:
    assert parse_api_path(path) == expected


@pytest.mark.parametrize(
    ("labels", "fields", "matches"),
    [
        ("app=web", "", True),
        ("app==web,tier!=db", "", True),
        ("app in (web, api)", "", True),
        ("app notin (web)", "", False),
        ("tier", "", False),
        ("!tier", "", True),
        ("", "metadata.name=x", True),
        ("", "metadata.name!=x", False),
        ("app=web", "metadata.namespace=other", False),
    ],
)
def test_selectors_match_like_apiserver(labels: str, fields: str, matches: bool) -> None:
    obj = {"metadata": {"name": "x", "namespace": "default", "labels": {"app": "web"}}}
    assert compile_selectors(labels, fields, metadata_fields_only=True)(obj) is matches


def test_bad_selectors_are_rejected() -> None:
    with pytest.raises(SelectorError):
        compile_selectors("app in web", "", metadata_fields_only=True)
    with pytest.raises(SelectorError):
        compile_selectors("", "spec.size=1", metadata_fields_only=True)


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2], "k": "v"}
    assert merge_patch(target, {"a": {"b": None, "d": 3}, "l": [3], "k": None}) == {
        "a": {"c": 2, "d": 3},
        "l": [3],
    }
    assert target == {"a": {"b": 1, "c": 2}, "l": [1, 2], "k": "v"}  # never modified in place


def test_unknown_patch_types_are_415() -> None:
    with pytest.raises(PatchError) as apply:
        apply_patch({}, "application/apply-patch+yaml", "x: 1", strategic_ok=True)
    assert apply.value.code == 415


def test_jsonpath_supports_kubectl_printer_column_paths() -> None:
    obj = {
        "status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]},
        "spec": {"items": [1, 2]},
    }
    assert jsonpath(obj, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert jsonpath(obj, ".spec.items[1]") == [2]
    assert jsonpath(obj, ".spec.items[*]") == [1, 2]
    assert jsonpath(obj, ".status.missing") == []


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(5, "5s"), (119, "119s"), (150, "2m30s"), (600, "10m"), (3 * 3600 + 60, "3h1m"), (50 * 3600, "2d2h")],
)
def test_ages_use_kubectls_format(seconds: int, shown: str) -> None:
    assert human_duration(seconds) == shown


def test_tables_type_their_cells() -> None:
    columns = [
        {"name": "Count", "type": "integer", "jsonPath": ".status.n"},
        {"name": "Since", "type": "date", "jsonPath": ".status.t"},
    ]
    obj = {"metadata": {"name": "x"}, "status": {"n": 3.0, "t": "2026-11-25T07:00:00Z"}}
    now = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.UTC)
    table = render_table(columns, [obj], now=now)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Count", "Since"]
    assert table["rows"][0]["cells"] == ["x", 3, "60m"]
