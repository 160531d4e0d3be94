"""Package names that load on first use (PEP 562), for packages whose ``__init__`` is cheap.

``calsync <command> --help`` imports each subcommand's module to build its parser; a module
inside the emulator packages would otherwise import the whole package with it — uvicorn,
Starlette, kopf, kmock, aiohttp — just to print a usage text. A package lists its public names
under ``if TYPE_CHECKING:`` (for type checkers and readers) and maps each to its home here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package`` that imports ``name`` from ``homes[name]``."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home), name)

    return __getattr__
