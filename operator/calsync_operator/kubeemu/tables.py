"""Server-side tables: what ``kubectl get`` prints, from a CRD's ``additionalPrinterColumns``.

kubectl asks for ``Accept: application/json;as=Table;g=meta.k8s.io;v=v1`` and prints whatever
columns the server sends; kube-apiserver fills them from the CRD's printer columns (JSONPath,
typed cells, ``date`` cells as "5m"-style ages). Serving the same lets ``kubectl get csync`` and
``calsync demo`` show the real columns against the emulator. Pure functions on plain dicts.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

TABLE_MEDIA = re.compile(r"application/json\s*;[^,]*as=Table", re.IGNORECASE)
_STEP = re.compile(
    r"""\.([A-Za-z0-9_-]+)|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["']([^"']*)["']\)\]|\[(\d+|\*)\]"""
)
_DEFAULT_COLUMNS: list[dict[str, Any]] = [
    {
        "name": "Age",
        "type": "date",
        "jsonPath": ".metadata.creationTimestamp",
        "description": "CreationTimestamp is the server time when this object was created.",
    }
]


def wants_table(accept: str | None) -> bool:
    return bool(accept and TABLE_MEDIA.search(accept))


def jsonpath(obj: Any, path: str) -> list[Any]:
    """The values a kubectl-style simple JSONPath selects (``.a.b``, ``[0]``, ``[*]``, ``[?(@.k=="v")]``)."""
    values = [obj]
    position = 0
    text = path.strip().removeprefix("{").removesuffix("}")
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise ValueError(f"unsupported JSONPath {path!r} at {text[position:]!r}")
        position = match.end()
        field, filter_path, filter_value, index = match.groups()
        selected: list[Any] = []
        for value in values:
            if field is not None and isinstance(value, Mapping) and field in value:
                selected.append(value[field])
            elif filter_path is not None and isinstance(value, list):
                selected.extend(item for item in value if _lookup(item, filter_path) == filter_value)
            elif index == "*" and isinstance(value, list):
                selected.extend(value)
            elif index is not None and index != "*" and isinstance(value, list) and int(index) < len(value):
                selected.append(value[int(index)])
        values = selected
    return values


def _lookup(value: Any, dotted: str) -> Any:
    for step in dotted.split("."):
        value = value.get(step) if isinstance(value, Mapping) else None
    return value


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery's ``duration.HumanDuration``: the "AGE" format of kubectl."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def _cell(column: Mapping[str, Any], obj: Mapping[str, Any], now: datetime.datetime) -> Any:
    found = jsonpath(obj, column["jsonPath"])
    if not found or found[0] is None:
        return None
    value = found[0]
    kind = column.get("type", "string")
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return "<invalid>"
        return human_duration((now - moment).total_seconds())
    return None


def printer_columns(crd: Mapping[str, Any] | None, version: str) -> list[dict[str, Any]]:
    """A CRD version's printer columns; ``Age`` alone when it declares none (or for built-ins)."""
    for served in ((crd or {}).get("spec") or {}).get("versions") or []:
        if served.get("name") == version and served.get("additionalPrinterColumns"):
            return list(served["additionalPrinterColumns"])
    return _DEFAULT_COLUMNS


def render_table(
    columns: Sequence[Mapping[str, Any]],
    objects: Sequence[Mapping[str, Any]],
    *,
    now: datetime.datetime,
    resource_version: str | None = None,
    include_object: str = "Metadata",
) -> dict[str, Any]:
    definitions = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "priority": 0,
            "description": "Name must be unique within a namespace.",
        }
    ]
    definitions += [
        {
            "name": c["name"],
            "type": c.get("type", "string"),
            "format": c.get("format", ""),
            "description": c.get("description", ""),
            "priority": int(c.get("priority", 0)),
        }
        for c in columns
    ]
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [obj["metadata"]["name"], *(_cell(c, obj, now) for c in columns)]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    table: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": definitions,
        "rows": rows,
    }
    if resource_version is not None:
        table["metadata"]["resourceVersion"] = resource_version
    return table
