"""The kmock and kopf internals the in-memory API uses are still there, at the pinned versions.

An upgrade of either package fails here first, naming the internal that moved, instead of as
odd behaviour of the in-memory API in some other test (see ``kubeemu/internals.py``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import tomllib
from pathlib import Path

import pytest

from calsync_operator.kubeemu import internals

PYPROJECT = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())


def _resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted``, then follow the attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)


def test_the_pins_are_the_versions_the_internals_were_checked_against() -> None:
    pins = [*PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"]["demo"]]
    assert f"kmock=={internals.KMOCK_VERSION}" in pins
    assert f"kopf=={internals.KOPF_VERSION}" in pins
    assert importlib.metadata.version("kmock") == internals.KMOCK_VERSION
    assert importlib.metadata.version("kopf") == internals.KOPF_VERSION


@pytest.mark.parametrize("dotted", internals.USED)
def test_every_internal_used_still_exists(dotted: str) -> None:
    _resolve(dotted)


@pytest.mark.parametrize("member", sorted(internals.SCAFFOLD_PRIVATE))
def test_every_private_scaffold_member_still_exists(member: str) -> None:
    scaffold = internals.k8s.KubernetesScaffold
    fields = {field.name for field in getattr(scaffold, "__attrs_attrs__", ())}
    assert hasattr(scaffold, member) or member in fields, internals.SCAFFOLD_PRIVATE[member]
