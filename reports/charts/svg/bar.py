"""Bar chart: vertical or horizontal; several series grouped side by side or stacked."""

from __future__ import annotations

from dataclasses import dataclass

from ..formats import format_tick, format_value
from ..spec import BarChart, Point
from .axes import (
    Box,
    LegendItem,
    Scale,
    axis_title,
    category_labels,
    legend,
    tick_label_width,
    value_grid,
    value_ticks,
)
from .canvas import (
    BASELINE_SHIFT,
    LABEL_SIZE,
    MUTED_COLOR,
    TICK_SIZE,
    color,
    document,
    el,
    empty_state,
    hover_text,
    label,
    link,
    ordered_labels,
    series_class,
    svg_text,
    text_width,
    title,
)

GROUP_SHARE = 0.72  # of a category's slot; the rest is the gap between categories
MAX_BAR = 56.0  # px; a chart with three categories should not look like three walls


@dataclass(frozen=True)
class _Bar:
    point: Point
    series_index: int
    category_index: int
    start: float  # value where the bar begins (0, or the top of the stack below it)
    end: float


def _bars(spec: BarChart, categories: list[str]) -> list[_Bar]:
    index = {text: i for i, text in enumerate(categories)}
    bars = []
    # A stack grows up from zero for positive values and down from zero for negative ones.
    above = [0.0] * len(categories)
    below = [0.0] * len(categories)
    for s, series in enumerate(spec.series):
        for point in series.points:
            if point.value is None:
                continue
            c = index[point.label]
            if not spec.stacked:
                bars.append(_Bar(point, s, c, 0.0, point.value))
                continue
            stack = above if point.value >= 0 else below
            bars.append(_Bar(point, s, c, stack[c], stack[c] + point.value))
            stack[c] += point.value
    return bars


def render_bar(spec: BarChart, *, width: int, height: int) -> str:
    categories = ordered_labels([[p.label for p in s.points] for s in spec.series])
    bars = _bars(spec, categories)
    if not bars:
        return empty_state(spec, width=width, height=height)
    fmt = spec.value_format
    ticks = value_ticks([b.end for b in bars], fmt)
    lanes = 1 if spec.stacked else len(spec.series)
    # Value labels only where they cannot collide: one series, bars not stacked.
    show_values = len(spec.series) == 1 and not spec.stacked

    top, parts = 8.0, []
    if len(spec.series) > 1:
        items = [LegendItem(s.name, color(i), series_class(i)) for i, s in enumerate(spec.series)]
        markup, legend_height = legend(items, x=8, y=top, max_width=width - 16)
        parts.append(markup)
        top += legend_height + 4
    value_title = axis_title(fmt, spec.value_label)
    top_title = spec.category_label if spec.horizontal else value_title
    bottom_title = value_title if spec.horizontal else spec.category_label
    if top_title:
        parts.append(
            label(
                top_title,
                x=8,
                y=top + LABEL_SIZE,
                max_width=width / 2,
                size=LABEL_SIZE,
                class_="chart-axis-title",
            )
        )
        top += LABEL_SIZE + 10
    bottom = height - 24 - (LABEL_SIZE + 8 if bottom_title else 0)
    value_labels = [format_tick(b.end - b.start, fmt) for b in bars] if show_values else []
    label_room = max((text_width(t, TICK_SIZE) for t in value_labels), default=0.0)

    if spec.horizontal:
        category_room = min(max(text_width(c, TICK_SIZE) for c in categories), width * 0.3)
        box = Box(left=16 + category_room, top=top + 4, right=width - 16 - label_room, bottom=bottom)
        scale = Scale(ticks[0], ticks[-1], box.left, box.right)
        slot = box.height / len(categories)
    else:
        box = Box(
            left=16 + tick_label_width(ticks, fmt),
            top=top + (16 if show_values else 6),
            right=width - 16,
            bottom=bottom,
        )
        scale = Scale(ticks[0], ticks[-1], box.bottom, box.top)
        slot = box.width / len(categories)
    parts.append(value_grid(ticks, scale, fmt, box, vertical=not spec.horizontal))

    group = min(slot * GROUP_SHARE, MAX_BAR * lanes)
    thickness = group / lanes
    centers = [(box.top if spec.horizontal else box.left) + slot * (i + 0.5) for i in range(len(categories))]
    if spec.horizontal:
        for text, center in zip(categories, centers, strict=True):
            parts.append(
                label(
                    text,
                    x=box.left - 8,
                    y=center + TICK_SIZE * BASELINE_SHIFT,
                    max_width=category_room,
                    text_anchor="end",
                    class_="chart-tick",
                )
            )
    else:
        parts.append(category_labels(categories, centers, y=box.bottom + 17, width=width))
    if bottom_title:
        parts.append(
            label(
                bottom_title,
                x=box.left + box.width / 2,
                y=height - 8,
                max_width=box.width,
                size=LABEL_SIZE,
                text_anchor="middle",
                class_="chart-axis-title",
            )
        )

    many = len(spec.series) > 1
    marks, texts = [], []
    for number, bar in enumerate(bars):
        lane = 0 if spec.stacked else bar.series_index
        # Grouped bars keep a 2px gap between neighbours of the same category.
        offset = centers[bar.category_index] - group / 2 + lane * thickness
        gap = 1.0 if lanes > 1 else 0.0
        low, high = sorted((scale(bar.start), scale(bar.end)))
        value_text = format_value(bar.point.value, fmt)
        series_name = spec.series[bar.series_index].name if many else None
        hover = hover_text(bar.point.label, value_text, series=series_name, tooltip=bar.point.tooltip)
        css = series_class(bar.series_index)
        if spec.horizontal:
            geometry = {"x": low, "y": offset + gap, "width": high - low, "height": thickness - 2 * gap}
        else:
            geometry = {"x": offset + gap, "y": low, "width": thickness - 2 * gap, "height": high - low}
        rect = el(
            "rect",
            title(hover),
            **geometry,
            fill=color(bar.series_index),
            class_=f"chart-bar chart-mark {css}",
        )
        marks.append(link(bar.point.href, hover, rect))
        if show_values:
            texts.append(_value_label(value_labels[number], bar, spec.horizontal, geometry, thickness))
    parts.append(el("g", "".join(marks), class_="chart-bars"))
    if texts:
        # Labels over a linked bar or cell must not swallow its clicks.
        parts.append(
            el("g", "".join(texts), class_="chart-values", aria_hidden="true", pointer_events="none")
        )

    has_links = any(b.point.href for b in bars)
    desc = _describe(spec, categories, bars)
    return document(spec, width=width, height=height, body="".join(parts), desc=desc, has_links=has_links)


def _value_label(text: str, bar: _Bar, horizontal: bool, geometry: dict[str, float], thickness: float) -> str:
    negative = bar.end < bar.start
    if horizontal:
        x = geometry["x"] - 4 if negative else geometry["x"] + geometry["width"] + 4
        y = geometry["y"] + geometry["height"] / 2 + TICK_SIZE * BASELINE_SHIFT
        return svg_text(
            text, x=x, y=y, text_anchor="end" if negative else "start", fill=MUTED_COLOR, class_="chart-value"
        )
    if text_width(text, TICK_SIZE) > thickness + 6:
        return ""
    x = geometry["x"] + geometry["width"] / 2
    y = geometry["y"] + geometry["height"] + TICK_SIZE + 2 if negative else geometry["y"] - 4
    return svg_text(text, x=x, y=y, text_anchor="middle", fill=MUTED_COLOR, class_="chart-value")


def _describe(spec: BarChart, categories: list[str], bars: list[_Bar]) -> str:
    values = [b.point.value for b in bars if b.point.value is not None]
    fmt = spec.value_format
    layout = "Stacked bar" if spec.stacked else "Bar"
    names = ", ".join(s.name for s in spec.series)
    return (
        f"{layout} chart of {len(spec.series)} series ({names}) over {len(categories)} categories "
        f"from {categories[0]} to {categories[-1]}; values from {format_value(min(values), fmt)} "
        f"to {format_value(max(values), fmt)}."
    )
