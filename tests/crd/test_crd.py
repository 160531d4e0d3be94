"""The CalendarSync CRD: a valid apiextensions/v1 object whose schema accepts every example and
rejects every invalid manifest, each CEL rule proven on its own valid and invalid examples."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from crdcheck import EXAMPLES, Case, CrdSchema, load_cases, load_yaml, to_jsonschema

from calsync_operator.api.conditions import (
    AuthenticatedReason,
    ConditionType,
    DeleteGuardReason,
    PushActiveReason,
    ReadyReason,
    set_condition,
)
from calsync_operator.api.names import source_key, token_hash
from calsync_operator.api.spec import SpecError, parse_spec

SCHEMA_CASES = load_cases("schema")
CEL_CASES = load_cases("cel")
VALID_CASES = load_cases("valid")
# What only the API server checks (unknown fields are its business; kopf hands over pruned specs)
# or what cannot be seen in one spec (a transition rule compares two versions).
NOT_PARSE_SPEC = {"unknown-field-typo", "duplicate-event-type", "target-calendar-changed"}


def _ids(cases: list[Case]) -> list[str]:
    return [case.id for case in cases]


def _walk_schema(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, node)]
    for name, sub in node.get("properties", {}).items():
        found += _walk_schema(sub, f"{path}.{name}")
    if "items" in node:
        found += _walk_schema(node["items"], f"{path}[]")
    return found


# --- the CRD object ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.25.0", "1.27.0", kubernetes_validate.latest_version()])
def test_crd_is_a_valid_apiextensions_v1_object(crd: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(crd, version, strict=True)


def test_crd_names_the_calendarsync_resource(crd: dict[str, Any]) -> None:
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "calendarsyncs.calsync.dev"
    assert (spec["group"], spec["scope"]) == ("calsync.dev", "Namespaced")
    assert spec["names"] == {
        "kind": "CalendarSync",
        "listKind": "CalendarSyncList",
        "plural": "calendarsyncs",
        "singular": "calendarsync",
        "shortNames": ["csync"],
        "categories": ["calsync"],
    }
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


def test_schema_is_structural(crd_schema: CrdSchema) -> None:
    """Every node has a type, objects either list properties or are metadata, defaults are valid
    for their own node: what the API server demands of a structural schema."""
    problems = []
    for path, node in _walk_schema(crd_schema.schema):
        if "type" not in node:
            problems.append(f"{path}: no type")
        if node.get("type") == "object" and "properties" not in node and path != ".metadata":
            problems.append(f"{path}: object without properties")
        if "additionalProperties" in node and "properties" in node:
            problems.append(f"{path}: both properties and additionalProperties")
        if "default" in node:
            jsonschema.validate(node["default"], to_jsonschema(node))
    assert problems == []


def test_every_field_explains_itself(crd_schema: CrdSchema) -> None:
    """`kubectl explain calendarsync.spec.sources` reads well only if every field has a description."""
    undocumented = [
        path
        for path, node in _walk_schema(crd_schema.schema)
        if path not in ("", ".metadata") and not path.endswith("[]") and not node.get("description")
    ]
    assert undocumented == []


def test_lists_and_strings_are_bounded_for_cel_cost(crd_schema: CrdSchema) -> None:
    """The API server estimates each CEL rule's cost from maxItems/maxLength; unbounded lists or
    strings would make it refuse the CRD."""
    unbounded = []
    for path, node in _walk_schema(crd_schema.schema):
        if node.get("type") == "array" and "maxItems" not in node:
            unbounded.append(path)
        bounded_string = "maxLength" in node or "enum" in node or node.get("format") == "date-time"
        if node.get("type") == "string" and path.startswith(".spec") and not bounded_string:
            unbounded.append(path)
    assert unbounded == []


def test_status_lists_merge_by_key(crd_schema: CrdSchema) -> None:
    status = crd_schema.schema["properties"]["status"]["properties"]
    for name, key in (("conditions", "type"), ("sources", "key")):
        assert status[name]["x-kubernetes-list-type"] == "map"
        assert status[name]["x-kubernetes-list-map-keys"] == [key]
        assert key in status[name]["items"]["required"]


def test_printer_columns_answer_is_it_working_since_when(crd: dict[str, Any], crd_schema: CrdSchema) -> None:
    columns = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    shown = [(c["name"], c.get("priority", 0)) for c in columns]
    assert shown == [
        ("Ready", 0),
        ("Reason", 1),
        ("Sources", 0),
        ("Target", 0),
        ("Synced", 0),
        ("Last Sync", 0),
        ("Channel Expires", 1),
        ("Shard", 1),
        ("Age", 0),
    ]
    declared = {path for path, _ in _walk_schema(crd_schema.schema)}
    for column in columns:
        # `.status.conditions[?(@.type=="Ready")].status` -> `.status.conditions[].status`
        path = column["jsonPath"].replace('[?(@.type=="Ready")]', "[]")
        assert path.startswith(".metadata.") or path in declared, column["jsonPath"]


# --- examples and the invalid-manifest table ----------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_accepted_and_parses(crd_schema: CrdSchema, path: Path) -> None:
    manifest = load_yaml(path)
    assert (manifest["apiVersion"], manifest["kind"]) == ("calsync.dev/v1alpha1", "CalendarSync")
    assert crd_schema.schema_errors(manifest) == []
    assert crd_schema.cel_violations(manifest) == []
    spec = parse_spec(crd_schema.defaulted(manifest)["spec"])
    assert len(spec.sources) == len(manifest["spec"]["sources"])


def test_examples_cover_both_deliveries() -> None:
    deliveries = {load_yaml(path)["spec"].get("delivery", "copy") for path in EXAMPLES}
    assert deliveries == {"copy", "invite"}


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=_ids(SCHEMA_CASES))
def test_schema_rejects_invalid_manifest(crd_schema: CrdSchema, case: Case) -> None:
    errors = crd_schema.schema_errors(case.manifest)
    assert any(error.startswith(case.field) for error in errors), errors


@pytest.mark.parametrize("case", CEL_CASES, ids=_ids(CEL_CASES))
def test_cel_rule_rejects_its_invalid_example(crd_schema: CrdSchema, case: Case) -> None:
    assert crd_schema.schema_errors(case.manifest) == []  # the rule, not the OpenAPI part, rejects it
    violations = crd_schema.cel_violations(case.manifest, old=case.old)
    assert [v.message for v in violations] == [case.message]


@pytest.mark.parametrize("case", VALID_CASES, ids=_ids(VALID_CASES))
def test_edge_case_is_accepted(crd_schema: CrdSchema, case: Case) -> None:
    assert crd_schema.schema_errors(case.manifest) == []
    assert crd_schema.cel_violations(case.manifest, old=case.old) == []


def test_every_cel_rule_has_an_invalid_example(crd_schema: CrdSchema) -> None:
    rule_messages = {site.message for site in crd_schema.sites}
    assert len(rule_messages) == len(crd_schema.sites)  # messages identify rules
    assert rule_messages == {case.message for case in CEL_CASES}


def test_defaulted_minimal_spec_matches_the_models_defaults(crd_schema: CrdSchema) -> None:
    minimal = {
        "target": {"calendarId": "central@example.com", "credentials": {"secretRef": {"name": "central"}}},
        "sources": [{"calendarId": "a@example.com", "credentials": {"secretRef": {"name": "a"}}}],
    }
    manifest = {"apiVersion": "calsync.dev/v1alpha1", "kind": "CalendarSync", "spec": minimal}
    assert parse_spec(crd_schema.defaulted(manifest)["spec"]) == parse_spec(minimal)


@pytest.mark.parametrize(
    "case", [c for c in SCHEMA_CASES + CEL_CASES if c.id not in NOT_PARSE_SPEC], ids=lambda c: c.id
)
def test_parse_spec_rejects_what_the_server_rejects(crd_schema: CrdSchema, case: Case) -> None:
    """The operator must not act on a spec the CRD forbids, e.g. after a CRD downgrade."""
    with pytest.raises(SpecError):
        parse_spec(crd_schema.defaulted(case.manifest)["spec"])


# --- status -------------------------------------------------------------------------------------


def test_status_the_operator_writes_is_accepted(crd_schema: CrdSchema) -> None:
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    conditions = set_condition([], ConditionType.READY, True, ReadyReason.SYNCED, "2 sources synced", 3, now)
    conditions = set_condition(
        conditions, ConditionType.AUTHENTICATED, True, AuthenticatedReason.TOKEN_VALID, "", 3, now
    )
    conditions = set_condition(
        conditions, ConditionType.PUSH_ACTIVE, True, PushActiveReason.CHANNELS_ACTIVE, "", 3, now
    )
    channel = {
        "id": "2f1c7a9e-6a1b-4a57-9d0e-3c1f6f0b9b11",
        "resourceId": "ret08u3rv24htgh289g",
        "expiration": "2026-12-02T08:00:00Z",
        "tokenHash": token_hash("s3cret"),
    }
    manifest = load_yaml(EXAMPLES[0])
    manifest["status"] = {
        "observedGeneration": 3,
        "conditions": conditions,
        "sourceCount": 1,
        "lastSyncTime": "2026-11-25T08:00:01Z",
        "eventsSynced": 42,
        "lastHandledRequestAt": "2026-11-25T07:59:00.123Z",
        "nextChannelExpiry": "2026-12-02T08:00:00Z",
        "sources": [
            {
                "calendarId": "alice.personal@example.com",
                "key": source_key("alice.personal@example.com"),
                "syncToken": "CPDAlvWDx70CEPDAlvWDx70CGAU=",
                "lastSyncTime": "2026-11-25T08:00:01Z",
                "lastFullSyncTime": "2026-11-25T07:00:00Z",
                "lastHandledPush": "2026-11-25T08:00:00.250Z",
                "copies": 40,
                "counts": {"created": 40, "updated": 2, "deleted": 0, "skipped": 5},
                "lastError": "",
                "channel": channel,
                "previousChannel": {**channel, "id": "old-channel"},
            }
        ],
        "plan": {
            "computedAt": "2026-11-25T08:00:01Z",
            "counts": {"insert": 1, "update": 0, "delete": 0, "invite": 0, "deleteSource": 0, "skip": 1},
            "truncated": False,
            "operations": [
                {
                    "op": "insert",
                    "sourceCalendarId": "alice.personal@example.com",
                    "eventId": "e1",
                    "copyId": "ab12",
                    "summary": "[home] Dentist",
                    "reason": "new event",
                },
                {
                    "op": "skip",
                    "sourceCalendarId": "alice.personal@example.com",
                    "eventId": "e2",
                    "reason": "declined",
                },
            ],
        },
    }
    assert crd_schema.schema_errors(manifest) == []


# --- docs/resource.md ---------------------------------------------------------------------------


def _leaf_paths(node: dict[str, Any], path: str = "") -> list[str]:
    if "properties" in node:
        children = node["properties"].items()
        return [leaf for name, sub in children for leaf in _leaf_paths(sub, f"{path}.{name}")]
    if "properties" in node.get("items", {}):
        return _leaf_paths(node["items"], f"{path}[]")
    return [path.lstrip(".")]


def test_resource_doc_explains_every_spec_field_and_condition_reason(crd_schema: CrdSchema) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "resource.md").read_text(encoding="utf-8")
    spec_fields = _leaf_paths(crd_schema.schema["properties"]["spec"])
    assert [field for field in spec_fields if f"`{field}`" not in doc] == []
    reasons = [*ReadyReason, *AuthenticatedReason, *PushActiveReason, *DeleteGuardReason, *ConditionType]
    assert [str(reason) for reason in reasons if f"`{reason}`" not in doc] == []
