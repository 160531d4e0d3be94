"""Typed reads from the raw dicts kopf hands over, collecting problems with their field paths.

The spec parser in ``model`` uses it to report *every* problem of a spec in one message (the
user fixes them all at once instead of one per apply) while still returning usable defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

_E = TypeVar("_E", bound=StrEnum)


class FieldReader:
    """Reads typed fields out of raw dicts and collects every problem instead of stopping at the
    first, so one status message lists all the fixes at once."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.messages: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.messages.append(f"{self.prefix}{path}: {message}")

    def mapping(self, raw: Mapping[str, Any], name: str, path: str) -> Mapping[str, Any]:
        value = raw.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(path, f"must be an object, not {type(value).__name__}")
            return {}
        return value

    def string(self, raw: Mapping[str, Any], name: str, path: str, *, required: bool = False) -> str | None:
        value = raw.get(name)
        if value is None or value == "":
            if required:
                self.add(path, "is required")
            return None
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {type(value).__name__}")
            return None
        return value

    def boolean(self, raw: Mapping[str, Any], name: str, path: str, default: bool) -> bool:
        value = raw.get(name, default)
        if not isinstance(value, bool):
            self.add(path, f"must be true or false, not {value!r}")
            return default
        return value

    def integer(self, raw: Mapping[str, Any], name: str, path: str, default: int, low: int, high: int) -> int:
        value = raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.add(path, f"must be a whole number from {low} to {high}, not {value!r}")
            return default
        return value

    def choice(self, raw: Mapping[str, Any], name: str, path: str, enum: type[_E], default: _E) -> _E:
        value = raw.get(name, default.value)
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            self.add(path, f"must be one of {allowed}, not {value!r}")
            return default

    def regex(self, raw: Mapping[str, Any], name: str, path: str) -> re.Pattern[str] | None:
        text = self.string(raw, name, path)
        if text is None:
            return None
        try:
            return re.compile(text)
        except re.error as exc:
            self.add(path, f"{text!r} is not a valid regular expression ({exc}): fix it or remove the filter")
            return None
