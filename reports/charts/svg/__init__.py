"""Chart specs rendered to self-contained, accessible inline SVG (one module per chart type)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..spec import BarChart, Chart, DonutChart, FunnelChart, HeatmapChart, LineChart
from .axes import nice_ticks
from .bar import render_bar
from .donut import render_donut
from .funnel import render_funnel
from .heatmap import render_heatmap
from .line import render_line

__all__ = ["nice_ticks", "render_svg"]

_RENDERERS: dict[type, Callable[..., str]] = {
    LineChart: render_line,
    BarChart: render_bar,
    DonutChart: render_donut,
    HeatmapChart: render_heatmap,
    FunnelChart: render_funnel,
}

MIN_WIDTH, MIN_HEIGHT = 160, 120
# A horizontal bar chart grows with its categories so that labels never overlap: this much
# height per category (bars of the same category side by side share it) plus the axes.
HORIZONTAL_ROW_HEIGHT, HORIZONTAL_FRAME = 22, 80


def _height_for(spec: Chart, height: int) -> int:
    if isinstance(spec, BarChart) and spec.horizontal:
        categories = {point.label for series in spec.series for point in series.points}
        rows = len(categories) * max(1, 1 if spec.stacked else len(spec.series))
        return max(height, rows * HORIZONTAL_ROW_HEIGHT + HORIZONTAL_FRAME)
    return height


def render_svg(spec: Chart, *, width: int = 640, height: int = 320) -> str:
    """The chart as an <svg> string; every label, tooltip and link inside is already escaped."""
    renderer: Any = _RENDERERS.get(type(spec))
    if renderer is None:
        raise TypeError(f"not a chart spec: {type(spec).__name__}")
    height = _height_for(spec, max(int(height), MIN_HEIGHT))
    return renderer(spec, width=max(int(width), MIN_WIDTH), height=height)
