"""What the API server does with a CalendarSync, reproduced offline for the CRD tests.

An API server validates a custom resource in three steps: apply the schema's defaults, check
the OpenAPI part, run the CEL rules (``x-kubernetes-validations``). ``CrdSchema`` does the same
with jsonschema and cel-python so that CI, which has no cluster, still proves each rule on its
valid and invalid examples. ``tests/crd/test_crd_cluster.py`` replays the same cases against a
real API server when one is available.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml
from celpy import celtypes

ROOT = Path(__file__).resolve().parents[2]
CRD_PATH = ROOT / "crds" / "calendarsync.yaml"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
CASES_PATH = Path(__file__).with_name("invalid_cases.yaml")

Json = Any


@dataclass(frozen=True)
class Violation:
    path: str
    rule: str
    message: str


@dataclass(frozen=True)
class RuleSite:
    """One ``x-kubernetes-validations`` entry and the schema path it sits on."""

    path: tuple[str, ...]  # property names; "[]" steps into list items
    rule: str
    message: str


def load_crd() -> dict[str, Any]:
    crd: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text())
    return crd


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def to_jsonschema(node: Json) -> Json:
    """The Kubernetes schema dialect as plain JSON Schema.

    ``x-kubernetes-*`` keys are dropped, ``list-type: set`` becomes ``uniqueItems``, and objects
    with declared properties reject unknown fields (what ``kubectl apply`` does with its default
    strict field validation; without it the server would silently prune them).
    """
    if isinstance(node, list):
        return [to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if "properties" in node:
        # "properties" maps names to schemas: convert the values, keep every name.
        converted["properties"] = {name: to_jsonschema(sub) for name, sub in node["properties"].items()}
        if not node.get("x-kubernetes-preserve-unknown-fields"):
            converted.setdefault("additionalProperties", False)
    if node.get("x-kubernetes-list-type") == "set":
        converted["uniqueItems"] = True
    return converted


def apply_defaults(schema: Json, value: Json) -> Json:
    """Fill in ``default`` values the way the API server does: a default applies where the
    property is absent and its parent object exists; defaulted objects are defaulted in turn."""
    if isinstance(value, dict) and "properties" in schema:
        result = dict(value)
        for name, sub in schema["properties"].items():
            if name not in result and "default" in sub:
                result[name] = copy.deepcopy(sub["default"])
            if name in result:
                result[name] = apply_defaults(sub, result[name])
        return result
    if isinstance(value, list) and "items" in schema:
        return [apply_defaults(schema["items"], item) for item in value]
    return value


def rule_sites(schema: Json, path: tuple[str, ...] = ()) -> Iterator[RuleSite]:
    for entry in schema.get("x-kubernetes-validations", ()):
        yield RuleSite(path, entry["rule"], entry["message"])
    for name, sub in schema.get("properties", {}).items():
        yield from rule_sites(sub, (*path, name))
    if "items" in schema:
        yield from rule_sites(schema["items"], (*path, "[]"))


def _values_at(value: Json, old: Json, path: tuple[str, ...], shown: str) -> Iterator[tuple[str, Json, Json]]:
    """Every (path, value, old value) the rule at ``path`` applies to. List items get no old
    value: the API server correlates them only for list-maps and sets, which no rule uses."""
    if not path:
        yield shown, value, old
        return
    step, rest = path[0], path[1:]
    if step == "[]":
        for index, item in enumerate(value if isinstance(value, list) else ()):
            yield from _values_at(item, None, rest, f"{shown}[{index}]")
    elif isinstance(value, dict) and step in value:
        old_next = old.get(step) if isinstance(old, dict) else None
        yield from _values_at(value[step], old_next, rest, f"{shown}.{step}" if shown else step)


class CrdSchema:
    """The CalendarSync openAPIV3Schema: defaults, OpenAPI validation and CEL rules."""

    def __init__(self, crd: dict[str, Any]) -> None:
        version = crd["spec"]["versions"][0]
        self.schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
        self.validator = jsonschema.Draft7Validator(to_jsonschema(self.schema))
        self.sites = list(rule_sites(self.schema))
        env = celpy.Environment()
        self._programs = {site.rule: env.program(env.compile(site.rule)) for site in self.sites}

    def defaulted(self, manifest: Json) -> Json:
        return apply_defaults(self.schema, manifest)

    def schema_errors(self, manifest: Json) -> list[str]:
        """Every OpenAPI violation as ``dotted.path: message``; a missing required property is
        reported at its own path, as the API server does."""
        found = []
        for error in self.validator.iter_errors(self.defaulted(manifest)):
            path = [str(step) for step in error.absolute_path]
            if error.validator == "required":
                path.append(str(error.message).split("'")[1])
            found.append(f"{'.'.join(path)}: {error.message}")
        return found

    def cel_violations(self, manifest: Json, old: Json = None) -> list[Violation]:
        """Run every rule on the defaulted manifest; a rule that fails or cannot be evaluated
        is a violation (the API server rejects the request in both cases). Transition rules
        (those using ``oldSelf``) run only on updates, where the old value exists."""
        new = self.defaulted(manifest)
        previous = self.defaulted(old) if old is not None else None
        found: list[Violation] = []
        for site in self.sites:
            transition = re.search(r"\boldSelf\b", site.rule) is not None
            for shown, value, old_value in _values_at(new, previous, site.path, ""):
                if transition and old_value is None:
                    continue
                activation = {"self": celpy.json_to_cel(value)}
                if transition:
                    activation["oldSelf"] = celpy.json_to_cel(old_value)
                result = self._programs[site.rule].evaluate(activation)
                if not (isinstance(result, celtypes.BoolType) and bool(result)):  # False or an error
                    found.append(Violation(shown, site.rule, site.message))
        return found


@dataclass(frozen=True)
class Case:
    """One manifest of ``invalid_cases.yaml``: the example it starts from and how it differs."""

    id: str
    layer: str  # schema, cel or valid
    manifest: dict[str, Any]
    old: dict[str, Any] | None  # the object being updated, for transition rules
    field: str = ""
    message: str = ""


def _walk(doc: Any, path: str) -> tuple[Any, str | int]:
    """The container holding the last step of a dotted path (numeric steps index lists)."""
    steps: list[str | int] = [int(s) if s.isdigit() else s for s in path.split(".")]
    for step in steps[:-1]:
        doc = doc[step]
    return doc, steps[-1]


def build_case(layer: str, raw: dict[str, Any]) -> Case:
    base = load_yaml(ROOT / "examples" / f"{raw.get('base', 'calendarsync')}.yaml")
    manifest = copy.deepcopy(base)
    spec = manifest["spec"]
    if "repeatSources" in raw:
        first = spec["sources"][0]
        spec["sources"] = [
            {**copy.deepcopy(first), "calendarId": f"source{i}@example.com"}
            for i in range(raw["repeatSources"])
        ]
    for path, value in raw.get("set", {}).items():
        container, last = _walk(manifest, path)
        container[last] = value
    # Unset from the end, so that list indexes stay valid.
    for path in sorted(raw.get("unset", ()), reverse=True):
        container, last = _walk(manifest, path)
        del container[last]
    return Case(
        id=raw["id"],
        layer=layer,
        manifest=manifest,
        old=base if raw.get("update") else None,
        field=raw.get("field", ""),
        message=raw.get("message", ""),
    )


def load_cases(layer: str) -> list[Case]:
    raw = load_yaml(CASES_PATH)
    return [build_case(layer, entry) for entry in raw[layer]]
