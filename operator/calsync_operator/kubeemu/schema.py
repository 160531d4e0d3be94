"""Structural-schema pruning and defaulting of custom resources, as kube-apiserver does them.

A real API server silently drops every field the CRD schema does not declare (the classic kopf
pitfall: an undeclared ``status`` field "does not stick") and fills in ``default:`` values. An
emulator that stored whatever it was given would hide exactly those bugs, so custom resources go
through the same two steps here. Pure functions on plain dicts.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

_ROOT_KEYS = ("apiVersion", "kind", "metadata")


def prune_and_default(obj: Mapping[str, Any], schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the stored form of a custom resource: unknown fields pruned, defaults applied."""
    if not schema:
        return dict(obj)
    body = {key: value for key, value in obj.items() if key not in _ROOT_KEYS}
    shaped = _walk(body, schema)
    result = {key: obj[key] for key in _ROOT_KEYS if key in obj}
    result.update(shaped if isinstance(shaped, dict) else {})
    return result


def _walk(value: Any, schema: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping):
        return _walk_object(value, schema)
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_walk(item, schema["items"]) for item in value]
    return value


def _walk_object(value: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key in properties:
            subschema = properties[key]
            # Nulls of non-nullable fields are pruned before defaulting, as the API server does.
            if item is None and not subschema.get("nullable"):
                continue
            result[key] = _walk(item, subschema)
        elif isinstance(additional, Mapping):
            result[key] = _walk(item, additional)
        elif preserve or additional is True or (embedded and key in _ROOT_KEYS):
            result[key] = item
    for key, subschema in properties.items():
        if key not in result and "default" in subschema:
            result[key] = _walk(copy.deepcopy(subschema["default"]), subschema)
    return result


def unknown_fields(obj: Mapping[str, Any], schema: Mapping[str, Any] | None) -> list[str]:
    """Paths of the fields pruning would drop (``spec.bogus``): ``fieldValidation=Strict`` rejects them."""
    if not schema:
        return []
    body = {key: value for key, value in obj.items() if key not in _ROOT_KEYS}
    found: list[str] = []
    _collect(body, schema, "", found)
    return found


def _collect(value: Any, schema: Mapping[str, Any], path: str, found: list[str]) -> None:
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            _collect(item, schema["items"], f"{path}[{index}]", found)
        return
    if not isinstance(value, Mapping) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    properties: Mapping[str, Any] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if key in properties:
            _collect(item, properties[key], child, found)
        elif isinstance(additional, Mapping):
            _collect(item, additional, child, found)
        elif not (additional is True or (embedded and key in _ROOT_KEYS)):
            found.append(child)
