"""One charting approach for the whole product (docs/charts.md).

Selectors and views build a spec (`LineChart`, `BarChart`, ...) from plain numbers; pages
render it with `{% chart spec %}`, PDFs embed the same `render_svg(spec)` output, saved
reports and the API store `spec.to_dict()`.
"""

from .formats import format_tick, format_value, no_negative_zero
from .spec import (
    Band,
    BandPoint,
    BarChart,
    Chart,
    DonutChart,
    FunnelChart,
    HeatmapChart,
    LineChart,
    Point,
    Series,
    ValueFormat,
    chart_from_dict,
)
from .svg import nice_ticks, render_svg
from .table import render_table

__all__ = [
    "Band",
    "BandPoint",
    "BarChart",
    "Chart",
    "DonutChart",
    "FunnelChart",
    "HeatmapChart",
    "LineChart",
    "Point",
    "Series",
    "ValueFormat",
    "chart_from_dict",
    "format_tick",
    "format_value",
    "nice_ticks",
    "no_negative_zero",
    "render_svg",
    "render_table",
]
