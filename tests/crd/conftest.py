"""Fixtures of the CRD tests: the CRD and its schema, loaded once per session."""

from __future__ import annotations

from typing import Any

import pytest
from crdcheck import CrdSchema, load_crd


@pytest.fixture(scope="session")
def crd() -> dict[str, Any]:
    return load_crd()


@pytest.fixture(scope="session")
def crd_schema(crd: dict[str, Any]) -> CrdSchema:
    return CrdSchema(crd)
