"""Where the CalendarSync CRD comes from when the emulator boots.

``crds/calendarsync.yaml`` at the repository root is the single source of the CRD (docs/design.md §1). An
installed package has no repository around it, so a copy ships as package data
(``kubeemu/crds/``); ``tests/kube/test_bundle.py`` keeps the copy equal to the source. From a
source checkout (editable install) the repository file wins, so a CRD edit is tested at once.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import yaml

_PACKAGED = pathlib.Path(__file__).parent / "crds" / "calendarsync.yaml"
_REPOSITORY = pathlib.Path(__file__).resolve().parents[3] / "crds" / "calendarsync.yaml"


def calendarsync_crd_path() -> pathlib.Path:
    return _REPOSITORY if _REPOSITORY.is_file() else _PACKAGED


def packaged_crd_path() -> pathlib.Path:
    return _PACKAGED


def load_manifests(path: pathlib.Path) -> Iterator[dict[str, Any]]:
    """Every non-empty YAML document of a manifest file."""
    with path.open(encoding="utf-8") as stream:
        for document in yaml.safe_load_all(stream):
            if document:
                yield document
