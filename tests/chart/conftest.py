"""Fixtures of the chart tests: one loaded chart per session and a renderer bound to it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import helm_python
import pytest
from chart_render import CHART_DIR, Rendered, render_chart


@pytest.fixture(scope="session")
def chart() -> Iterator[helm_python.Chart]:
    with helm_python.Chart.load(CHART_DIR) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def render(chart: helm_python.Chart) -> Callable[..., Rendered]:
    return functools.partial(render_chart, chart)
