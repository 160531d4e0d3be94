"""Parse PromQL with a real parser (promql-parser: the Rust crate of GreptimeDB, the grammar of
Prometheus) and list what an expression names: series, and the labels each use of them needs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import promql_parser

# What Grafana substitutes before a query reaches Prometheus.
GRAFANA_MACROS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


@dataclass(frozen=True)
class Use:
    """One place that names labels: a selector's matchers, or a by/on/group clause over the
    series below it."""

    labels: frozenset[str]
    series: frozenset[str]
    matchers: tuple[tuple[str, str, str], ...] = ()  # (label, op, value) of a selector


def parse(expr: str) -> promql_parser.Expr:
    for macro, value in GRAFANA_MACROS.items():
        expr = expr.replace(macro, value)
    return promql_parser.parse(expr)


def selectors(node: promql_parser.Expr) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(child: promql_parser.Expr) -> None:
        if isinstance(child, promql_parser.VectorSelector):
            found.append(child)

    promql_parser.walk(node, pre_visit=visit)
    return found


def _series(selector: promql_parser.VectorSelector) -> str:
    if selector.name:
        return str(selector.name)
    names = [m.value for m in selector.matchers.matchers if m.name == "__name__"]
    assert names, f"selector without a metric name: {selector}"
    return str(names[0])


def uses(tree: promql_parser.Expr) -> Iterator[Use]:
    found: list[Use] = []

    def visit(node: promql_parser.Expr) -> None:
        # walk() visits a range's vector selector too, so plain selectors cover ranges.
        if isinstance(node, promql_parser.VectorSelector):
            matchers = tuple(
                (m.name, str(m.op).removeprefix("MatchOp."), str(m.value))
                for m in node.matchers.matchers
                if m.name != "__name__"
            )
            found.append(Use(frozenset(m[0] for m in matchers), frozenset({_series(node)}), matchers))
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            below = frozenset(_series(s) for s in selectors(node.expr))
            found.append(Use(frozenset(node.modifier.labels), below))
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            below = frozenset(_series(s) for s in [*selectors(node.lhs), *selectors(node.rhs)])
            labels = set(node.modifier.group_labels or ())
            if node.modifier.matching is not None:
                labels |= set(node.modifier.matching.labels)
            found.append(Use(frozenset(labels), below))

    promql_parser.walk(tree, pre_visit=visit)
    return iter(found)


def problems(expr: str, exported: Mapping[str, frozenset[str]]) -> list[str]:
    """What in ``expr`` the code does not export: unknown series, labels no series below has."""
    tree = parse(expr)
    found: list[str] = []
    for use in uses(tree):
        unknown = sorted(use.series - exported.keys())
        if unknown:
            found.append(f"not exported: {', '.join(unknown)}")
            continue
        allowed = frozenset().union(*(exported[name] for name in use.series)) if use.series else frozenset()
        missing = sorted(use.labels - allowed)
        if missing:
            found.append(f"labels {missing} not on {sorted(use.series)}")
    return found
