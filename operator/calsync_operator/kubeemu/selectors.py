"""Label and field selectors, parsed the way kube-apiserver parses ``?labelSelector=``.

Clients (kopf's ``labels=`` filters, the official client's ``label_selector=``) may push filtering
to the server; if the emulator ignored the selector, a test would pass against it while the same
code misbehaves on a cluster. Pure functions: parse once, match many objects.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

# key in (a,b) / key notin (a,b) / key=v / key==v / key!=v / key / !key
_SET_RE = re.compile(
    r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(in|notin)\s*\(([^)]*)\)|(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$"
)


@dataclasses.dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!exists":
            return self.key not in labels
        if self.op == "in":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values


class SelectorError(ValueError):
    pass


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside ``( … )`` value sets."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def parse_label_selector(text: str) -> list[Requirement]:
    requirements: list[Requirement] = []
    for part in _split_top_level(text or ""):
        match = _SET_RE.match(part)
        if match is None:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
        negated, key, set_op, set_values, eq_op, eq_value = match.groups()
        if set_op:
            if negated:
                raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
            values = frozenset(value.strip() for value in set_values.split(",") if value.strip())
            requirements.append(Requirement(key, set_op, values))
        elif eq_op:
            if negated:
                raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
            requirements.append(Requirement(key, "notin" if eq_op == "!=" else "in", frozenset({eq_value})))
        else:
            requirements.append(Requirement(key, "!exists" if negated else "exists"))
    return requirements


def parse_field_selector(text: str) -> list[tuple[str, bool, str]]:
    """``metadata.name=x,metadata.namespace!=y`` → ``[(field, equal, value), ...]``."""
    terms: list[tuple[str, bool, str]] = []
    for part in _split_top_level(text or ""):
        if "!=" in part:
            field, value = part.split("!=", 1)
            terms.append((field.strip(), False, value.strip()))
        elif "=" in part:
            field, value = part.replace("==", "=").split("=", 1)
            terms.append((field.strip(), True, value.strip()))
        else:
            raise SelectorError(f"invalid field selector: {part.strip()!r}")
    return terms


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for step in path.split("."):
        value = value.get(step) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


def compile_selectors(
    label_selector: str, field_selector: str, *, metadata_fields_only: bool
) -> Callable[[Mapping[str, Any]], bool]:
    """One predicate over stored objects for both selectors; raises ``SelectorError`` on bad syntax.

    Custom resources support only ``metadata.name``/``metadata.namespace`` as field labels (CRD
    ``selectableFields`` aside); built-ins have their own sets (``involvedObject.name`` for Events),
    which are accepted as plain paths.
    """
    requirements = parse_label_selector(label_selector)
    terms = parse_field_selector(field_selector)
    for field, _, _ in terms:
        if metadata_fields_only and field not in {"metadata.name", "metadata.namespace"}:
            raise SelectorError(f'field label not supported: "{field}"')

    def predicate(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if not all(requirement.matches(labels) for requirement in requirements):
            return False
        return all((_field_value(obj, field) == value) == equal for field, equal, value in terms)

    return predicate
