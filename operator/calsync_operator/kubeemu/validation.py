"""OpenAPI v3 validation of custom resources, with kube-apiserver's field paths and wording.

A real server rejects a CalendarSync whose ``spec.delivery`` is not in the enum, or a status patch
that writes a string where the schema says integer (the operator's status patch then fails with
422 in production). Without the same check here, such bugs would pass every test. Covers the
structural-schema keywords (types, nullable, enum, required, patterns, bounds, list types,
``date-time``); CEL rules (``x-kubernetes-validations``) are not evaluated (see docs/testing.md).
Pure functions: a list of messages, empty when valid.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def validate(obj: Mapping[str, Any], schema: Mapping[str, Any] | None) -> list[str]:
    """Every violation of ``schema`` by ``obj`` (root keys apiVersion/kind/metadata excluded)."""
    if not schema:
        return []
    problems: list[str] = []
    body = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind", "metadata")}
    properties = {
        k: v
        for k, v in (schema.get("properties") or {}).items()
        if k not in ("apiVersion", "kind", "metadata")
    }
    _check(body, {**schema, "properties": properties}, "", problems)
    return problems


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else json.dumps(value, default=str)


def _json_type(value: Any) -> str:
    for name, types in (
        ("boolean", (bool,)),
        ("integer", (int,)),
        ("number", (float,)),
        ("string", (str,)),
        ("array", (list,)),
        ("object", (dict,)),
    ):
        if isinstance(value, types):
            return name
    return type(value).__name__


def _type_ok(value: Any, schema: Mapping[str, Any]) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, int | str) and not isinstance(value, bool)
    kind = schema.get("type")
    if kind is None:
        return True
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(kind, (object,)))


def _check(value: Any, schema: Mapping[str, Any], path: str, problems: list[str]) -> None:
    where = path or "<root>"
    if value is None:
        if not schema.get("nullable"):
            problems.append(
                f'{where}: Invalid value: "null": '
                f'{where} in body must be of type {schema.get("type")}: "null"'
            )
        return
    if not _type_ok(value, schema):
        shown = _json_type(value)
        problems.append(
            f'{where}: Invalid value: "{shown}": '
            f'{where} in body must be of type {schema.get("type")}: "{shown}"'
        )
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_show(item) for item in schema["enum"])
        problems.append(f"{where}: Unsupported value: {_show(value)}: supported values: {supported}")
    if isinstance(value, str):
        _check_string(value, schema, where, problems)
    elif isinstance(value, int | float):
        _check_number(value, schema, where, problems)
    elif isinstance(value, list):
        _check_array(value, schema, path, problems)
    elif isinstance(value, Mapping):
        _check_object(value, schema, path, problems)


def _check_string(value: str, schema: Mapping[str, Any], where: str, problems: list[str]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"{where}: Too long: may not be more than {schema['maxLength']} bytes")
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(
            f"{where}: Invalid value: {_show(value)}: "
            f"{where} in body should be at least {schema['minLength']} chars long"
        )
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        problems.append(
            f"{where}: Invalid value: {_show(value)}: {where} in body should match '{schema['pattern']}'"
        )
    if schema.get("format") == "date-time" and not _DATE_TIME.match(value):
        problems.append(
            f"{where}: Invalid value: {_show(value)}: "
            f"{where} in body must be of type date-time: {_show(value)}"
        )


# (bound, its exclusive flag, "the value is past the bound", the relation the message names)
_NUMBER_BOUNDS: tuple[tuple[str, str, Callable[[float, float], bool], str], ...] = (
    ("minimum", "exclusiveMinimum", operator.lt, "greater than"),
    ("maximum", "exclusiveMaximum", operator.gt, "less than"),
)


def _check_number(value: float, schema: Mapping[str, Any], where: str, problems: list[str]) -> None:
    for key, exclusive_key, past, relation in _NUMBER_BOUNDS:
        if key not in schema:
            continue
        bound = schema[key]
        exclusive = bool(schema.get(exclusive_key))
        if past(value, bound) or (exclusive and value == bound):
            wording = relation if exclusive else f"{relation} or equal to"
            problems.append(
                f"{where}: Invalid value: {_show(value)}: {where} in body should be {wording} {bound}"
            )


def _check_array(value: list[Any], schema: Mapping[str, Any], path: str, problems: list[str]) -> None:
    where = path or "<root>"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        problems.append(f"{where}: Too many: {len(value)}: must have at most {schema['maxItems']} items")
    if "minItems" in schema and len(value) < schema["minItems"]:
        problems.append(
            f"{where}: Invalid value: {len(value)}: "
            f"{where} in body should have at least {schema['minItems']} items"
        )
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set" or schema.get("uniqueItems"):
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                problems.append(f"{where}[{index}]: Duplicate value: {_show(item)}")
            seen.append(item)
    if list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen_keys: list[tuple[Any, ...]] = []
        for index, item in enumerate(value):
            key = tuple(item.get(k) for k in keys) if isinstance(item, Mapping) else (item,)
            if key in seen_keys:
                shown = ", ".join(f'"{k}":{_show(v)}' for k, v in zip(keys, key, strict=True))
                problems.append(f"{where}[{index}]: Duplicate value: map[string]interface {{}}{{{shown}}}")
            seen_keys.append(key)
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            _check(item, items, f"{where}[{index}]", problems)


def _check_object(
    value: Mapping[str, Any], schema: Mapping[str, Any], path: str, problems: list[str]
) -> None:
    prefix = f"{path}." if path else ""
    for name in schema.get("required") or []:
        if name not in value:
            problems.append(f"{prefix}{name}: Required value")
    properties: Mapping[str, Any] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], f"{prefix}{key}", problems)
        elif isinstance(additional, Mapping):
            _check(item, additional, f"{prefix}{key}", problems)
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        problems.append(
            f"{path or '<root>'}: Too many: {len(value)}: must have at most {schema['maxProperties']} items"
        )
