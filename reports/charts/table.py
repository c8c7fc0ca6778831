"""The data of a chart as rows: the screen-reader fallback under each chart, and the table a
CSV or PDF report prints next to it. Same numbers, same formatting as the hover text."""

from __future__ import annotations

from .formats import format_value
from .spec import BarChart, Chart, DonutChart, FunnelChart, HeatmapChart, LineChart, Series, ValueFormat
from .svg.canvas import ordered_labels
from .svg.funnel import format_rate, stage_rates

Cell = str | float | None


def _cell(value: float | None, fmt: ValueFormat, formatted: bool) -> Cell:
    return format_value(value, fmt) if formatted else value


def _by_label(series: Series) -> dict[str, float | None]:
    return {p.label: p.value for p in series.points}


def render_table(spec: Chart, *, formatted: bool = True) -> list[list[Cell]]:
    """Header row first, then one row per category, slice, stage or heatmap row.

    With `formatted=False` the value cells are plain numbers (None when missing), for CSV.
    """
    fmt = spec.value_format
    if isinstance(spec, LineChart | BarChart):
        return _series_table(spec, fmt, formatted)
    if isinstance(spec, DonutChart):
        total = sum(p.value for p in spec.slices if p.value is not None and p.value > 0)
        rows: list[list[Cell]] = [["Slice", "Value", "Share"]]
        for point in spec.slices:
            share = (
                point.value / total * 100 if total and point.value is not None and point.value > 0 else None
            )
            rows.append(
                [point.label, _cell(point.value, fmt, formatted), format_rate(share) if formatted else share]
            )
        return rows
    if isinstance(spec, HeatmapChart):
        rows = [[spec.y_label or "", *spec.x_labels]]
        for name, cells in zip(spec.y_labels, spec.cells, strict=True):
            rows.append([name, *(_cell(v, fmt, formatted) for v in cells)])
        return rows
    if isinstance(spec, FunnelChart):
        rates = stage_rates([p.value for p in spec.stages])
        rows = [["Stage", "Value", "Rate from previous stage"]]
        for point, rate in zip(spec.stages, rates, strict=True):
            rows.append(
                [point.label, _cell(point.value, fmt, formatted), format_rate(rate) if formatted else rate]
            )
        return rows
    raise TypeError(f"not a chart spec: {type(spec).__name__}")


def _series_table(spec: LineChart | BarChart, fmt: ValueFormat, formatted: bool) -> list[list[Cell]]:
    heading = spec.x_label if isinstance(spec, LineChart) else spec.category_label
    band = spec.band if isinstance(spec, LineChart) else None
    groups = [[p.label for p in s.points] for s in spec.series]
    if band:
        groups.append([p.label for p in band.points])
    header: list[Cell] = [heading or "Category", *(s.name for s in spec.series)]
    columns = [_by_label(s) for s in spec.series]
    if band:
        header += [f"{band.name} (lower)", f"{band.name} (upper)"]
        columns += [{p.label: p.lower for p in band.points}, {p.label: p.upper for p in band.points}]
    rows: list[list[Cell]] = [header]
    for category in ordered_labels(groups):
        rows.append([category, *(_cell(column.get(category), fmt, formatted) for column in columns)])
    return rows
