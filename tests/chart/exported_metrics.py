"""The metric families the code exports, read from its prometheus-client definitions.

Every ``Counter(...)``, ``Gauge(...)``, ``Histogram(...)``, ``Summary(...)`` call in the
package sources (the roots pyproject.toml names) is one family: its name and label names are
literals there. The series Prometheus sees follow from the type, as prometheus-client writes
them (a counter ``x`` is ``x_total`` and ``x_created``; a histogram adds ``_bucket`` with ``le``,
``_count``, ``_sum``). No hand-kept list: a renamed or removed metric fails the chart tests.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Labels Prometheus adds to every scraped series (the ServiceMonitor's target labels).
TARGET_LABELS = frozenset({"job", "instance", "namespace", "service", "pod", "container", "endpoint"})

_SUFFIXES = {
    "Counter": {"_total": (), "_created": ()},
    "Gauge": {"": ()},
    "Histogram": {"_bucket": ("le",), "_count": (), "_sum": (), "_created": ()},
    "Summary": {"_count": (), "_sum": (), "_created": (), "": ("quantile",)},
}


@dataclass(frozen=True)
class Family:
    name: str
    type: str
    labels: tuple[str, ...]
    where: str


def source_roots() -> list[Path]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return [REPO / root for root in config["tool"]["setuptools"]["packages"]["find"]["where"]]


def _literal_strings(node: ast.expr | None) -> tuple[str, ...]:
    if isinstance(node, ast.List | ast.Tuple):
        return tuple(
            elt.value for elt in node.elts if isinstance(elt, ast.Constant) and isinstance(elt.value, str)
        )
    return ()


def families() -> Iterator[Family]:
    for root in source_roots():
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            imported = {
                alias.asname or alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "prometheus_client"
                for alias in node.names
                if alias.name in _SUFFIXES
            }
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                if node.func.id not in imported or not node.args:
                    continue
                name = node.args[0]
                assert isinstance(name, ast.Constant), (path, node.lineno)
                assert isinstance(name.value, str), (path, node.lineno)
                keywords = {kw.arg: kw.value for kw in node.keywords}
                labels = _literal_strings(node.args[2] if len(node.args) > 2 else keywords.get("labelnames"))
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                yield Family(name.value, node.func.id, labels, where)


def exported_series() -> dict[str, frozenset[str]]:
    """Every series name the code exports → the label names it may carry (target labels too)."""
    series: dict[str, frozenset[str]] = {}
    for family in families():
        base = family.name.removesuffix("_total") if family.type == "Counter" else family.name
        for suffix, extra in _SUFFIXES[family.type].items():
            series[base + suffix] = frozenset(family.labels) | frozenset(extra) | TARGET_LABELS
    return series
