"""The layers hold: packages import only downwards, the pure core imports no I/O library and no
adapter, and reads no clock.

``[tool.importlinter]`` in pyproject.toml names the packages of each layer (the map is in
docs/architecture.md). import-linter checks the imports, direct and indirect; what it cannot see
(a clock read, a file opened, a stdlib submodule such as ``urllib.request``) is checked here on
the syntax tree of every module of the pure core. Contracts name packages, so a new module is
checked where it is put; a new top-level package must be given its layer here.
"""

from __future__ import annotations

import ast
import logging
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
PACKAGE_DIRS = {"calsync_operator": ROOT / "operator", "calsync_webhook": ROOT / "webhook"}

# Calls that read the clock, touch files or the terminal, or wait: a pure function gets the
# moment as an argument and returns what should be shown or written.
# Keyed by the receiver's last name: ``datetime.now()`` and ``dt.datetime.now()`` are clock reads,
# ``datetime.min.time()`` is not.
FORBIDDEN_ATTRIBUTE_CALLS = {
    "datetime": {"now", "utcnow", "today"},
    "date": {"today"},
    "time": {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "sleep"},
}
FORBIDDEN_NAME_CALLS = {"open", "print", "input"}
# Submodules import-linter cannot forbid on their own (it forbids whole external packages only).
FORBIDDEN_STDLIB_MODULES = ("urllib.request", "http.client", "http.server", "socketserver")


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads(PYPROJECT.read_text())
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


# The direct children of calsync_operator outside the layers contract: flat helpers that any layer
# may use, and the tools for tests and people (they import from the layers, never the other way).
UNLAYERED = {
    *("errors", "heartbeat", "logs", "mail", "metrics", "process", "settings"),
    *("emulator", "kubeemu"),
}


def _pure_modules() -> list[str]:
    (pure,) = [c for c in _contracts() if c["name"].startswith("Pure core")]
    return sorted(module for name in pure["source_modules"] for module in _modules_under(name))


def _module_path(module: str) -> Path:
    """The package directory or the module's file (which may not exist)."""
    package, *rest = module.split(".")
    path = PACKAGE_DIRS[package].joinpath(package, *rest)
    return path if path.is_dir() else path.with_suffix(".py")


def _modules_under(name: str) -> list[str]:
    """``name`` itself if it is a module; every module inside it if it is a package."""
    path = _module_path(name)
    if not path.is_dir():
        return [name]
    return sorted(
        ".".join((name, *file.relative_to(path).with_suffix("").parts)).removesuffix(".__init__")
        for file in path.rglob("*.py")
    )


def _module_file(module: str) -> Path:
    path = _module_path(module)
    return path / "__init__.py" if path.is_dir() else path


def _last_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


@pytest.fixture
def logging_untouched() -> Iterator[None]:
    """import-linter calls logging.config.dictConfig, which disables every existing logger;
    undo that so tests running after this one still see their log records."""
    loggers = [logging.getLogger(name) for name in logging.root.manager.loggerDict]
    disabled = {logger: logger.disabled for logger in loggers if isinstance(logger, logging.Logger)}
    yield
    for logger, was_disabled in disabled.items():
        logger.disabled = was_disabled


@pytest.mark.usefixtures("logging_untouched")
def test_import_contracts_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert exit_code == 0, report
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in report


def _layered() -> set[str]:
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    return {name.strip() for layer in layers["layers"] for name in layer.split("|")}


def test_every_layered_module_exists() -> None:
    # A renamed module must not silently drop out of its contract.
    listed = {module for contract in _contracts() for module in contract.get("source_modules", [])}
    missing = sorted(module for module in listed | _layered() if not _module_file(module).is_file())
    assert missing == []


def test_every_package_has_its_layer() -> None:
    root = PACKAGE_DIRS["calsync_operator"] / "calsync_operator"
    children = {
        path.stem for path in root.iterdir() if path.suffix == ".py" or (path / "__init__.py").exists()
    }
    layered = {name.removeprefix("calsync_operator.") for name in _layered()}
    assert sorted(children - layered - UNLAYERED - {"__init__"}) == []


@pytest.mark.parametrize("module", _pure_modules())
def test_pure_module_reads_no_clock_and_touches_no_file(module: str) -> None:
    tree = ast.parse(_module_file(module).read_text(), filename=str(_module_file(module)))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_ATTRIBUTE_CALLS.get(
                _last_name(func.value), ()
            ):
                found.append(f"line {node.lineno}: {_last_name(func.value)}.{func.attr}()")
            elif isinstance(func, ast.Name) and func.id in FORBIDDEN_NAME_CALLS:
                found.append(f"line {node.lineno}: {func.id}()")
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {alias.name}"
                for alias in node.names
                if alias.name.startswith(FORBIDDEN_STDLIB_MODULES)
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(FORBIDDEN_STDLIB_MODULES):
            found.append(f"line {node.lineno}: from {node.module} import ...")
    assert found == [], f"{module} is in the pure core: pass the value in instead"
